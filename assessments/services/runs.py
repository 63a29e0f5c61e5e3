"""Assessment runs: requesting, coalescing, executing and storing scores.

A run is requested (page, API, schedule, changed data, management command), enqueued after commit, and
executed by ``assessments.tasks.run_assessment``. Execution holds the scoring lock, computes every quarter
first and then writes everything in one transaction, so a run that fails leaves the previous scores in
place and is marked failed with its error. Re-running a run writes the same rows (upserts on the unique
key partner, period, scoring model).
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Iterable
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.choices import (
    ALERT_DROP,
    COMPONENTS,
    DEFAULT_ACTIVITY_SCALE,
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_LOOKBACK_QUARTERS,
    DEFAULT_WEIGHTS,
    RunStatus,
    RunTrigger,
)
from assessments.locks import ScoringBusy, scoring_lock
from assessments.models import Alert, AssessmentRun, AssessmentRunPart, PartnerScore, ScoringModel
from assessments.periods import PeriodError, Quarter, default_periods, parse_periods, quarter_range
from assessments.services.activity import activity_count_start, activity_store, counted_quarters
from assessments.services.scoring import ComputedScore, scores_compute
from assessments.signals import assessment_run_finished
from assessments.sql import derived_commit
from core.exceptions import Unavailable

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
MAX_PERIODS_PER_RUN = 400
# A queued run older than this whose task seems lost is enqueued again by the nightly job.
STALE_QUEUED_AFTER = datetime.timedelta(minutes=30)
# Errors a later attempt can get past (the database restarted, a connection was cut): the task retries them.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


# --- the scoring model ----------------------------------------------------------------------------------


class NoActiveScoringModel(Unavailable):
    """Every scoring model is inactive (an administrator deactivated the last one): scores cannot be read
    or computed until one is activated."""


def scoring_model_active() -> ScoringModel:
    """The active scoring model. A read: version 1 comes with the migrations, and `migrate` (a flush too)
    makes it again when the table is empty (scoring_model_ensure)."""
    model = ScoringModel.objects.filter(is_active=True).first()
    if model is None:
        raise NoActiveScoringModel(_("No scoring model is active: an administrator must activate one."))
    return model


def scoring_model_ensure(*, using: str = "default") -> ScoringModel | None:
    """Version 1, active, when no scoring model exists at all (a new or flushed database); run after every
    `migrate`. A table that has models but none active is left for an administrator to decide."""
    models = ScoringModel.objects.using(using)
    if models.exists():
        return None
    return models.create(
        version=1,
        weights=dict(DEFAULT_WEIGHTS),
        half_life_days=DEFAULT_HALF_LIFE_DAYS,
        lookback_quarters=DEFAULT_LOOKBACK_QUARTERS,
        activity_scale=DEFAULT_ACTIVITY_SCALE,
        is_active=True,
    )


# --- requesting runs ------------------------------------------------------------------------------------


def _validate_periods(periods: Iterable[str] | None) -> list[Quarter]:
    if periods is None:
        return default_periods()
    if isinstance(periods, str) or not isinstance(periods, Iterable):
        raise ValidationError({"periods": [_('Give a list of quarters such as ["2025-Q2", "2025-Q3"].')]})
    periods = list(periods)
    if not periods:
        raise ValidationError({"periods": [_("Give at least one quarter, or leave periods out for the default.")]})
    try:
        quarters = parse_periods([str(p) for p in periods], limit=MAX_PERIODS_PER_RUN)
    except PeriodError as exc:
        raise ValidationError({"periods": [str(exc)]}) from exc
    current = Quarter.current()
    future = [str(q) for q in quarters if q > current]
    if future:
        raise ValidationError(
            {
                "periods": [
                    _("Quarters after the current one (%(current)s) cannot be scored yet: %(future)s.")
                    % {"current": current, "future": ", ".join(future)}
                ]
            }
        )
    return quarters


def assessment_run_enqueue(run: AssessmentRun, *, delay: int = 0) -> None:
    """Send the run to the workers once the surrounding transaction commits (``delay``: to be executed that
    many seconds later; embedded mode executes it at once).

    A broker that is down must not turn a saved change into an error page: the run stays queued with a
    note saying it is waiting for the task queue, and is sent again by ``assessment_runs_resend_waiting``
    (every minute, from beat) or by the next change coalesced into it, once the broker is back.
    """
    had_note = bool(run.error)

    def send():
        from assessments.tasks import run_assessment

        try:
            if delay:
                run_assessment.apply_async((str(run.pk),), countdown=delay)
            else:
                run_assessment.delay(str(run.pk))
        except Exception as exc:
            logger.exception("Could not start assessment run %s; it stays queued until it can be sent.", run.pk)
            if run_assessment.app.conf.task_always_eager:
                return  # the run was executed here, and its failure is recorded on the run itself
            note = _(
                "Waiting for the task queue, which could not be reached (%(error)s); the run starts once it is back."
            ) % {"error": type(exc).__name__}
            AssessmentRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(error=note)
        else:
            if had_note:
                AssessmentRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(error="")

    transaction.on_commit(send)


def assessment_runs_resend_waiting() -> int:
    """Send again every queued run that carries a note (its sending failed, an attempt failed and a retry
    is due, it waited for the run in progress, or its worker died: see ``assessment_runs_recover``): a
    duplicate message is harmless, a run that has succeeded is not run again."""
    assessment_runs_recover()
    waiting = list(AssessmentRun.objects.filter(status=RunStatus.QUEUED).exclude(error="").order_by("created_at")[:100])
    for run in waiting:
        with transaction.atomic():
            assessment_run_enqueue(run)
    return len(waiting)


@transaction.atomic
def assessment_run_request(
    *,
    trigger: str = RunTrigger.MANUAL,
    periods: Iterable[str] | None = None,
    requested_by=None,
    partner_ids: Iterable[int] | None = None,
    enqueue: bool = True,
    scoring_model: ScoringModel | None = None,
) -> AssessmentRun:
    """Create a queued run for ``periods`` (default: the current and previous quarter) and enqueue it
    (``enqueue=False``: the caller executes it itself, as the compute_scores command does). The run
    computes with the active scoring model, or with ``scoring_model`` (the backfill of a model being
    activated)."""
    if trigger not in RunTrigger.values:
        raise ValidationError({"trigger": [_("Unknown trigger.")]})
    quarters = _validate_periods(periods)
    run = AssessmentRun.objects.create(
        trigger=trigger,
        requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
        scoring_model=scoring_model or scoring_model_active(),
        periods=[str(q) for q in quarters],
        partner_ids=sorted(set(partner_ids or [])),
    )
    if enqueue:
        assessment_run_enqueue(run)
    return run


def stale_quarters(*, first_day: datetime.date, last_day: datetime.date, lookback: int) -> list[Quarter]:
    """The quarters whose scores a change over [first_day, last_day] can affect: from first_day's quarter
    to ``lookback - 1`` quarters after last_day's (the window reaches that far back), up to today's."""
    current = Quarter.current()
    first = Quarter.of(min(first_day, last_day))
    last = min(Quarter.of(max(first_day, last_day)).shift(lookback - 1), current)
    if first > last:
        return []
    return quarter_range(first, last)


@transaction.atomic
def scores_recompute_request(
    *,
    partner_ids: Iterable[int],
    quarters: Iterable[Quarter],
    counts_only: bool = False,
    model: ScoringModel | None = None,
) -> AssessmentRun | None:
    """Ask for the partners' scores for ``quarters`` to be recomputed, coalesced into one queued run.

    Many edits make one run: while a data-change run waits in the queue, later changes add their partners
    and quarters to it instead of creating more runs. Once it starts, the next change queues a new one. A new
    run is sent to the workers ``ASSESSMENT_DATA_CHANGE_DELAY`` seconds after it is queued, so that the
    changes of those seconds join it: saves coming back to back make a run every few seconds, not one each
    (each run read the quarters' engagements again, on the cores the pages and the saves need).

    ``counts_only``: no score changed, only the overview's engagement counts of ``quarters`` (an engagement
    without partners). Every run recounts its quarters, so they join the queued run; without one, a run of
    all partners for those quarters is queued.
    """
    partner_ids = {int(pid) for pid in partner_ids if pid}
    quarters = set(quarters)
    if not quarters or not (partner_ids or counts_only):
        return None
    model = model or scoring_model_active()
    run = (
        AssessmentRun.objects.select_for_update()
        .filter(status=RunStatus.QUEUED, trigger=RunTrigger.DATA_CHANGE, scoring_model=model)
        .order_by("created_at")
        .first()
    )
    if run is not None:
        run.periods = [str(q) for q in sorted(quarters | set(parse_periods(run.periods, limit=10_000)))]
        run.partner_ids = sorted(partner_ids | set(run.partner_ids))
        run.save(update_fields=["periods", "partner_ids"])
        if run.error:  # it could not be sent to the workers so far: try again now
            assessment_run_enqueue(run)
        return run
    run = AssessmentRun.objects.create(
        trigger=RunTrigger.DATA_CHANGE,
        scoring_model=model,
        periods=[str(q) for q in sorted(quarters)],
        partner_ids=sorted(partner_ids),
    )
    assessment_run_enqueue(run, delay=settings.ASSESSMENT_DATA_CHANGE_DELAY)
    return run


def scores_mark_stale(
    *,
    partner_ids: Iterable[int],
    first_day: datetime.date,
    last_day: datetime.date,
    spans: Iterable[tuple[datetime.date, datetime.date]] | None = None,
):
    """Engagement data changed for these partners over these days: recompute the quarters it affects.

    With ``spans`` (many changes announced at once), the quarters are those of every span, not every quarter
    from ``first_day`` to ``last_day``: an import touching 2016 and 2025 does not recompute the years between.
    """
    model = scoring_model_active()
    spans = set(spans or [(first_day, last_day)])
    partner_ids = {int(pid) for pid in partner_ids or () if pid}
    if not partner_ids:
        return _counts_recount_request(spans)
    quarters: set[Quarter] = set()
    for first, last in spans:
        quarters.update(stale_quarters(first_day=first, last_day=last, lookback=model.lookback_quarters))
    return scores_recompute_request(partner_ids=partner_ids, quarters=quarters, model=model)


def _counts_recount_request(spans: Iterable[tuple[datetime.date, datetime.date]]) -> AssessmentRun | None:
    """An engagement without partners changed: no score moves, but the overview's counts of the quarters
    it spans do. Quarters no run has counted yet are counted live anyway, so only counted ones are asked."""
    quarters = {q for first, last in spans for q in stale_quarters(first_day=first, last_day=last, lookback=1)}
    return scores_recompute_request(partner_ids=(), quarters=counted_quarters(quarters), counts_only=True)


# --- runs whose worker died, runs waiting for the lock ---------------------------------------------------


def _orphans_requeue(*, but=None) -> list[AssessmentRun]:
    """With the scoring lock held: every run (but ``but``) still marked running has lost its worker, since a
    live run holds the lock from start to end. Each goes back to the queue with a note; what it was writing
    was rolled back with its session, so the earlier scores are still in place."""
    note = _(
        "The worker running this run stopped before it finished (it was killed or lost its connection); "
        "nothing of it was written and it was queued again."
    )
    # A fanned-out run is running while its parts wait in the queue; each part is redelivered on its own.
    fanned_out = AssessmentRunPart.objects.values("run_id")
    orphans = list(AssessmentRun.objects.filter(status=RunStatus.RUNNING).exclude(pk=but).exclude(pk__in=fanned_out))
    for run in orphans:
        logger.warning("Assessment run %s was left running by a dead worker; queued again.", run.pk)
    AssessmentRun.objects.filter(pk__in=[run.pk for run in orphans], status=RunStatus.RUNNING).update(
        status=RunStatus.QUEUED, finished_at=None, error=note
    )
    return orphans


def assessment_runs_recover() -> int:
    """Queue again the runs left running by a dead worker (beat, every minute, before resending the waiting
    runs). Does nothing while a run holds the lock: that run queued any such run again when it took it."""
    try:
        with scoring_lock(wait=0):
            return len(_orphans_requeue())
    except ScoringBusy:
        return 0


def assessment_run_defer(run_id) -> None:
    """The run could not take the lock and is not retried by a worker (embedded mode): it waits, with a note,
    for the run in progress, which starts it once it has finished (``_after_release``)."""
    note = _("Waiting for the run in progress to finish; this one starts after it.")
    AssessmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(error=note)


class _Draining(threading.local):
    active = False


_draining = _Draining()


def _after_release(orphans: list[AssessmentRun]) -> None:
    """Once the lock is free: send the runs found orphaned. Embedded (eager) mode has no worker to retry
    a run that found the lock taken, nor beat: the run that held it executes the waiting runs here."""
    from assessments.tasks import run_assessment

    if not run_assessment.app.conf.task_always_eager:
        for run in orphans:
            with transaction.atomic():
                assessment_run_enqueue(run)
        return
    if _draining.active:  # an outer call is executing the waiting runs one after the other
        return
    _draining.active = True
    try:
        assessment_runs_resend_waiting()
    except Exception:  # each run records its own failure; this one's outcome must not be hidden
        logger.exception("Could not execute the runs that waited for the scoring lock.")
    finally:
        _draining.active = False


# --- executing a run ------------------------------------------------------------------------------------


def _start(run_id) -> AssessmentRun | None:
    """Mark the run running and freeze what it computes. None if it already succeeded (idempotent)."""
    with transaction.atomic():
        run = AssessmentRun.objects.select_for_update().select_related("scoring_model").get(pk=run_id)
        if run.status == RunStatus.SUCCEEDED:
            return None
        run.status = RunStatus.RUNNING
        run.started_at = timezone.now()
        run.finished_at = None
        run.error = ""
        run.save(update_fields=["status", "started_at", "finished_at", "error"])
    return run


def _fail(run: AssessmentRun, exc: BaseException, *, retrying: bool = False) -> None:
    """Record the error on the run: failed, or back to queued when the task will try it again."""
    message = f"{type(exc).__name__}: {exc}".strip()[:4000]
    if retrying:
        message = _("Attempt failed, it will be retried: %(error)s") % {"error": message}
    try:
        if not connection.in_atomic_block:
            # A connection the server cut is unusable: drop it so the update below opens a new one.
            connection.close_if_unusable_or_obsolete()
        AssessmentRun.objects.filter(pk=run.pk).update(
            status=RunStatus.QUEUED if retrying else RunStatus.FAILED,
            finished_at=None if retrying else timezone.now(),
            error=message,
        )
        if not retrying:
            _announce_finished(run)
    except Exception:  # the database itself may be what failed; the task's retry will try again
        logger.exception("Could not record the failure of assessment run %s", run.pk)


def assessment_run_execute(*, run_id, lock_wait: float = 30.0, will_retry: bool = False) -> AssessmentRun:
    """Execute a run: lock, compute every quarter, write everything in one transaction, record the result.

    Raises ``ScoringBusy`` (run left queued) if another run holds the lock for ``lock_wait`` seconds.
    Holding the lock, it first queues again the runs a dead worker left running, and sends them (embedded
    mode: executes them, and the runs that waited for it) once the lock is released.
    Any other error marks the run failed with the error, leaves the previous scores as they were, and
    is raised again so the task can retry transient database errors. With ``will_retry`` (the task has
    retries left), a transient error puts the run back to queued instead, with the error as a note, so
    nobody reads "failed" for a run that is about to succeed.
    """
    run = AssessmentRun.objects.get(pk=run_id)
    if run.status == RunStatus.SUCCEEDED:
        return run
    held, orphans = False, []
    try:
        with scoring_lock(wait=lock_wait):
            held = True
            orphans = _orphans_requeue(but=run_id)
            return _execute_locked(run_id, will_retry=will_retry)
    finally:
        if held:
            _after_release(orphans)


def parallel_workers_of(run: AssessmentRun) -> int | None:
    """The parallel workers per query a run may take (``run_session``), None for the server's setting: a
    data-change run (queued by saves) at most ``ASSESSMENT_DATA_CHANGE_PARALLEL_WORKERS``, so that it does not
    take every core from the pages and the saves while it runs (PostgreSQL has no lower priority for a
    session; fewer processes is what it has). Other runs, and other databases, keep the server's settings."""
    workers = settings.ASSESSMENT_DATA_CHANGE_PARALLEL_WORKERS
    if run.trigger != RunTrigger.DATA_CHANGE or workers < 0 or connection.vendor != "postgresql":
        return None
    return workers


@contextmanager
def run_session(run: AssessmentRun):
    """The database session settings a run computes with (``parallel_workers_of``)."""
    workers = parallel_workers_of(run)
    if workers is None:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET max_parallel_workers_per_gather = {int(workers)}")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET max_parallel_workers_per_gather")
        except Exception:  # a connection that failed: dropped, with its settings (the next task opens another)
            logger.warning("Could not reset the run's session settings; closing the connection.", exc_info=True)
            connection.close()


def _execute_locked(run_id, *, will_retry: bool) -> AssessmentRun:
    run = _start(run_id)
    if run is None:
        return AssessmentRun.objects.get(pk=run_id)
    with run_session(run):
        return _compute_and_store(run, will_retry=will_retry)


def _compute_and_store(run: AssessmentRun, *, will_retry: bool) -> AssessmentRun:
    try:
        quarters = parse_periods(run.periods, limit=10_000)
        partner_ids = list(run.partner_ids or [])
        model = run.scoring_model
        with transaction.atomic():
            derived_commit()  # what a crash could lose, the orphan check derives again
            # The activity is counted beside the scores, on a connection of its own (activity_count_start),
            # unless the run keeps to one process (a run queued by saves: that second process would take the
            # core it leaves to the pages and the saves).
            counting = activity_count_start(quarters, beside=parallel_workers_of(run) != 0)
            try:
                results = {q: scores_compute(quarter=q, model=model, partner_ids=partner_ids) for q in quarters}
                written = scores_store(run=run, model=model, results=results, partner_ids=partner_ids)
            finally:
                if counting is not None:
                    counting.join()
            activity_store(run=run, counting=counting)
            run.status = RunStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.partners_scored = len({pid for scores in results.values() for pid in scores})
            run.scores_written = written
            run.save(update_fields=["status", "finished_at", "partners_scored", "scores_written"])
            # Any run that covered a change's quarters for its partner has scored it ("Recompute now"
            # on a dashboard too, not only the coalesced data-change run).
            _mark_changes_processed(run, quarters)
            _announce_finished(run)
    except Exception as exc:
        _fail(run, exc, retrying=will_retry and isinstance(exc, TRANSIENT_ERRORS))
        raise
    return run


def _announce_finished(run: AssessmentRun) -> None:
    run_id = run.pk
    transaction.on_commit(lambda: assessment_run_finished.send(sender=AssessmentRun, run_id=run_id))


def _mark_changes_processed(run: AssessmentRun, quarters: list[Quarter]) -> None:
    """The engagement changes this run has taken into account are no longer pending. Only a run of the
    active model takes them in for the scores shown: a backfill of a model being activated leaves them
    pending until its model is active (``scoring_model_activation_settle``)."""
    from engagements.models import PartnerChange

    if not ScoringModel.objects.filter(pk=run.scoring_model_id, is_active=True).exists():
        return
    pending = PartnerChange.objects.filter(processed_at__isnull=True, changed_at__lte=run.started_at)
    if run.partner_ids:
        pending = pending.filter(partner_id__in=run.partner_ids)
    pending.filter(covered_changes(quarters, lookback=run.scoring_model.lookback_quarters)).update(
        processed_at=timezone.now()
    )


def covered_changes(quarters: Iterable[Quarter], *, lookback: int) -> Q:
    """Changes whose ``stale_quarters`` all lie in ``quarters``, as a condition on their days.

    A change over [first_day, last_day] needs the contiguous quarters from first_day's to ``lookback - 1``
    after last_day's, stopping at today's. It is covered when one contiguous block [a, b] of the run's
    quarters holds them: first_day in a or later, and last_day's quarter at most b - (lookback - 1) (or b
    reaches today's quarter). A few conditions per block, whatever the number of changes: one condition per
    distinct span, as before, made the UPDATE after a 100,000-row import run for minutes.
    """
    current = Quarter.current()
    done = Q(first_day__gt=current.end)  # needs no quarter at all
    ordered = sorted(set(quarters))
    blocks: list[list[Quarter]] = []
    for quarter in ordered:
        if blocks and blocks[-1][1].shift(1) == quarter:
            blocks[-1][1] = quarter
        else:
            blocks.append([quarter, quarter])
    for first, last in blocks:
        ends_in_block = Q(last_day__lte=last.shift(-(lookback - 1)).end)
        if current <= last:
            ends_in_block = Q()  # the needed quarters stop at today's, inside the block
        done |= Q(first_day__gte=first.start) & ends_in_block
    return done


# --- storing scores -------------------------------------------------------------------------------------


def _scope(queryset, partner_ids):
    return queryset.filter(partner_id__in=partner_ids) if partner_ids else queryset


def scores_store(
    *,
    run: AssessmentRun | None,
    model: ScoringModel,
    results: dict[Quarter, dict[int, ComputedScore]],
    partner_ids: list[int] | None = None,
    neighbours: bool = True,
) -> int:
    """Upsert the computed scores, remove rows of partners that no longer have any data, fill
    ``delta_overall`` (also for the quarter after each recomputed one) and raise or clear alerts.

    Must run inside a transaction (the caller's), so that all of it lands or none. ``neighbours=False``
    (one quarter of a run fanned out, written while its neighbours are being computed elsewhere): leave the
    following quarter's rows and the alerts alone; ``scores_deltas_refresh`` settles them once every
    quarter of the run is stored.
    """
    now = timezone.now()
    quarters = sorted(results)
    computed = set(quarters)

    # The overall scores of the quarters just before the recomputed ones, from the database.
    outside_previous = sorted({q.shift(-1) for q in quarters} - computed)
    stored_previous: dict[tuple[Quarter, int], float | None] = {}
    if outside_previous:
        for row in _scope(
            PartnerScore.objects.filter(scoring_model=model, period__in=[q.start for q in outside_previous]),
            partner_ids,
        ).values("partner_id", "period", "overall"):
            stored_previous[(Quarter.of(row["period"]), row["partner_id"])] = row["overall"]

    def previous_overall(quarter: Quarter, partner_id: int) -> float | None:
        before = quarter.shift(-1)
        if before in computed:
            score = results[before].get(partner_id)
            return score.overall if score else None
        return stored_previous.get((before, partner_id))

    rows = []
    evaluated: list[tuple[Quarter, int, float | None, float | None, float | None]] = []
    for quarter in quarters:
        for partner_id, score in results[quarter].items():
            before = previous_overall(quarter, partner_id)
            delta = _delta(score.overall, before)
            rows.append(
                PartnerScore(
                    partner_id=partner_id,
                    period=quarter.start,
                    period_end=quarter.end,
                    scoring_model=model,
                    overall=score.overall,
                    engagement_count=score.engagement_count,
                    report_count=score.report_count,
                    confidence=score.confidence,
                    delta_overall=delta,
                    run=run,
                    computed_at=now,
                    **score.components,
                )
            )
            evaluated.append((quarter, partner_id, score.overall, before, delta))
    PartnerScore.objects.bulk_create(
        rows,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["partner", "period", "scoring_model"],
        update_fields=[
            *COMPONENTS,
            "overall",
            "engagement_count",
            "report_count",
            "confidence",
            "delta_overall",
            "run",
            "computed_at",
            "period_end",
        ],
    )
    for quarter in quarters:
        vanished = _scope(PartnerScore.objects.filter(scoring_model=model, period=quarter.start), partner_ids).exclude(
            partner_id__in=list(results[quarter])
        )
        vanished_ids = list(vanished.values_list("partner_id", flat=True))
        if vanished_ids:
            vanished.delete()
            Alert.objects.filter(
                scoring_model=model, period=quarter.start, partner_id__in=vanished_ids, acknowledged_at__isnull=True
            ).delete()

    if not neighbours:
        return len(rows)
    # The quarter after a recomputed one keeps its score, but its change from the previous quarter moved.
    following = sorted({q.shift(1) for q in quarters} - computed)
    if following:
        stale = list(
            _scope(
                PartnerScore.objects.filter(scoring_model=model, period__in=[q.start for q in following]),
                partner_ids,
            )
        )
        changed = []
        for row in stale:
            before = previous_overall(row.quarter, row.partner_id)
            delta = _delta(row.overall, before)
            if not _same_delta(delta, row.delta_overall):
                row.delta_overall = delta
                changed.append(row)
            evaluated.append((row.quarter, row.partner_id, row.overall, before, delta))
        # Only the rows whose change moved: a run of unchanged data updates none (the UPDATE of every
        # partner's row, one CASE per row, cost 0.1 to 0.3 s of Python and SQL: bench/README.md, "Fifth pass").
        PartnerScore.objects.bulk_update(changed, ["delta_overall"], batch_size=BATCH_SIZE)

    _alerts_sync(model=model, evaluated=evaluated)
    return len(rows)


def _delta(overall: float | None, before: float | None) -> float | None:
    """The change of a partner's overall score from the previous quarter (None when either is missing)."""
    return overall - before if overall is not None and before is not None else None


# Below this many points, two changes of a score are the same: the partner sums are added in parallel, in
# an order that varies from one execution to the next, so a score recomputed from the same data can move by
# about 1e-13 points.
DELTA_TOLERANCE = 1e-9


def _same_delta(delta: float | None, stored: float | None) -> bool:
    """Whether the stored change of a score is still ``delta`` (to DELTA_TOLERANCE), so needs no update."""
    if delta is None or stored is None:
        return delta is stored
    return abs(delta - stored) <= DELTA_TOLERANCE


def scores_deltas_refresh(*, model: ScoringModel, quarters: Iterable[Quarter], partner_ids=None) -> int:
    """Settle ``delta_overall`` and the alerts of ``quarters`` and of the quarter after each, from the stored
    scores: what ``scores_store`` does for a run written in one piece, for a run whose quarters were stored
    one by one, in any order (a fanned-out run). Reads three quarters' worth of rows per quarter, no
    scoring; must run inside a transaction, holding the locks of the quarters it updates."""
    quarters = set(quarters)
    following = {q.shift(1) for q in quarters} - quarters
    updated = quarters | following
    wanted = updated | {q.shift(-1) for q in updated}
    rows = list(
        _scope(
            PartnerScore.objects.filter(scoring_model=model, period__in=[q.start for q in wanted]), partner_ids
        ).only("pk", "partner_id", "period", "overall", "delta_overall")
    )
    overall = {(Quarter.of(row.period), row.partner_id): row.overall for row in rows}
    changed, evaluated = [], []
    for row in rows:
        quarter = Quarter.of(row.period)
        if quarter not in updated:
            continue
        before = overall.get((quarter.shift(-1), row.partner_id))
        delta = _delta(row.overall, before)
        if not _same_delta(delta, row.delta_overall):
            row.delta_overall = delta
            changed.append(row)
        evaluated.append((quarter, row.partner_id, row.overall, before, delta))
    PartnerScore.objects.bulk_update(changed, ["delta_overall"], batch_size=BATCH_SIZE)
    _alerts_sync(model=model, evaluated=evaluated)
    return len(changed)


def _alerts_sync(*, model: ScoringModel, evaluated) -> None:
    """One alert per partner, quarter and model whose overall fell by 10 points or more; alerts nobody
    acknowledged yet disappear when corrected data shows no such drop any more."""
    raised = [
        Alert(
            partner_id=partner_id,
            period=quarter.start,
            scoring_model=model,
            overall=overall,
            previous_overall=before,
            delta_overall=delta,
        )
        for quarter, partner_id, overall, before, delta in evaluated
        if delta is not None and delta <= ALERT_DROP
    ]
    Alert.objects.bulk_create(
        raised,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["partner", "period", "scoring_model"],
        update_fields=["overall", "previous_overall", "delta_overall"],
    )
    cleared: dict[Quarter, list[int]] = {}
    for quarter, partner_id, _overall, _before, delta in evaluated:
        if delta is None or delta > ALERT_DROP:
            cleared.setdefault(quarter, []).append(partner_id)
    for quarter, ids in cleared.items():
        Alert.objects.filter(
            scoring_model=model, period=quarter.start, partner_id__in=ids, acknowledged_at__isnull=True
        ).delete()


# --- the nightly job ------------------------------------------------------------------------------------


def assessment_run_nightly() -> AssessmentRun:
    """What beat asks for at 02:00 UTC: the current and previous quarter for every partner, plus any
    recompute whose task got lost (a run still queued long after it was requested, or a change whose
    recompute could not be queued) sent again."""
    from engagements.models import PartnerChange

    run = assessment_run_request(trigger=RunTrigger.SCHEDULE)
    cutoff = timezone.now() - STALE_QUEUED_AFTER
    # Changes whose recompute could not be queued when they were made (see assessments.receivers).
    pending = (
        PartnerChange.objects.filter(processed_at__isnull=True, changed_at__lt=cutoff)
        .values_list("partner_id", "first_day", "last_day")
        .distinct()[:5000]
    )
    lookback = run.scoring_model.lookback_quarters
    partners, quarters = set(), set()
    for partner_id, first_day, last_day in pending:
        partners.add(partner_id)
        quarters.update(stale_quarters(first_day=first_day, last_day=last_day, lookback=lookback))
    scores_recompute_request(partner_ids=partners, quarters=quarters)
    for lost in AssessmentRun.objects.filter(status=RunStatus.QUEUED, created_at__lt=cutoff).order_by("created_at")[
        :100
    ]:
        with transaction.atomic():
            assessment_run_enqueue(lost)
    return run
