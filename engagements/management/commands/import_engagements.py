"""Import engagements from a CSV or XLSX file: `python manage.py import_engagements FILE [--commit]`.

Without --commit it is a dry run: it reports what would be created or updated and every bad row.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from engagements.imports import ImportFileError, engagements_import


class Command(BaseCommand):
    help = "Validate (and with --commit, apply) an engagement file in the exchange format. All or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--commit", action="store_true", help="Write the rows (only if every row is valid).")
        parser.add_argument("--user", default=None, help="Username recorded as the author (default: none).")

    def handle(self, *args, **options):
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
        try:
            with open(options["file"], "rb") as handle:
                report = engagements_import(
                    handle=handle,
                    name=options["file"],
                    user=user,
                    dry_run=not options["commit"],
                    file_name=Path(options["file"]).name,
                    preview=False,
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}") from exc
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for error in report.errors:
            self.stderr.write(f"line {error.line}, column {error.column or '-'}: {error.message}")
        if report.error_count > len(report.errors):
            self.stderr.write(f"... and {report.error_count - len(report.errors)} more errors")
        summary = (
            f"{report.rows} rows: {report.to_create} to create, {report.to_update} to update, "
            f"{report.unchanged} unchanged, {report.error_count} with errors"
        )
        if not report.ok:
            raise CommandError(f"{summary}. Nothing was written.")
        if report.applied:
            self.stdout.write(self.style.SUCCESS(f"{summary}. Imported as batch {report.batch_id}."))
        else:
            self.stdout.write(f"{summary}. Dry run: nothing written (add --commit to import).")
