import pytest

from config.celery import app


@pytest.fixture(autouse=True)
def eager_tasks():
    """Tasks run in the test's process when their transaction commits (the embedded mode)."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
