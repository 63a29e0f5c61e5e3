"""The Celery side: the task's options, the beat schedule, the lock, dead runs and the backfill command."""

import contextlib
import datetime
import threading
import time
from io import StringIO
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.utils import timezone

from assessments.choices import RunStatus, RunTrigger
from assessments.locks import ADVISORY_KEY, ScoringBusy, scoring_lock
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


def test_the_scoring_lock_is_exclusive_and_released(reference_data):
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


# --- the lock dies with its holder; a run whose worker died is queued again -----------------------------------


@contextlib.contextmanager
def lock_held_by_another_thread():
    """Another thread (another database session) holds the scoring lock for the block: a live run."""
    taken, done = threading.Event(), threading.Event()

    def hold():
        try:
            with scoring_lock(wait=0):
                taken.set()
                done.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10), "the other thread could not take the lock"
    try:
        yield
    finally:
        done.set()
        holder.join(10)


def _left_running(**kwargs) -> AssessmentRun:
    """A run its worker died in: marked running, nobody holding the lock for it."""
    run = assessment_run_request(enqueue=False, **kwargs)
    AssessmentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=timezone.now())
    return run


@pytest.mark.requires_postgres
def test_the_scoring_lock_dies_with_the_database_session_that_holds_it():
    """The holder is gone without releasing it (its worker SIGKILLed, its connection cut): PostgreSQL ends
    the session and the lock with it, at once, where a lease would have blocked every run for minutes."""
    holder = connection.get_new_connection(connection.get_connection_params())
    holder.autocommit = True
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s), pg_backend_pid()", [ADVISORY_KEY])
            taken, pid = cursor.fetchone()
        assert taken
        with pytest.raises(ScoringBusy), scoring_lock(wait=0.5):
            pass
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        started = time.monotonic()
        with scoring_lock(wait=10):
            assert time.monotonic() - started < 2
    finally:
        holder.close()


def test_a_run_left_running_by_a_dead_worker_is_queued_again_with_a_note(reference_data):
    from assessments.services import assessment_runs_recover

    run = _left_running(periods=["2024-Q4"])
    with lock_held_by_another_thread():
        assert assessment_runs_recover() == 0  # a live run holds the lock: it may be this one
    assert AssessmentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    assert assessment_runs_recover() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and run.finished_at is None
    assert "The worker running this run stopped before it finished" in run.error
    assert "queued again" in run.error


def test_the_next_run_queues_again_and_sends_the_run_a_dead_worker_left_running(
    reference_data, broker_configured, django_capture_on_commit_callbacks
):
    from assessments.services import assessment_run_execute

    make_engagement(["KEN", "TZA"], D(2024, 10, 1), D(2024, 10, 10))
    dead = _left_running(periods=["2024-Q3"])
    run = assessment_run_request(periods=["2024-Q4"], enqueue=False)
    with mock.patch.object(run_assessment, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        assessment_run_execute(run_id=run.pk)
    delay.assert_called_once_with(str(dead.pk))  # sent once the lock was released
    run.refresh_from_db()
    dead.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.error == ""
    assert dead.status == RunStatus.QUEUED and "stopped before it finished" in dead.error


@pytest.fixture
def eager():
    """Embedded mode: tasks run in the process (and the request) that sends them."""
    conf = run_assessment.app.conf
    previous = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = previous


def test_executed_eagerly_a_run_never_waits_for_the_lock_and_runs_after_the_run_in_progress(
    reference_data, eager, django_capture_on_commit_callbacks
):
    """In embedded mode a save's recompute runs inside the save's request: with another run in progress it
    returns at once, waiting with a note, and the next run to finish executes it."""
    make_engagement(["KEN", "TZA"], D(2024, 10, 1), D(2024, 10, 10))
    waiting = assessment_run_request(periods=["2024-Q4"], enqueue=False)
    with lock_held_by_another_thread():
        started = time.monotonic()
        run_assessment.apply(args=[str(waiting.pk)])
        assert time.monotonic() - started < 2  # it waited 30 s for the lock before
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.QUEUED
    assert "Waiting for the run in progress to finish" in waiting.error
    after = assessment_run_request(periods=["2024-Q3"], enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        run_assessment.apply(args=[str(after.pk)])
    assert set(AssessmentRun.objects.values_list("status", "error")) == {(RunStatus.SUCCEEDED, "")}
