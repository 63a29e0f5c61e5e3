"""A real Celery worker, started by the test (a thread of this process) on the Redis broker."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connections

from config.celery import app


@pytest.fixture
def worker():
    assert not app.conf.task_always_eager, "CELERY_BROKER_URL is set, so tasks must go through the broker"
    app.control.purge()  # messages left in the queue by earlier test sessions
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING") as w:
        yield w
    connections.close_all()
