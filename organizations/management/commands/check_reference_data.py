"""`python manage.py check_reference_data`: the loaded reference data against their own rules and against
published member counts. Exits non-zero on any problem (`make test` runs it through the test suite)."""

from django.core.management.base import BaseCommand, CommandError

from organizations.checks import reference_data_problems


class Command(BaseCommand):
    help = (
        "Report memberships without a joined date, overlapping membership rows, countries without a region and "
        "organizations whose member count on a known date differs from the published count."
    )

    def handle(self, *args, **options):
        problems = reference_data_problems()
        total = 0
        for name, found in problems.items():
            total += len(found)
            if options["verbosity"] > 0:
                self.stdout.write(f"{name}: {len(found) or 'none'}")
            for line in found:
                self.stderr.write(f"  {line}")
        if total:
            raise CommandError(f"{total} problem(s) in the reference data.")
        if options["verbosity"] > 0:
            self.stdout.write(self.style.SUCCESS("Reference data: no problem found."))
