"""`python manage.py demo_units`: the demo's units (two commands and their offices) and its accounts' units."""

from django.core.management.base import BaseCommand

from engagements.demo import demo_units_ensure


class Command(BaseCommand):
    help = "Create the demo units and put the demo accounts in them (idempotent)."

    def handle(self, *args, **options):
        units = demo_units_ensure()
        if options["verbosity"] > 0:
            self.stdout.write(f"Demo units: {', '.join(sorted(units))}")
