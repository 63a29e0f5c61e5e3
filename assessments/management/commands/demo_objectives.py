from django.core.management.base import BaseCommand

from assessments.demo import demo_objectives_ensure


class Command(BaseCommand):
    help = "Demo objectives with indicators, and links from engagements to the objectives they served (once)."

    def handle(self, *args, **options):
        made = demo_objectives_ensure()
        self.stdout.write(f"Demo objective links: {made} made" if made else "Demo objective links: exist already")
