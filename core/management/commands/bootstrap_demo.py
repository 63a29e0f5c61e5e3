"""Load reference data and set up the demo: `make run` calls this after `migrate`.

Idempotent: a second run changes nothing and takes seconds. Later capabilities add their demo data
as further steps here, so `make run` stays one command.
"""

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.services import DEMO_USERS, demo_password, demo_users_ensure, roles_sync

# Management commands run in this order when they exist; each is idempotent.
REFERENCE_STEPS = ["load_reference_data"]
DEMO_YEARS = 8


def demo_steps() -> list[tuple[str, list[str]]]:
    first_year = timezone.localdate().year - DEMO_YEARS + 1
    return [
        ("demo_units", []),
        (
            "generate_demo_data",
            ["--engagements", "3000", "--years", str(DEMO_YEARS), "--seed", "2026", "--user", "planner", "--if-empty"],
        ),
        # Objectives of the busiest partners and the engagements that served them (before the scores,
        # which include the objectives' indicators).
        ("demo_objectives", []),
        # Scores for every quarter of the demo history, so the dashboards show trends and alerts at once.
        ("compute_scores", ["--from", f"{first_year}-Q1", "--if-empty"]),
        # Follows, score alerts and report reminders in the inboxes.
        ("demo_notifications", []),
    ]


class Command(BaseCommand):
    help = "Load reference data, create the role groups and (debug mode only) the demo accounts and data."

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true", help="Only reference data and role groups.")

    def handle(self, *args, **options):
        available = get_commands()
        for step in REFERENCE_STEPS:
            if step in available:
                call_command(step, verbosity=options["verbosity"])
        counts = roles_sync()
        self.stdout.write("Role groups: " + ", ".join(f"{role} ({n} permissions)" for role, n in counts.items()))
        if options["no_demo"]:
            return
        if not settings.DEBUG:
            raise CommandError("Demo accounts are created only with DJANGO_DEBUG=1; use --no-demo in production.")
        created = demo_users_ensure()
        for username, role, _staff in DEMO_USERS:
            state = "created" if username in created else "exists"
            self.stdout.write(
                f"  demo user {username:<11} role {role:<8} password {demo_password(username)}  ({state})"
            )
        for step, arguments in demo_steps():
            if step in available:
                call_command(step, *arguments, verbosity=options["verbosity"])
