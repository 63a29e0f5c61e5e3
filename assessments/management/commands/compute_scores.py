"""Compute scores for a range of quarters through an assessment run (history backfill, manual recomputes).

python manage.py compute_scores --from 2015-Q1 --to 2025-Q4
python manage.py compute_scores --periods 2025-Q2 2025-Q3
python manage.py compute_scores                     # the current and the previous quarter
python manage.py compute_scores --from 2024-Q1 --to 2024-Q4 --enqueue   # leave it to the workers
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assessments.choices import RunStatus, RunTrigger
from assessments.locks import ScoringBusy
from assessments.periods import PeriodError, Quarter, quarter_range
from core.exceptions import Unavailable


class Command(BaseCommand):
    help = "Compute partner scores for a range of quarters (through an assessment run)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", help="First quarter, YYYY-Qn")
        parser.add_argument("--to", dest="last", help="Last quarter, YYYY-Qn (default: the current quarter)")
        parser.add_argument("--periods", nargs="+", help="Quarters, YYYY-Qn (instead of --from/--to)")
        parser.add_argument(
            "--enqueue", action="store_true", help="Send the run to the workers instead of running it here"
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when scores exist already (demo set-up)"
        )

    def handle(self, *args, first=None, last=None, periods=None, enqueue=False, if_empty=False, **options):
        from assessments.models import PartnerScore
        from assessments.services import assessment_run_execute, assessment_run_request

        if if_empty and PartnerScore.objects.exists():
            self.stdout.write("Scores exist already: nothing computed.")
            return
        if periods and (first or last):
            raise CommandError("Give either --periods or --from/--to, not both.")
        if first or last:
            try:
                start = Quarter.parse(first) if first else None
                end = Quarter.parse(last) if last else Quarter.current()
            except PeriodError as exc:
                raise CommandError(str(exc)) from exc
            if start is None:
                raise CommandError("--to needs --from.")
            if end < start:
                raise CommandError("--to is before --from.")
            periods = [str(q) for q in quarter_range(start, end)]
        try:
            run = assessment_run_request(trigger=RunTrigger.MANUAL, periods=periods, enqueue=enqueue)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except Unavailable as exc:
            raise CommandError(exc.message) from exc
        if enqueue:
            self.stdout.write(f"Run {run.pk} queued for {len(run.periods)} quarter(s).")
            return
        try:
            run = assessment_run_execute(run_id=run.pk, lock_wait=600)
        except ScoringBusy as exc:
            raise CommandError(f"Another run held the scoring lock for 10 minutes; run {run.pk} stays queued.") from exc
        except Exception as exc:
            raise CommandError(f"Run {run.pk} failed: {exc}") from exc
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Run {run.pk} ended {run.status}: {run.error}")
        seconds = (run.finished_at - run.started_at).total_seconds()
        self.stdout.write(
            self.style.SUCCESS(
                f"Run {run.pk}: {len(run.periods)} quarter(s) {run.periods[0]}..{run.periods[-1]}, "
                f"{run.partners_scored} partner(s) scored, {run.scores_written} score(s) written in {seconds:.1f} s."
            )
        )
