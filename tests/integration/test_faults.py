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
import time
from pathlib import Path
from unittest import mock

import psycopg2
import pytest
import redis
from celery import signals
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from assessments.choices import RunStatus, RunTrigger
from assessments.locks import scoring_lock
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
    database_url,
    python,
    running_worker,
    subprocess_env,
    wait_for,
)

D = datetime.date

pytestmark = [pytest.mark.requires_postgres, pytest.mark.django_db(transaction=True)]
needs_redis = pytest.mark.requires_redis


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
    with running_worker(app, pool="solo", shutdown_timeout=20) as w:
        yield w


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


def assert_one_consistent_set_of_scores(run: AssessmentRun, periods: list[str], *, others: bool = False) -> None:
    """The scores of ``periods`` are one set, written by ``run`` (``others``: other quarters may have rows)."""
    model = scoring_model_active()
    quarters = [Quarter.parse(p) for p in periods]
    expected = {
        (pid, q.start): score.overall for q in quarters for pid, score in scores_compute(quarter=q, model=model).items()
    }
    rows = PartnerScore.objects.filter(period__in=[q.start for q in quarters]) if others else PartnerScore.objects
    rows = list(rows.values_list("partner_id", "period", "overall", "run_id"))
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


@needs_redis
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

    def __init__(self, name: str, env: dict, log: Path, args: list[str] | None = None):
        self.name, self.log = name, log
        self.handle = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [python(), "-m", "tests.integration.fault_worker", *(args or [name])],
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

    def start(name: str, *, args: list[str] | None = None, **env) -> WorkerProcess:
        worker = WorkerProcess(name, subprocess_env(**env), tmp_path / f"{name}.log", args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@needs_redis
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
    # A starting worker gives back the messages unacknowledged for longer than the visibility timeout
    # (later, only every 100 s): start the second one once that is the case.
    ((_tag, delivered),) = broker.zrange("unacked_index", 0, -1, withscores=True)
    time.sleep(max(0.0, delivered + visibility + 0.5 - time.time()))

    second = worker_processes("second", **env)
    try:
        run = wait_until_finished(run.pk, timeout=120)
    except AssertionError as timeout:
        raise AssertionError(second.log.read_text()[-3000:]) from timeout
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert_one_consistent_set_of_scores(run, periods)
    wait_for(lambda: broker.hlen("unacked") == 0, timeout=30, message="the redelivered message to be acknowledged")
    assert broker.llen("celery") == 0


# --- a worker dies mid-run: the lock dies with it, the next run picks the dead one up, saves never wait ----


def _timed_save(title: str) -> float:
    """Seconds an engagement save takes (the service the page and the API call), its recompute included."""
    from engagements.services import engagement_create

    today = timezone.localdate()
    started = time.perf_counter()
    engagement_create(
        created_by=None,
        title=title,
        engagement_type="training_exchange",
        domain="maritime",
        status="completed",
        start_date=today - datetime.timedelta(days=2),
        end_date=today,
        host_country="UGA",
        participants=[{"partner": "UGA"}, {"partner": "KEN"}],
    )
    return time.perf_counter() - started


@needs_redis
def test_worker_killed_mid_run_the_lock_dies_with_it_and_the_next_run_queues_the_dead_one_again(
    reference_data, broker, worker_processes, tmp_path
):
    """SIGKILL a worker inside a run's write transaction, the visibility timeout left at its default (an
    hour, so no redelivery helps): a save made while the run held the lock returned at once; the next run
    starts within seconds of the kill, finds the killed run still marked running with nobody holding the
    lock, queues it again, and the surviving worker completes it with one set of scores."""
    env = {"CELERY_BROKER_URL": broker.url(0), "REDIS_URL": broker.url(1)}
    periods = scored_data()
    dead = assessment_run_request(trigger=RunTrigger.MANUAL, periods=periods, enqueue=False)
    marker = tmp_path / "paused"
    first = worker_processes("first", FAULT_PAUSE_MARKER=str(marker), **env)
    run_assessment.delay(str(dead.pk))
    wait_for(marker.exists, timeout=60, interval=0.2, message="the first worker to reach the write transaction")

    # (c) A save while the run holds the lock returns at once; its recompute waits in the queue.
    took = _timed_save("Lake patrol exchange")
    print(f"save during a running run (worker on Redis): {took * 1000:.0f} ms")
    assert took < 2
    changed = AssessmentRun.objects.get(trigger=RunTrigger.DATA_CHANGE)
    assert changed.status == RunStatus.QUEUED

    first.kill()
    killed_at = timezone.now()
    assert AssessmentRun.objects.get(pk=dead.pk).status == RunStatus.RUNNING
    broker_client = redis.Redis.from_url(broker.url(0))
    assert broker_client.hlen("unacked") == 1  # the killed run's message, held back for an hour
    second = worker_processes("second", **env)

    # (a) The next run starts within seconds: the lock died with the killed worker's database session.
    try:
        changed = wait_until_finished(changed.pk, timeout=30)
    except AssertionError as timeout:
        raise AssertionError(second.log.read_text()[-3000:]) from timeout
    assert changed.status == RunStatus.SUCCEEDED, changed.error
    assert (changed.started_at - killed_at).total_seconds() < 15
    # (b) That run found the killed one left running, queued it again, and the worker completed it.
    dead = wait_until_finished(dead.pk, timeout=30)
    assert dead.status == RunStatus.SUCCEEDED, dead.error
    assert dead.started_at > changed.started_at and dead.error == ""
    assert "was left running by a dead worker; queued again" in second.log.read_text()
    assert_one_consistent_set_of_scores(dead, periods, others=True)
    assert broker_client.hlen("unacked") == 1  # not rescued by a redelivery: still held back


@pytest.fixture
def embedded(settings):
    """This process in the embedded mode: no broker (a task runs eagerly, in the request that sends it),
    no Redis (before, that meant the database lease)."""
    settings.REDIS_URL = ""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_embedded_process_killed_mid_run_saves_never_wait_and_the_next_run_completes_the_dead_one(
    reference_data, embedded, worker_processes, tmp_path
):
    """The embedded mode (no broker, no Redis): the process executing a run is the web process that asked
    for it. SIGKILL it inside the write transaction. A save made meanwhile in another process returns at
    once (it waited 30 s for the lock before); the lock is free as soon as the killed session ends (it
    stayed taken for CELERY_TASK_TIME_LIMIT + 60 s before); the next run executes, then the killed run and
    the save's waiting recompute after it."""
    periods = scored_data()
    dead = assessment_run_request(trigger=RunTrigger.MANUAL, periods=periods, enqueue=False)
    marker = tmp_path / "paused"
    holder = worker_processes("embedded", args=["--execute", str(dead.pk)], FAULT_PAUSE_MARKER=str(marker))
    wait_for(marker.exists, timeout=60, interval=0.2, message="the run to reach the write transaction")

    # (c) A save while the run holds the lock: its recompute does not wait, it waits with a note.
    took = _timed_save("Lake patrol exchange")
    print(f"save during a running run (embedded mode): {took * 1000:.0f} ms")
    assert took < 2
    changed = AssessmentRun.objects.get(trigger=RunTrigger.DATA_CHANGE)
    assert changed.status == RunStatus.QUEUED and "Waiting for the run in progress to finish" in changed.error

    holder.kill()
    # (a) The lock is free within a moment: PostgreSQL ended the killed process's session, and the lock.
    started = time.monotonic()
    with scoring_lock(wait=10):
        pass
    assert time.monotonic() - started < 2
    assert AssessmentRun.objects.get(pk=dead.pk).status == RunStatus.RUNNING
    # (b) The next run (an analyst's button, executed in the request) queues the killed run again and,
    # once it has finished, executes it and the save's waiting recompute.
    current = str(Quarter.current())
    asked = assessment_run_request(trigger=RunTrigger.MANUAL, periods=[current], enqueue=True)
    runs_by_id = {run.pk: run for run in AssessmentRun.objects.all()}
    assert set(runs_by_id) == {dead.pk, changed.pk, asked.pk}
    assert {(run.status, run.error) for run in runs_by_id.values()} == {(RunStatus.SUCCEEDED, "")}
    assert runs_by_id[asked.pk].finished_at <= runs_by_id[dead.pk].started_at
    assert_one_consistent_set_of_scores(runs_by_id[dead.pk], periods, others=True)


# --- Redis is unreachable -------------------------------------------------------------------------------


@needs_redis
def test_redis_down_pages_api_and_saves_work_and_the_recompute_waits_until_it_is_back(
    reference_data, broker, make_user, client
):
    """With the one Redis (broker, cache, lock) stopped: pages and the API answer, saves succeed, /healthz
    says 503 with the broker down, and the recompute waits as one queued run. Redis restarted, the run is
    sent again (beat's every-minute job) and a worker computes it: nothing was lost."""
    from core.services import api_token_create
    from engagements import services
    from engagements.models import Engagement, PartnerChange

    planner = make_user("planner-redis", "planner")
    viewer = make_user("viewer-redis", "viewer")
    _token, secret = api_token_create(user=viewer)
    today = timezone.localdate()
    start = today - datetime.timedelta(days=2)
    broker.stop()

    # Pages and API.
    client.force_login(planner)
    for url in ("/", "/engagements/", "/partners/", "/assessments/", "/assessments/runs/", "/engagements/new/"):
        assert client.get(url).status_code == 200, url
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
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
    with running_worker(app, pool="solo", shutdown_timeout=20):
        resend_waiting_runs.delay()  # what beat sends every minute
        run = wait_until_finished(waiting.pk)
    assert run.status == RunStatus.SUCCEEDED and run.error == ""
    scored = set(PartnerScore.objects.filter(period=Quarter.current().start).values_list("partner__iso3", flat=True))
    assert scored == {"UGA", "KEN", "TZA"}
    assert not PartnerChange.objects.filter(processed_at__isnull=True).exists()
    assert settings.CELERY_BEAT_SCHEDULE["assessments-resend-waiting"]["task"] == resend_waiting_runs.name


# --- two planners edit the same engagement at once ------------------------------------------------------


def _engagement(planner):
    from engagements import services

    return services.engagement_create(
        created_by=planner,
        title="Flintlock 2025",
        engagement_type="exercise",
        domain="land",
        start_date=D(2025, 2, 10),
        end_date=D(2025, 2, 28),
        host_country="CIV",
        participants=[{"partner": "CIV", "role": "host", "personnel": 400}],
    ).engagement


def _edit_form(html: str) -> dict:
    """The edit page's form as its browser would submit it unchanged (inputs, selected options, text)."""
    import html as html_lib
    import re

    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or (kind and kind.group(1) in ("submit", "button")):
            continue
        if kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data.setdefault(name.group(1), []).append(html_lib.unescape(value.group(1)) if value else "")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, flags=re.S):
        data[name] = [html_lib.unescape(v) for v in re.findall(r'<option value="([^"]*)"[^>]*selected', body)]
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, flags=re.S):
        data[name] = [html_lib.unescape(body.strip())]
    return {name: values if len(values) != 1 else values[0] for name, values in data.items()}


def test_two_planners_editing_through_the_page_the_second_save_is_refused(make_user, reference_data, client):
    from django.test import Client

    from engagements.models import Engagement

    first_planner, second_planner = make_user("planner-a", "planner"), make_user("planner-b", "planner")
    engagement = _engagement(first_planner)
    first, second = Client(), Client()
    first.force_login(first_planner)
    second.force_login(second_planner)
    url = f"/engagements/{engagement.pk}/edit/"
    # Both open the edit page of version 1.
    form_a, form_b = _edit_form(first.get(url).content.decode()), _edit_form(second.get(url).content.decode())
    assert form_a["version"] == form_b["version"] == "1" and form_a["title"] == "Flintlock 2025"

    assert first.post(url, {**form_a, "title": "Flintlock 2025 (Abidjan)"}).status_code == 302
    response = second.post(url, {**form_b, "title": "Flintlock 2025 (Bouaké)", "budget_usd": "25000"})
    assert response.status_code == 200
    page = response.content.decode().replace("&#x27;", "'")
    assert "Someone else saved this engagement while you were editing it (now version 2)" in page
    assert 'value="Flintlock 2025 (Bouaké)"' in page  # what they typed is still there to re-apply
    engagement = Engagement.objects.get(pk=engagement.pk)
    assert (engagement.title, engagement.budget_usd, engagement.version) == ("Flintlock 2025 (Abidjan)", None, 2)
    assert engagement.history.filter(history_type="~").count() == 1


def test_two_planners_saving_at_the_same_moment_one_wins_the_other_is_refused(make_user, reference_data):
    """Two threads (two connections) call the service with the version they both loaded; the row lock
    serialises them and the one that comes second finds the version moved."""
    from engagements import services
    from engagements.models import Engagement

    planners = [make_user("planner-a", "planner"), make_user("planner-b", "planner")]
    engagement = _engagement(planners[0])
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def save(planner, title):
        try:
            barrier.wait(timeout=10)
            services.engagement_update(
                engagement=Engagement.objects.get(pk=engagement.pk),
                updated_by=planner,
                expected_version=1,
                title=title,
                participants=[{"partner": "CIV", "role": "host", "personnel": len(title)}],
            )
            outcomes[title] = "saved"
        except Exception as exc:  # reported below
            outcomes[title] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(p, t)) for p, t in zip(planners, ["Version A", "Version BB"], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    saved = [title for title, outcome in outcomes.items() if outcome == "saved"]
    refused = [outcome for outcome in outcomes.values() if outcome != "saved"]
    assert len(saved) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], services.StaleVersionError)
    assert "Someone else saved this engagement" in refused[0].message_dict["version"][0]
    engagement = Engagement.objects.get(pk=engagement.pk)
    # The winner's whole change and nothing of the loser's: title and participants agree.
    assert engagement.title == saved[0] and engagement.version == 2
    assert list(engagement.participations.values_list("personnel", flat=True)) == [len(saved[0])]
    assert engagement.history.filter(history_type="~").count() == 1


# --- an import killed halfway ---------------------------------------------------------------------------


def _write_import_file(path: Path, rows: int) -> None:
    import csv

    from engagements import exchange

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=exchange.COLUMNS)
        writer.writeheader()
        for n in range(rows):
            day = D(2024, 1, 1) + datetime.timedelta(days=n % 360)
            writer.writerow(
                {
                    **dict.fromkeys(exchange.COLUMNS, ""),
                    "title": f"Killed import {n:05d}",
                    "engagement_type": "exercise",
                    "domain": "maritime",
                    "status": "completed",
                    "start_date": day.isoformat(),
                    "end_date": (day + datetime.timedelta(days=3)).isoformat(),
                    "host_country": "GHA",
                    "participants": "GHA:host:300;USA:lead:250;NGA:participant:180",
                    "organizations": "ECOWAS",
                    "aar_summary": "Boarding drills went well.",
                    "interoperability_rating": "4",
                    "capacity_rating": "3",
                    "trust_rating": "5",
                }
            )


def test_an_import_killed_halfway_leaves_nothing_written(reference_data, tmp_path):
    """`import_engagements --commit` is SIGKILLed while its transaction is inserting engagements: PostgreSQL
    rolls the whole transaction back, so not one row of the file exists afterwards."""
    from engagements.models import AfterActionReport, Engagement, Participation, PartnerChange, ReferenceCounter

    source = tmp_path / "big.csv"
    _write_import_file(source, 5000)
    counters_before = list(ReferenceCounter.objects.values_list("year", "last_number"))
    application = f"import-fault-{tmp_path.name}"[:60]
    env = subprocess_env(DATABASE_URL=f"{database_url()}?application_name={application}")
    log = (tmp_path / "import.log").open("wb")
    command = subprocess.Popen(  # noqa: S603
        [python(), "manage.py", "import_engagements", str(source), "--commit"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def writing_backend():
        """The import's backend once its transaction holds a write lock on the engagements table."""
        assert command.poll() is None, "the import finished before it could be killed"
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT activity.pid FROM pg_stat_activity activity
                JOIN pg_locks lock ON lock.pid = activity.pid
                WHERE activity.application_name = %s AND activity.backend_xid IS NOT NULL
                  AND lock.relation = 'engagements_engagement'::regclass AND lock.mode = 'RowExclusiveLock'
                """,
                [application],
            )
            row = cursor.fetchone()
        return row and row[0]

    try:
        # Only the second pass writes: a write lock on the table means rows are going in, uncommitted.
        backend = wait_for(writing_backend, timeout=180, interval=0.05, message="the import to start writing")
        command.send_signal(signal.SIGKILL)
        command.wait(timeout=30)
    finally:
        if command.poll() is None:
            command.kill()
        log.close()
    assert command.returncode == -signal.SIGKILL

    def backend_gone():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend])
            return cursor.fetchone()[0] == 0

    wait_for(backend_gone, timeout=60, message="PostgreSQL to end the killed import's session")
    assert not Engagement.objects.filter(title__startswith="Killed import").exists()
    assert not Engagement.objects.exists() and not Participation.objects.exists()
    assert not AfterActionReport.objects.exists() and not PartnerChange.objects.exists()
    assert not Engagement.history.exists()
    assert list(ReferenceCounter.objects.values_list("year", "last_number")) == counters_before
