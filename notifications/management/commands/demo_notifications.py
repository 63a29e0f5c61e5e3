from django.core.management.base import BaseCommand

from notifications.demo import demo_notifications_ensure


class Command(BaseCommand):
    help = "Demo follows and notifications (score alerts, after-action reports due); safe to run again."

    def handle(self, *args, **options):
        self.stdout.write(f"Demo notifications: {demo_notifications_ensure()} new")
