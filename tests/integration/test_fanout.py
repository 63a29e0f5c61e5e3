"""A run of many quarters fanned out across a real worker (two threads, Redis broker and result backend):
one task per quarter, a chord callback that records the run, and the same scores as a run in one piece.
Parts retry alone, a part that fails for good fails the run and leaves earlier scores, and two runs of one
quarter take turns on its lock."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.db import OperationalError
from django.urls import reverse

from assessments.choices import RunStatus, RunTrigger
from assessments.locks import QuarterBusy, quarters_lock
from assessments.models import Alert, AssessmentRun, AssessmentRunPart, PartnerScore, QuarterActivity
from assessments.periods import Quarter, quarter_range
from assessments.services import assessment_run_execute, assessment_run_request
from assessments.services import fanout as fanout_services
from config.celery import app
from tests.assessments.factories import make_engagement
from tests.integration.faults import running_worker

pytestmark = [pytest.mark.requires_postgres, pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]

D = datetime.date
FIRST, LAST = Quarter(2019, 1), Quarter(2020, 4)
PERIODS = [str(q) for q in quarter_range(FIRST, LAST)]  # eight quarters: fanned out by default


@pytest.fixture
def fast_parts(settings):
    settings.ASSESSMENT_FANOUT_MIN_QUARTERS = 8
    settings.ASSESSMENT_PART_LOCK_WAIT = 0.2


@pytest.fixture
def worker(fast_parts):
    assert not app.conf.task_always_eager, "CELERY_BROKER_URL is set, so tasks must go through the broker"
    assert app.conf.result_backend, "the chord needs the result backend (the broker's Redis by default)"
    app.control.purge()
    with running_worker(app, pool="threads", concurrency=2, shutdown_timeout=10) as w:
        yield w


@pytest.fixture
def data(reference_data):
    """Engagements over 2017-2021 for five partners; KEN's good years end in 2018, so its score falls."""
    for month in range(1, 13):
        make_engagement(["KEN", "TZA", "UGA"], D(2018, month, 1), D(2018, month, 5), ratings=(5, 5, 5))
    make_engagement(["KEN"], D(2019, 5, 1), D(2019, 5, 3), ratings=(1, 1, 1))
    for year in (2017, 2019, 2020, 2021):
        make_engagement(["TZA", "UGA", "RWA"], D(year, 3, 10), D(year, 3, 20), ratings=(3, 4, 2))
        make_engagement(["GHA", "SEN"], D(year, 8, 1), D(year, 8, 9), organizations=["ECOWAS"])


def wait_until(condition, *, timeout: float = 120, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


def finished(run: AssessmentRun) -> AssessmentRun:
    def done():
        run.refresh_from_db()
        return run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)

    wait_until(done, message=f"run {run.pk} to finish")
    return run


def snapshot():
    """Every stored score (components, delta, counts), alert and activity count, without run ids or times."""
    scores = {
        (row["partner_id"], row["period"]): tuple(
            v for k, v in sorted(row.items()) if k not in ("partner_id", "period")
        )
        for row in PartnerScore.objects.values(
            "partner_id",
            "period",
            "overall",
            "activity",
            "interoperability",
            "capacity",
            "trust",
            "continuity",
            "multilateral",
            "objectives",
            "delta_overall",
            "engagement_count",
            "report_count",
            "confidence",
        )
    }
    alerts = set(Alert.objects.values_list("partner_id", "period", "overall", "previous_overall", "delta_overall"))
    activity = set(
        QuarterActivity.objects.values_list(
            "scope_kind", "scope_name", "period", "partners_engaged", "partners_engaged_unrestricted"
        )
    )
    return scores, alerts, activity


def sequential_run(periods) -> AssessmentRun:
    """The same periods executed in one piece, here (the known answer)."""
    run = assessment_run_request(trigger=RunTrigger.MANUAL, periods=periods, enqueue=False)
    return assessment_run_execute(run_id=run.pk, lock_wait=10)


def test_a_multi_quarter_run_fans_out_and_equals_the_run_in_one_piece(data, worker, api_for, client_for, analyst):
    following = Quarter(2021, 1)
    sequential_run([str(following)])  # stored before: its change from 2020-Q4 must be settled by the run
    assert PartnerScore.objects.filter(period=following.start, delta_overall__isnull=False).count() == 0

    run = assessment_run_request(trigger=RunTrigger.MANUAL, periods=PERIODS)
    finished(run)
    assert run.status == RunStatus.SUCCEEDED, run.error

    parts = list(AssessmentRunPart.objects.filter(run=run).order_by("period"))
    assert [str(Quarter.of(p.period)) for p in parts] == PERIODS
    assert len({p.task_id for p in parts}) == len(PERIODS) and all(p.task_id for p in parts)
    assert all(p.status == RunStatus.SUCCEEDED and p.attempts == 1 and p.worker for p in parts)
    assert run.scores_written == sum(p.scores_written for p in parts) == PartnerScore.objects.filter(run=run).count()
    assert run.partners_scored == 6  # KEN, TZA, UGA, RWA, GHA, SEN
    assert run.finished_at is not None and not run.error
    assert PartnerScore.objects.filter(period=following.start, delta_overall__isnull=False).exists()

    shown = api_for(analyst).get(f"/api/v1/assessments/runs/{run.pk}/").json()
    assert (shown["status"], shown["parts"], shown["parts_succeeded"]) == ("succeeded", 8, 8)
    page = client_for(analyst).get(reverse("assessments:run", args=[run.pk]))
    assert "8 of 8 quarters stored" in page.text and "2019-Q1" in page.text and parts[0].worker in page.text

    fanned = snapshot()
    scores, alerts, _activity = fanned
    assert any(values[-5] is not None for values in scores.values())  # deltas were set
    assert alerts  # KEN's fall raised one: the callback's pass settled alerts too
    sequential_run(PERIODS)
    assert snapshot() == fanned


def test_a_failing_part_retries_alone(data, worker, monkeypatch):
    flaky = Quarter(2019, 3)
    calls = []
    real = fanout_services.scores_compute

    def compute(*, quarter, **kwargs):
        calls.append(quarter)
        if quarter == flaky and calls.count(flaky) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(quarter=quarter, **kwargs)

    monkeypatch.setattr(fanout_services, "scores_compute", compute)
    run = finished(assessment_run_request(trigger=RunTrigger.MANUAL, periods=PERIODS))
    assert run.status == RunStatus.SUCCEEDED, run.error
    attempts = dict(AssessmentRunPart.objects.filter(run=run).values_list("period", "attempts"))
    assert attempts == {Quarter.parse(p).start: (2 if Quarter.parse(p) == flaky else 1) for p in PERIODS}
    assert calls.count(flaky) == 2 and all(calls.count(Quarter.parse(p)) == 1 for p in PERIODS if p != str(flaky))
    assert PartnerScore.objects.filter(run=run, period=flaky.start).exists()


def test_a_part_that_fails_for_good_fails_the_run_and_earlier_scores_stay(data, worker, monkeypatch):
    broken = Quarter(2020, 2)
    earlier = sequential_run([str(broken)])
    before = set(PartnerScore.objects.filter(period=broken.start).values_list("partner_id", "overall", "run_id"))
    assert before and {run_id for *_rest, run_id in before} == {earlier.pk}
    real = fanout_services.scores_compute

    def compute(*, quarter, **kwargs):
        if quarter == broken:
            raise ValueError("a bug in one quarter")
        return real(quarter=quarter, **kwargs)

    monkeypatch.setattr(fanout_services, "scores_compute", compute)
    run = finished(assessment_run_request(trigger=RunTrigger.MANUAL, periods=PERIODS))
    assert run.status == RunStatus.FAILED
    assert "2020-Q2" in run.error and "a bug in one quarter" in run.error
    part = AssessmentRunPart.objects.get(run=run, period=broken.start)
    assert part.status == RunStatus.FAILED and part.attempts == 1  # not a transient error: no retry
    assert (
        set(PartnerScore.objects.filter(period=broken.start).values_list("partner_id", "overall", "run_id")) == before
    )
    # The other parts went on and stored their quarters.
    wait_until(
        lambda: AssessmentRunPart.objects.filter(run=run, status=RunStatus.SUCCEEDED).count() == len(PERIODS) - 1,
        message="the other parts",
    )
    assert PartnerScore.objects.filter(run=run, period=Quarter(2020, 1).start).exists()


def test_two_runs_of_one_quarter_take_turns(data, worker, monkeypatch):
    shared = Quarter(2019, 4)
    entered, release = threading.Event(), threading.Event()
    real = fanout_services.scores_compute
    blocked = []

    def compute(*, quarter, **kwargs):
        if quarter == shared and not blocked:
            blocked.append(True)
            entered.set()
            release.wait(timeout=90)  # holding the quarter's lock, as a slow run would
        return real(quarter=quarter, **kwargs)

    monkeypatch.setattr(fanout_services, "scores_compute", compute)
    first = assessment_run_request(trigger=RunTrigger.MANUAL, periods=PERIODS)
    second = assessment_run_request(trigger=RunTrigger.MANUAL, periods=PERIODS)
    assert entered.wait(timeout=60), "a part of the shared quarter never started"
    try:
        holder = AssessmentRunPart.objects.get(period=shared.start, status=RunStatus.RUNNING)
        waiting = AssessmentRunPart.objects.exclude(pk=holder.pk).get(period=shared.start)
        # The other run's part of that quarter found it locked and waits for a retry; it wrote nothing.
        wait_until(
            lambda: "QuarterBusy" in AssessmentRunPart.objects.get(pk=waiting.pk).error,
            message="the second part to find its quarter busy",
        )
        assert AssessmentRunPart.objects.get(pk=waiting.pk).status == RunStatus.QUEUED
        assert not PartnerScore.objects.filter(period=shared.start).exists()
        # A quarter's lock also keeps a run out while a test (any other session) holds it.
        with pytest.raises(QuarterBusy), quarters_lock([shared], wait=0):
            pass
    finally:
        release.set()
    for run in (first, second):
        assert finished(run).status == RunStatus.SUCCEEDED, run.error
    holder.refresh_from_db()
    waiting.refresh_from_db()
    assert waiting.started_at >= holder.finished_at  # it took the quarter only once the first had written it
    assert PartnerScore.objects.get(partner__iso3="TZA", period=shared.start).run_id == waiting.run_id
