"""A run of many quarters fanned out across the workers: one task per quarter, then a chord callback.

A backfill (forty quarters) executed in one piece is one task on one worker process, whatever the number
of workers. On a broker with PostgreSQL, a run of ``ASSESSMENT_FANOUT_MIN_QUARTERS`` quarters or more is
split instead (``assessment_run_fan_out``): each quarter is a part, a task of its own
(``assessments.tasks.run_assessment_part``) that any worker takes, and a Celery chord calls
``assessments.tasks.finish_assessment_run`` once every part has succeeded.

Do quarters depend on each other? A quarter's scores do not: every component, continuity included, is
computed from the engagements of the quarter's look-back window, never from another quarter's scores. Only
``delta_overall`` (the change from the previous quarter) and the alerts raised on it read the previous
quarter's stored score. So the parts compute and store their quarter in parallel, each leaving the
following quarter and the alerts alone, and the callback settles every delta and alert of the run (and of
the quarter after each of its quarters) from the stored scores in one cheap sequential pass
(``scores_deltas_refresh``): no scoring query, a few reads and updates. The result is the one a run
executed in one piece writes.

Locks: a part holds the scoring lock shared and its quarter's lock exclusively while it computes and
writes (``assessments.locks.quarters_lock``), the callback the locks of every quarter it updates. Two runs
of one quarter take turns; a run executed in one piece (exclusive lock) never interleaves with a part.

Failures: a part retries alone on the named transient errors (the database restarted or cut the
connection, its quarter busy) with backoff; the other parts go on. A part that fails for good marks the run
failed with its quarter and error; the quarters already stored keep their new scores, the failed quarter
keeps its earlier ones, and the callback never runs.

The embedded mode (no broker) and SQLite execute every run in one piece, as before.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.choices import RunStatus
from assessments.locks import QuarterBusy, quarters_lock
from assessments.models import AssessmentRun, AssessmentRunPart, PartnerScore
from assessments.periods import Quarter, parse_periods
from assessments.services.activity import activity_store
from assessments.services.runs import (
    TRANSIENT_ERRORS,
    _announce_finished,
    _mark_changes_processed,
    run_session,
    scores_deltas_refresh,
    scores_store,
)
from assessments.services.scoring import scores_compute

logger = logging.getLogger(__name__)

# What a part or the callback retries: errors a later attempt gets past.
RETRIED_ERRORS = (*TRANSIENT_ERRORS, QuarterBusy)


class PartsPending(QuarterBusy):
    """The callback came before every part had stored its quarter (a part's message delivered twice counts
    twice in the chord): it retries later, like a busy quarter."""


def fan_out_wanted(run: AssessmentRun) -> bool:
    """Whether this run is split into parts: enough quarters, a broker (workers to share them) and
    PostgreSQL (the quarter locks are advisory locks)."""
    from assessments.tasks import run_assessment

    return (
        not run_assessment.app.conf.task_always_eager
        and connection.vendor == "postgresql"
        and len(run.periods) >= settings.ASSESSMENT_FANOUT_MIN_QUARTERS
    )


def assessment_run_fan_out(*, run_id) -> bool:
    """Split the run into one part per quarter and send them as a chord. False when the run is not to be
    fanned out (the caller executes it in one piece). A run already fanned out (a redelivered message) or
    already succeeded is not sent again."""
    with transaction.atomic():
        run = AssessmentRun.objects.select_for_update().get(pk=run_id)
        if run.status == RunStatus.SUCCEEDED or run.parts.exists():
            return True
        if not fan_out_wanted(run):
            return False
        now = timezone.now()
        parts = AssessmentRunPart.objects.bulk_create(
            AssessmentRunPart(run=run, period=q.start, task_id=str(uuid.uuid4()))
            for q in parse_periods(run.periods, limit=10_000)
        )
        AssessmentRun.objects.filter(pk=run.pk).update(
            status=RunStatus.RUNNING, started_at=now, finished_at=None, error=""
        )
    try:
        _send_chord(run, parts)
    except Exception as exc:  # the broker went away between the task's delivery and now
        logger.exception("Could not send the parts of assessment run %s; it is queued again.", run.pk)
        with transaction.atomic():
            run.parts.all().delete()
            note = _(
                "Waiting for the task queue, which could not be reached (%(error)s); the run starts once it is back."
            )
            AssessmentRun.objects.filter(pk=run.pk).update(
                status=RunStatus.QUEUED, started_at=None, error=note % {"error": type(exc).__name__}
            )
    return True


def _send_chord(run: AssessmentRun, parts: list[AssessmentRunPart]) -> None:
    from celery import chord

    from assessments.tasks import finish_assessment_run, run_assessment_part

    header = [
        run_assessment_part.s(str(run.pk), str(Quarter.of(part.period))).set(task_id=part.task_id) for part in parts
    ]
    chord(header)(finish_assessment_run.si(str(run.pk)))


def _part_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:4000]


def assessment_run_part_execute(
    *,
    run_id,
    period: str,
    task_id: str = "",
    worker: str = "",
    lock_wait: float | None = None,
    will_retry: bool = False,
) -> dict:
    """Compute and store one quarter of a fanned-out run, holding its quarter's lock; the following quarter's
    delta and the alerts are the callback's. Idempotent: a part already succeeded is not executed again.

    An error is recorded on the part (back to queued with a note while retries are left) and raised again;
    a part that fails for good marks the run failed."""
    quarter = Quarter.parse(period)
    run = AssessmentRun.objects.select_related("scoring_model").get(pk=run_id)
    part = AssessmentRunPart.objects.get(run=run, period=quarter.start)
    if part.status == RunStatus.SUCCEEDED:
        return {"period": period, "scores_written": part.scores_written}
    partner_ids = list(run.partner_ids or [])
    model = run.scoring_model
    parts = AssessmentRunPart.objects.filter(pk=part.pk)
    try:
        with quarters_lock([quarter], wait=settings.ASSESSMENT_PART_LOCK_WAIT if lock_wait is None else lock_wait):
            parts.update(
                status=RunStatus.RUNNING,
                attempts=F("attempts") + 1,
                started_at=timezone.now(),
                task_id=task_id or part.task_id,
                worker=worker[:200],
                error="",
            )
            with run_session(run):  # a data-change run's parts with fewer parallel workers
                results = {quarter: scores_compute(quarter=quarter, model=model, partner_ids=partner_ids)}
                with transaction.atomic():
                    written = scores_store(
                        run=run, model=model, results=results, partner_ids=partner_ids, neighbours=False
                    )
                    activity_store(run=run, quarters=[quarter])
                    parts.update(status=RunStatus.SUCCEEDED, finished_at=timezone.now(), scores_written=written)
    except Exception as exc:
        _part_fail(run, part, exc, retrying=will_retry and isinstance(exc, RETRIED_ERRORS))
        raise
    return {"period": period, "scores_written": written}


def _part_fail(run: AssessmentRun, part: AssessmentRunPart, exc: BaseException, *, retrying: bool) -> None:
    message = _part_error(exc)
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        AssessmentRunPart.objects.filter(pk=part.pk).update(
            status=RunStatus.QUEUED if retrying else RunStatus.FAILED,
            finished_at=None if retrying else timezone.now(),
            error=(_("Attempt failed, it will be retried: %(error)s") % {"error": message}) if retrying else message,
        )
        if not retrying:
            _run_fail(run, _("%(quarter)s failed: %(error)s") % {"quarter": Quarter.of(part.period), "error": message})
    except Exception:  # the database itself may be what failed
        logger.exception("Could not record the failure of part %s of assessment run %s", part.period, run.pk)


def _run_fail(run: AssessmentRun, message: str) -> None:
    with transaction.atomic():
        failed = AssessmentRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=message[:4000]
        )
        if failed:
            _announce_finished(run)


def assessment_run_finish(*, run_id, lock_wait: float | None = None, will_retry: bool = False) -> AssessmentRun:
    """The chord's callback, once every part has stored its quarter: settle the deltas and alerts of the
    run's quarters and of the quarter after each, and record the run as succeeded."""
    run = AssessmentRun.objects.select_related("scoring_model").get(pk=run_id)
    if run.status != RunStatus.RUNNING:
        return run  # a redelivered callback, or a run a part failed
    quarters = parse_periods(run.periods, limit=10_000)
    partner_ids = list(run.partner_ids or [])
    updated = set(quarters) | {q.shift(1) for q in quarters}
    try:
        if run.parts.exclude(status=RunStatus.SUCCEEDED).exists():
            raise PartsPending
        wait = settings.ASSESSMENT_PART_LOCK_WAIT if lock_wait is None else lock_wait
        with quarters_lock(updated, wait=wait), transaction.atomic():
            scores_deltas_refresh(model=run.scoring_model, quarters=quarters, partner_ids=partner_ids)
            run.status = RunStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.partners_scored = (
                PartnerScore.objects.filter(run=run, period__in=[q.start for q in quarters])
                .values("partner_id")
                .distinct()
                .count()
            )
            run.scores_written = run.parts.aggregate(n=Sum("scores_written"))["n"] or 0
            run.save(update_fields=["status", "finished_at", "partners_scored", "scores_written"])
            _mark_changes_processed(run, quarters)
            _announce_finished(run)
    except Exception as exc:
        if not (will_retry and isinstance(exc, RETRIED_ERRORS)):
            _run_fail(run, _("Settling the changes between quarters failed: %(error)s") % {"error": _part_error(exc)})
        raise
    return run
