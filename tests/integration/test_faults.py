"""Faults injected into the real services (PostgreSQL, Redis, Celery workers, subprocesses): each one
must end with the data whole and nothing lost or written twice.

The Celery tests use a private redis-server on a free port (see ``faults.RedisServer``), so they can stop
and restart it, and so that no other test process's worker can take their messages.
"""

from __future__ import annotations

import datetime
import signal
import subprocess
import threading
from pathlib import Path
from unittest import mock

import psycopg2
import pytest
import redis
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from assessments.choices import RunStatus, RunTrigger
from assessments.models import AssessmentRun, PartnerScore
from assessments.periods import Quarter
from assessments.services import assessment_run_request, runs, scores_compute, scoring_model_active
from assessments.tasks import resend_waiting_runs, run_assessment
from config.celery import app
from tests.assessments.factories import make_engagement
from tests.integration.faults import (
    PROJECT_ROOT,
    RedisServer,
    celery_broker,
    python,
    subprocess_env,
    wait_for,
)

D = datetime.date

pytestmark = [pytest.mark.requires_postgres, pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def broker(redis_server, settings):
    """Everything that talks to Redis (broker, cache, scoring lock) talks to the private server."""
    settings.CELERY_BROKER_URL = redis_server.url(0)
    settings.REDIS_URL = redis_server.url(1)
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": redis_server.url(1),
        }
    }
    with celery_broker(app, redis_server.url(0)):
        yield redis_server


@pytest.fixture
def worker(broker):
    assert app.connection_for_read().port == broker.port
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20, loglevel="WARNING") as w:
        yield w
    connections.close_all()


@pytest.fixture
def retries():
    """Each retry of a run task: (the error, the run's status and note while it waits for the retry)."""
    seen = []

    def record(sender=None, request=None, reason=None, **kwargs):
        run = AssessmentRun.objects.filter(pk=request.args[0]).values("status", "error").first()
        seen.append((getattr(reason, "exc", reason), run))

    signals.task_retry.connect(record, weak=False)
    yield seen
    signals.task_retry.disconnect(record)


def scored_data() -> list[str]:
    """Engagements for three partners over 2024: the expected result is computed from them afterwards."""
    for day in range(1, 11):
        make_engagement(["KEN", "TZA", "UGA"][: 2 + day % 2], D(2024, 2, day), D(2024, 2, day + 2), ratings=(3, 4, 5))
    make_engagement(["GHA", "SEN"], D(2024, 8, 1), D(2024, 8, 9), organizations=["ECOWAS"])
    return [str(q) for q in (Quarter(2024, 1), Quarter(2024, 2), Quarter(2024, 3), Quarter(2024, 4))]


def assert_one_consistent_set_of_scores(run: AssessmentRun, periods: list[str]) -> None:
    model = scoring_model_active()
    expected = {
        (pid, q.start): score.overall
        for q in (Quarter.parse(p) for p in periods)
        for pid, score in scores_compute(quarter=q, model=model).items()
    }
    rows = list(PartnerScore.objects.values_list("partner_id", "period", "overall", "run_id"))
    assert len(rows) == len(expected) > 0  # one row per partner and quarter, no duplicates
    assert {(pid, period) for pid, period, _o, _r in rows} == expected.keys()
    assert all(overall == pytest.approx(expected[(pid, period)]) for pid, period, overall, _r in rows)
    assert {run_id for *_rest, run_id in rows} == {run.pk}


def wait_until_finished(run_id, timeout: float = 90) -> AssessmentRun:
    """The run once it succeeded, or failed for good (a failure leaves no retry pending, see the task)."""

    def finished():
        run = AssessmentRun.objects.get(pk=run_id)
        return run if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) else None

    return wait_for(finished, timeout=timeout, interval=0.2, message=f"run {run_id} to finish")


# --- the database connection drops during a scoring run -------------------------------------------------


def _terminate_backend_of(django_connection) -> None:
    """Kill the PostgreSQL backend serving ``django_connection`` from another connection, as a database
    restart or a cut network would."""
    pid = django_connection.connection.info.backend_pid
    settings = django_connection.settings_dict
    killer = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )
    try:
        killer.autocommit = True
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        killer.close()


@pytest.mark.parametrize("where", ["compute", "store"])
def test_database_connection_drops_during_a_scoring_run(reference_data, worker, retries, where):
    """The worker's connection is killed once, while computing or inside the write transaction: the task
    retries, and the run completes exactly once with one consistent set of scores."""
    periods = scored_data()
    run = assessment_run_request(trigger=RunTrigger.MANUAL, periods=periods, enqueue=False)
    target = {"compute": "scores_compute", "store": "scores_store"}[where]
    original = getattr(runs, target)
    calls = []

    def drop_connection_once(**kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            _terminate_backend_of(connection)  # the worker thread's own connection
        return original(**kwargs)

    with mock.patch.object(runs, target, side_effect=drop_connection_once):
        run_assessment.delay(str(run.pk))
        run = wait_until_finished(run.pk)

    assert run.status == RunStatus.SUCCEEDED, run.error
    # One retry; meanwhile the run showed as queued with the reason, never as failed.
    assert len(retries) == 1
    error, waiting = retries[0]
    assert type(error).__name__ in ("OperationalError", "InterfaceError")
    assert waiting["status"] == RunStatus.QUEUED and "it will be retried" in waiting["error"]
    # Computed again in full by the retry (the first attempt died at its first call).
    assert len(calls) >= 2 and calls[0] != threading.current_thread().name
    assert run.error == "" and run.partners_scored == 5
    assert_one_consistent_set_of_scores(run, periods)


# --- a worker dies mid-run ------------------------------------------------------------------------------


class WorkerProcess:
    """A Celery worker in its own process, on the pytest database and the private Redis."""

    def __init__(self, name: str, env: dict, log: Path):
        self.name, self.log = name, log
        self.handle = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [python(), "-m", "tests.integration.fault_worker", name],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.handle.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.handle.close()


@pytest.fixture
def worker_processes(tmp_path):
    started = []

    def start(name: str, **env) -> WorkerProcess:
        worker = WorkerProcess(name, subprocess_env(**env), tmp_path / f"{name}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def test_worker_killed_mid_run_the_run_is_redelivered_and_completes_once(
    reference_data, redis_server, worker_processes, tmp_path, settings
):
    """SIGKILL a worker while it is inside a run's write transaction; with acks_late the message stays
    unacknowledged in Redis, a second worker gets it once the visibility timeout has passed, and the run
    completes with exactly one set of scores."""
    visibility = 3
    env = {
        "CELERY_BROKER_URL": redis_server.url(0),
        "REDIS_URL": redis_server.url(1),
        "CELERY_VISIBILITY_TIMEOUT": str(visibility),
        "SCORING_LOCK_LEASE_SECONDS": "3",
    }
    periods = scored_data()
    run = assessment_run_request(trigger=RunTrigger.MANUAL, periods=periods, enqueue=False)
    marker = tmp_path / "paused"
    first = worker_processes("first", FAULT_PAUSE_MARKER=str(marker), **env)
    with celery_broker(app, redis_server.url(0)):
        run_assessment.delay(str(run.pk))
    wait_for(marker.exists, timeout=90, interval=0.2, message="the first worker to reach the write transaction")
    assert int(marker.read_text()) == first.process.pid
    assert AssessmentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING

    first.kill()
    assert first.process.returncode == -signal.SIGKILL
    broker = redis.Redis.from_url(redis_server.url(0))
    # acks_late: the message was not acknowledged, so Redis still holds it for redelivery.
    assert broker.hlen("unacked") == 1
    assert not PartnerScore.objects.exists()  # the killed transaction wrote nothing

    second = worker_processes("second", **env)
    try:
        run = wait_until_finished(run.pk, timeout=120)
    except AssertionError as timeout:
        raise AssertionError(second.log.read_text()[-3000:]) from timeout
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert_one_consistent_set_of_scores(run, periods)
    wait_for(lambda: broker.hlen("unacked") == 0, timeout=30, message="the redelivered message to be acknowledged")
    assert broker.llen("celery") == 0


# --- Redis is unreachable -------------------------------------------------------------------------------


def test_redis_down_pages_api_and_saves_work_and_the_recompute_waits_until_it_is_back(
    reference_data, broker, make_user, client
):
    """With the one Redis (broker, cache, lock) stopped: pages and the API answer, saves succeed, /healthz
    says 503 with the broker down, and the recompute waits as one queued run. Redis restarted, the run is
    sent again (beat's every-minute job) and a worker computes it: nothing was lost."""
    from rest_framework.authtoken.models import Token

    from engagements import services
    from engagements.models import Engagement, PartnerChange

    planner = make_user("planner-redis", "planner")
    viewer = make_user("viewer-redis", "viewer")
    token = Token.objects.create(user=viewer)
    today = timezone.localdate()
    start = today - datetime.timedelta(days=2)
    broker.stop()

    # Pages and API.
    client.force_login(planner)
    for url in ("/", "/engagements/", "/partners/", "/assessments/", "/assessments/runs/", "/engagements/new/"):
        assert client.get(url).status_code == 200, url
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/partners/").status_code == 200

    # A save through the page succeeds.
    response = client.post(
        "/engagements/new/",
        {
            "title": "Lake patrol exchange",
            "engagement_type": "training_exchange",
            "domain": "maritime",
            "status": "completed",
            "start_date": start.isoformat(),
            "end_date": today.isoformat(),
            "host_country": "UGA",
            "sensitivity": "unclassified",
            "version": "",
            "participants-TOTAL_FORMS": "2",
            "participants-INITIAL_FORMS": "0",
            "participants-0-partner": "UGA",
            "participants-0-role": "host",
            "participants-0-personnel": "40",
            "participants-1-partner": "KEN",
            "participants-1-role": "participant",
            "participants-1-personnel": "20",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    engagement = Engagement.objects.get(title="Lake patrol exchange")
    assert response["Location"] == f"/engagements/{engagement.pk}/"
    # ... and so does one through the service (an import, the API): coalesced into the same waiting run.
    services.engagement_create(
        created_by=planner,
        title="Border liaison visit",
        engagement_type="advisory_mission",
        domain="land",
        status="in_progress",
        start_date=start,
        end_date=today,
        host_country="TZA",
        participants=[{"partner": "TZA"}],
    )
    waiting = AssessmentRun.objects.get()
    assert (waiting.status, waiting.trigger) == (RunStatus.QUEUED, RunTrigger.DATA_CHANGE)
    assert "Waiting for the task queue" in waiting.error
    assert set(waiting.partner_ids) == set(
        PartnerChange.objects.filter(processed_at__isnull=True).values_list("partner_id", flat=True)
    )
    assert len(waiting.partner_ids) == 3

    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["checks"]["broker"]["status"] == "error"
    assert health.json()["checks"]["database"]["status"] == "ok"

    # Redis comes back; the run was never sent, so the queue is empty until beat's job sends it again.
    broker.start()
    assert client.get("/healthz").status_code == 200
    assert redis.Redis.from_url(broker.url(0)).llen("celery") == 0
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20, loglevel="WARNING"):
        resend_waiting_runs.delay()  # what beat sends every minute
        run = wait_until_finished(waiting.pk)
    connections.close_all()
    assert run.status == RunStatus.SUCCEEDED and run.error == ""
    scored = set(PartnerScore.objects.filter(period=Quarter.current().start).values_list("partner__iso3", flat=True))
    assert scored == {"UGA", "KEN", "TZA"}
    assert not PartnerChange.objects.filter(processed_at__isnull=True).exists()
    assert settings.CELERY_BEAT_SCHEDULE["assessments-resend-waiting"]["task"] == resend_waiting_runs.name
