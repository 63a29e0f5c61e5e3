"""A real Celery worker, started by the test (a thread of this process) on the Redis broker."""

import pytest

from config.celery import app
from tests.integration.faults import running_worker


@pytest.fixture
def worker():
    assert not app.conf.task_always_eager, "CELERY_BROKER_URL is set, so tasks must go through the broker"
    app.control.purge()  # messages left in the queue by earlier test sessions
    with running_worker(app, pool="solo", shutdown_timeout=10) as w:
        yield w
