"""Load partner nations (pycountry + UN M49 + map points) and organizations with dated memberships.

Idempotent: a second run changes nothing; an edited data file updates the rows it names; memberships
entered in the application are never deleted.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from organizations.services import reference_data_load
from partners.services import partner_nations_load


class Command(BaseCommand):
    help = "Load or refresh the shipped reference data (countries, regions, organizations, memberships)."

    def handle(self, *args, **options):
        partners = partner_nations_load()
        try:
            orgs = reference_data_load()
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if options["verbosity"] > 0:
            self.stdout.write(
                f"Partner nations: {partners.created} created, {partners.updated} updated, {partners.unchanged} unchanged"
            )
            o, m = orgs.organizations, orgs.memberships
            self.stdout.write(
                f"Organizations: {o['created']} created, {o['updated']} updated, {o['unchanged']} unchanged"
            )
            self.stdout.write(
                f"Memberships (data as of {orgs.as_of}): {m['created']} created, {m['updated']} updated, "
                f"{m['unchanged']} unchanged, {m['removed']} removed"
            )
