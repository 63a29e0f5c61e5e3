"""A real Celery worker on the Redis broker runs a task end to end and writes to PostgreSQL."""

import time

import pytest
from django.db import connections

from core.models import WorkerHeartbeat
from core.tasks import record_worker_heartbeat

pytestmark = [pytest.mark.requires_postgres, pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]


def test_task_runs_on_a_real_worker_and_writes_to_postgres(worker, client):
    assert not WorkerHeartbeat.objects.exists()
    record_worker_heartbeat.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
        time.sleep(0.2)
    beat = WorkerHeartbeat.objects.get()
    # Recorded by the worker thread, not eagerly in this process (that would say "eager").
    assert beat.worker != "eager" and beat.worker in worker.hostname
    assert connections["default"].vendor == "postgresql"

    health = client.get("/healthz").json()
    assert health["checks"]["broker"] == {"status": "ok", "transport": "redis"}
    assert health["checks"]["cache"]["backend"] == "ResilientRedisCache"
    assert health["worker_last_seen"] == beat.last_seen.isoformat()
