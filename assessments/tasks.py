"""Celery tasks of the assessments app: thin wrappers around the run services."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from assessments.locks import QuarterBusy, ScoringBusy

# What a part of a fanned-out run, or its callback, retries alone: the database restarted or cut the
# connection, or its quarter is being written by another run.
PART_RETRIED = (OperationalError, InterfaceError, QuarterBusy)


@shared_task(
    bind=True,
    acks_late=True,  # safe: a run is idempotent (upserts on partner, period, scoring model)
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError, ScoringBusy),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def run_assessment(self, run_id: str) -> None:
    """Compute and store the scores of one AssessmentRun (by id).

    A worker waits up to 30 s for the scoring lock, then retries later. Executed eagerly (embedded mode,
    inside the request of the save or the button that asked for it), it does not wait at all: a save must
    never wait for a run in progress. The run then stays queued with a note and the run in progress
    executes it when it has finished.
    """
    from assessments.services import assessment_run_defer, assessment_run_execute
    from assessments.services.fanout import assessment_run_fan_out

    will_retry = self.request.retries < self.max_retries
    if not self.request.is_eager:
        if assessment_run_fan_out(run_id=run_id):
            return  # a run of many quarters: one task per quarter, then finish_assessment_run
        assessment_run_execute(run_id=run_id, will_retry=will_retry)
        return
    try:
        assessment_run_execute(run_id=run_id, lock_wait=0, will_retry=will_retry)
    except ScoringBusy:
        assessment_run_defer(run_id)


# A fanned-out run's tasks: idempotent (upserts; a part already stored is not executed again), so delivered
# late and retried alone on the named transient errors, with back-off.
FANOUT_TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": PART_RETRIED,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": settings.ASSESSMENT_PART_MAX_RETRIES,
    "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
    "time_limit": settings.CELERY_TASK_TIME_LIMIT,
}


@shared_task(ignore_result=False, **FANOUT_TASK_OPTIONS)  # the chord counts its parts' results
def run_assessment_part(self, run_id: str, period: str) -> dict:
    """One quarter of a run fanned out across the workers (see assessments.services.fanout)."""
    from assessments.services.fanout import assessment_run_part_execute

    return assessment_run_part_execute(
        run_id=run_id,
        period=period,
        task_id=self.request.id or "",
        worker=self.request.hostname or "",
        will_retry=self.request.retries < self.max_retries,
    )


@shared_task(ignore_result=True, **FANOUT_TASK_OPTIONS)
def finish_assessment_run(self, run_id: str) -> None:
    """The chord callback of a fanned-out run: deltas and alerts across its quarters, then the run's record."""
    from assessments.services.fanout import assessment_run_finish

    assessment_run_finish(run_id=run_id, will_retry=self.request.retries < self.max_retries)


@shared_task(bind=True, acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=120)
def run_nightly_assessment(self) -> None:
    """Beat, 02:00 UTC: the current and previous quarter for every partner."""
    from assessments.services import assessment_run_nightly

    assessment_run_nightly()


@shared_task(bind=True, acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=120)
def resend_waiting_runs(self) -> None:
    """Beat, every minute: queue again the runs a dead worker left running, and send again the runs that
    could not be sent while the broker was down."""
    from assessments.services import assessment_runs_resend_waiting
    from assessments.services.whatif import scoring_model_activation_settle

    assessment_runs_resend_waiting()
    # An activation whose backfill ended but whose announcement was lost (a worker died after the commit).
    scoring_model_activation_settle()


@shared_task(
    bind=True,
    acks_late=True,  # safe: a preview rewrites only its own rows, and a succeeded one is left alone
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def preview_scoring_model(self, preview_id: str) -> None:
    """Score the last finished quarter with a draft scoring model into the preview's scratch rows."""
    from assessments.services.whatif import scoring_preview_execute

    scoring_preview_execute(preview_id=preview_id, will_retry=self.request.retries < self.max_retries)
