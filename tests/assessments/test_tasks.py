"""The Celery side: the task's options, the beat schedule, the lock and the backfill command."""

import datetime
import time
from io import StringIO
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import OperationalError

from assessments.choices import RunStatus, RunTrigger
from assessments.locks import ScoringBusy, scoring_lock
from assessments.models import AssessmentRun, PartnerScore
from assessments.periods import Quarter
from assessments.services import assessment_run_request
from assessments.tasks import run_assessment, run_nightly_assessment
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

D = datetime.date


def test_task_options():
    assert run_assessment.acks_late is True
    assert OperationalError in run_assessment.autoretry_for and ScoringBusy in run_assessment.autoretry_for
    assert run_assessment.retry_backoff and run_assessment.max_retries
    assert run_assessment.soft_time_limit < run_assessment.time_limit


def test_beat_runs_nightly_at_two_utc():
    entry = settings.CELERY_BEAT_SCHEDULE["assessments-nightly"]
    assert entry["task"] == run_nightly_assessment.name == "assessments.tasks.run_nightly_assessment"
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == "UTC"


def test_task_executes_the_run(reference_data):
    make_engagement(["KEN", "TZA"], D(2024, 10, 1), D(2024, 10, 10))
    run = assessment_run_request(trigger=RunTrigger.API, periods=["2024-Q4"], enqueue=False)
    run_assessment.apply(args=[str(run.pk)])
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.partners_scored == 2


def test_task_retries_database_errors_only(reference_data):
    run = assessment_run_request(periods=["2024-Q4"], enqueue=False)
    lost = OperationalError("connection lost")
    with mock.patch("assessments.services.assessment_run_execute", side_effect=lost), pytest.raises(Retry):
        run_assessment.apply(args=[str(run.pk)])
    bug = ValueError("a bug")
    with mock.patch("assessments.services.assessment_run_execute", side_effect=bug), pytest.raises(ValueError):
        run_assessment.apply(args=[str(run.pk)])


def test_database_lock_is_exclusive_and_released(settings, reference_data):
    settings.REDIS_URL = ""
    with scoring_lock(wait=0), pytest.raises(ScoringBusy), scoring_lock(wait=0):
        pass
    with scoring_lock(wait=0):
        pass  # released after the block


def test_compute_scores_command_backfills_a_range(reference_data):
    make_engagement(["KEN", "TZA"], D(2024, 2, 1), D(2024, 2, 10))
    out = StringIO()
    call_command("compute_scores", "--from", "2024-Q1", "--to", "2024-Q4", stdout=out)
    run = AssessmentRun.objects.get()
    assert run.periods == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"] and run.status == RunStatus.SUCCEEDED
    assert PartnerScore.objects.count() == 8
    assert "4 quarter(s)" in out.getvalue() and "2 partner(s) scored" in out.getvalue()
    call_command("compute_scores", "--periods", "2024-Q2", stdout=StringIO())
    assert AssessmentRun.objects.count() == 2 and PartnerScore.objects.count() == 8


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "2024-13"], "is not a quarter"),
        (["--from", "2024-Q4", "--to", "2024-Q1"], "before --from"),
        (["--to", "2024-Q1"], "needs --from"),
        (["--periods", "2024-Q1", "--from", "2024-Q1"], "not both"),
        (["--from", "1500-Q1"], "out of range"),
    ],
)
def test_compute_scores_command_refuses_bad_input(reference_data, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("compute_scores", *args, stdout=StringIO())
    assert not AssessmentRun.objects.exists()


# --- faults: transient errors, a broker that cannot be reached, the lock's lease ---------------------------


@pytest.mark.parametrize("will_retry, status", [(True, RunStatus.QUEUED), (False, RunStatus.FAILED)])
def test_a_transient_error_leaves_the_run_queued_while_a_retry_is_due(reference_data, will_retry, status):
    from assessments.services import assessment_run_execute

    run = assessment_run_request(periods=["2024-Q4"], enqueue=False)
    lost = OperationalError("server closed the connection unexpectedly")
    with (
        mock.patch("assessments.services.runs.scores_compute", side_effect=lost),
        pytest.raises(OperationalError),
    ):
        assessment_run_execute(run_id=run.pk, will_retry=will_retry)
    run.refresh_from_db()
    assert run.status == status and "server closed the connection" in run.error
    assert ("it will be retried" in run.error) is will_retry
    with (
        mock.patch("assessments.services.runs.scores_compute", side_effect=ValueError("a bug")),
        pytest.raises(ValueError),
    ):
        assessment_run_execute(run_id=run.pk, will_retry=True)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED  # not transient: failed at once


@pytest.fixture
def broker_configured():
    """What the services see with a broker configured (the suite may run eagerly, without one)."""
    conf = run_assessment.app.conf
    eager = conf.task_always_eager
    conf.task_always_eager = False
    yield
    conf.task_always_eager = eager


def test_a_run_that_cannot_be_sent_waits_with_a_note_and_is_sent_again(
    reference_data, broker_configured, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError as BrokerDown

    from assessments.services import assessment_runs_resend_waiting, scores_recompute_request

    with (
        mock.patch.object(run_assessment, "delay", side_effect=BrokerDown("connection refused")) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = scores_recompute_request(partner_ids=[1], quarters=[Quarter(2024, 4)])
    run.refresh_from_db()
    assert delay.call_count == 1 and run.status == RunStatus.QUEUED
    assert "Waiting for the task queue" in run.error and "OperationalError" in run.error
    # A further change while the broker is still down joins the run and tries to send it again.
    with (
        mock.patch.object(run_assessment, "delay", side_effect=BrokerDown("connection refused")) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert scores_recompute_request(partner_ids=[2], quarters=[Quarter(2024, 3)]).pk == run.pk
    assert delay.call_count == 1
    # The broker is back: beat's job sends it, and the note goes.
    with mock.patch.object(run_assessment, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        assert assessment_runs_resend_waiting() == 1
    delay.assert_called_once_with(str(run.pk))
    run.refresh_from_db()
    assert (run.status, run.error, run.partner_ids, run.periods) == (
        RunStatus.QUEUED,
        "",
        [1, 2],
        ["2024-Q3", "2024-Q4"],
    )
    with mock.patch.object(run_assessment, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        assert assessment_runs_resend_waiting() == 0  # sent: nothing more to do
    assert delay.call_count == 0


def test_beat_sends_waiting_runs_every_minute():
    from assessments.tasks import resend_waiting_runs

    entry = settings.CELERY_BEAT_SCHEDULE["assessments-resend-waiting"]
    assert entry["task"] == resend_waiting_runs.name
    assert entry["schedule"].minute == set(range(60))


@pytest.mark.requires_redis
def test_the_redis_lock_lease_is_short_and_renewed_while_held(settings, reference_data):
    import redis

    settings.SCORING_LOCK_LEASE_SECONDS = 1
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = "engagement-tracker:assessments-scoring"
    client.delete(key)
    with scoring_lock(wait=0):
        assert 0 < client.pttl(key) <= 1000
        time.sleep(2.5)  # more than twice the lease: only the renewals keep it
        assert client.exists(key)
        with pytest.raises(ScoringBusy), scoring_lock(wait=0):
            pass
    assert not client.exists(key)
