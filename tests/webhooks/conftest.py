"""A real HTTP receiver on 127.0.0.1 (tests/webhooks/receiver.py) and eager Celery for webhook tests."""

from __future__ import annotations

import pytest

from tests.webhooks.receiver import running_receiver


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with running_receiver() as server:
        yield server


@pytest.fixture
def eager():
    """Embedded mode: deliveries are sent (and retried, without waiting) in the process that queues them."""
    from webhooks.tasks import deliver_webhook

    conf = deliver_webhook.app.conf
    previous = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = previous
