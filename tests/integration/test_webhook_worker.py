"""Webhooks end to end on real services: an engagement created through the service is announced after
commit, queued on the Redis broker, and POSTed by a real Celery worker to a real HTTP receiver on loopback,
which checks the signature with the README's own code; a receiver answering 500 gets retried with back-off."""

from __future__ import annotations

import datetime
import time

import pytest

from engagements.services import engagement_create
from tests.webhooks.receiver import readme_verifier, running_receiver
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_create

pytestmark = [pytest.mark.requires_postgres, pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]

SECRET = "integration-secret-0123456789"


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_SECONDS = 1  # the back-off's shape, in seconds instead of tens of them
    with running_receiver() as server:
        yield server


def _create_engagement(user, title: str):
    return engagement_create(
        created_by=user,
        title=title,
        engagement_type="exercise",
        domain="land",
        status="planned",
        start_date=datetime.date(2026, 3, 2),
        end_date=datetime.date(2026, 3, 6),
        host_country="SEN",
        participants=[{"partner": "SEN", "role": "host", "personnel": 40}],
    ).engagement


def _wait_for(condition, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)
    return condition()


def test_a_worker_delivers_a_signed_engagement_created_and_retries_a_500(
    reference_data, receiver, worker, admin_user_role, planner
):
    _snippet, verified = readme_verifier()
    hook = webhook_create(owner=admin_user_role, url=receiver.url, events=["engagement.created"], secret=SECRET)

    engagement = _create_engagement(planner, "Worker-delivered exercise")
    assert _wait_for(lambda: WebhookDelivery.objects.filter(webhook=hook, delivered_at__isnull=False).exists())
    [got] = receiver.received
    assert verified(SECRET, got["headers"]["X-Engagement-Signature"], got["raw"])
    assert not verified("not-the-secret-at-all", got["headers"]["X-Engagement-Signature"], got["raw"])
    assert got["json"]["event"] == "engagement.created"
    assert got["json"]["data"]["reference"] == engagement.reference
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert (delivery.status_code, delivery.attempts, str(delivery.event_id)) == (200, 1, got["json"]["id"])

    # A receiver that fails twice: the worker comes back later, with the same event, until it is taken.
    receiver.received.clear()
    receiver.answers = [500, 500]
    _create_engagement(planner, "Retried exercise")
    retried = lambda: WebhookDelivery.objects.filter(  # noqa: E731
        webhook=hook, payload__title="Retried exercise", delivered_at__isnull=False
    ).first()
    assert _wait_for(retried), list(WebhookDelivery.objects.values("attempts", "status_code", "error"))
    assert [r["json"]["data"]["title"] for r in receiver.received] == ["Retried exercise"] * 3
    assert len({r["json"]["id"] for r in receiver.received}) == 1
    assert all(verified(SECRET, r["headers"]["X-Engagement-Signature"], r["raw"]) for r in receiver.received)
    assert (retried().attempts, retried().status_code, retried().error) == (3, 200, "")
