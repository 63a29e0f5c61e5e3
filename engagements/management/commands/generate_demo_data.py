"""`python manage.py generate_demo_data --engagements N --years Y --seed S`: synthetic history for demos and benchmarks."""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from engagements.demo import generate
from engagements.models import Engagement
from partners.models import PartnerNation


class Command(BaseCommand):
    help = "Generate a deterministic, realistic history of engagements on the real reference data (bulk writes)."

    def add_arguments(self, parser):
        parser.add_argument("--engagements", type=int, default=3000)
        parser.add_argument("--years", type=int, default=8)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--user", default=None, help="Username recorded as author (default: none).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when engagements already exist.")

    def handle(self, *args, **options):
        if options["engagements"] < 1 or options["years"] < 1:
            raise CommandError("--engagements and --years must be positive.")
        if options["if_empty"] and Engagement.objects.exists():
            if options["verbosity"] > 0:
                self.stdout.write("Engagements exist already: no demo data generated.")
            return
        if not PartnerNation.objects.exists():
            raise CommandError(
                "No reference data: the generator draws on the real partners and organizations. "
                "Run `manage.py bootstrap_demo --no-demo` (or `load_reference_data`) first."
            )
        user = get_user_model().objects.filter(username=options["user"]).first() if options["user"] else None
        started = time.perf_counter()
        summary = generate(engagements=options["engagements"], years=options["years"], seed=options["seed"], user=user)
        if options["verbosity"] > 0:
            self.stdout.write(
                f"Generated {summary.engagements} engagements, {summary.participations} participations, "
                f"{summary.reports} after-action reports in {time.perf_counter() - started:.1f} s. "
                f"Declining partners: {', '.join(summary.declining_partners[:12])}{' ...' if len(summary.declining_partners) > 12 else ''}"
            )
