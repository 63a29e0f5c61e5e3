"""Webhook deliveries end to end: queued after commit, sent by the Celery task (eager) to a real local HTTP
receiver, signed, retried, and restricted engagements told only to owners who may read them."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import time

import pytest

from assessments.models import Alert
from assessments.services import assessment_run_execute, assessment_run_request
from engagements import services as engagement_services
from tests.assessments.factories import make_engagement
from webhooks.choices import WebhookEvent
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

D = datetime.date
SECRET = "s3cret-for-the-receiver-only"
ENGAGEMENT_EVENTS = ["engagement.created", "engagement.updated", "engagement.deleted", "engagement.withdrawn"]


def _engagement(user, **extra):
    data = {
        "title": "Flintlock 2025",
        "engagement_type": "exercise",
        "domain": "land",
        "status": "planned",
        "start_date": D(2025, 2, 3),
        "end_date": D(2025, 2, 7),
        "host_country": "SEN",
        "participants": [{"partner": "SEN", "role": "host", "personnel": 30}],
        **extra,
    }
    return engagement_services.engagement_create(created_by=user, **data).engagement


def _verify(secret: str, headers: dict, raw: bytes) -> bool:
    """What a receiver does (README, "Webhooks"): recompute the HMAC of "<t>.<raw body>"."""
    parts = dict(item.split("=", 1) for item in headers["X-Engagement-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def test_an_engagement_created_reaches_the_receiver_signed(
    reference_data, receiver, eager, admin_user_role, planner, django_capture_on_commit_callbacks
):
    hook = webhook_create(owner=admin_user_role, url=receiver.url, events=["engagement.created"], secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        engagement = _engagement(planner)

    [got] = receiver.received
    assert _verify(SECRET, got["headers"], got["raw"])
    assert not _verify("another-secret-entirely", got["headers"], got["raw"])
    body = got["json"]
    assert set(body) == {"id", "event", "created", "data"}
    assert body["event"] == "engagement.created"
    assert body["data"]["reference"] == engagement.reference and body["data"]["title"] == "Flintlock 2025"
    assert body["data"]["participants"] == [{"partner": "SEN", "role": "host", "personnel": 30}]
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert str(delivery.event_id) == body["id"]
    assert (delivery.status_code, delivery.attempts, delivery.error) == (200, 1, "")
    assert delivery.delivered_at is not None


def test_a_500_is_retried_and_every_attempt_recorded(
    reference_data, receiver, eager, admin_user_role, planner, django_capture_on_commit_callbacks
):
    hook = webhook_create(owner=admin_user_role, url=receiver.url, events=["engagement.created"], secret=SECRET)
    receiver.answers = [500, 503]
    with django_capture_on_commit_callbacks(execute=True):
        _engagement(planner)
    assert len(receiver.received) == 3  # two 5xx answers, then a 200
    assert len({r["json"]["id"] for r in receiver.received}) == 1  # the same event each time
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert (delivery.status_code, delivery.attempts, delivery.error) == (200, 3, "")

    receiver.received.clear()
    receiver.answers = [500] * 10
    with django_capture_on_commit_callbacks(execute=True):
        _engagement(planner, title="Never acknowledged")
    assert len(receiver.received) == 5  # at most 5 attempts
    failed = WebhookDelivery.objects.get(webhook=hook, payload__title="Never acknowledged")
    assert (failed.status_code, failed.attempts, failed.delivered_at) == (500, 5, None)
    assert "500" in failed.error


def test_a_4xx_is_not_retried(
    reference_data, receiver, eager, admin_user_role, planner, django_capture_on_commit_callbacks
):
    hook = webhook_create(owner=admin_user_role, url=receiver.url, events=["engagement.created"], secret=SECRET)
    receiver.answers = [410]
    with django_capture_on_commit_callbacks(execute=True):
        _engagement(planner)
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert len(receiver.received) == 1 and (delivery.status_code, delivery.attempts) == (410, 1)


def test_a_host_removed_from_the_allowed_list_is_not_called(
    reference_data, receiver, eager, admin_user_role, planner, settings, django_capture_on_commit_callbacks
):
    hook = webhook_create(owner=admin_user_role, url=receiver.url, events=["engagement.created"], secret=SECRET)
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]
    with django_capture_on_commit_callbacks(execute=True):
        _engagement(planner)
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert receiver.received == [] and delivery.attempts == 0 and "127.0.0.1" in delivery.error


def test_restricted_engagements_reach_only_owners_who_may_read_them(
    reference_data, receiver, eager, admin_user_role, viewer, planner, django_capture_on_commit_callbacks
):
    """A viewer cannot create webhooks through the API (admins only), but a webhook whose owner lost the
    right to read restricted engagements must be told no more than that owner may read."""
    reader = webhook_create(owner=admin_user_role, url=receiver.url, events=ENGAGEMENT_EVENTS, secret=SECRET)
    blind = webhook_create(owner=viewer, url=receiver.url, events=ENGAGEMENT_EVENTS, secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        secret_one = _engagement(planner, title="Canary-hidden", sensitivity="restricted")
        open_one = _engagement(planner, title="Open exercise")
    with django_capture_on_commit_callbacks(execute=True):
        engagement_services.engagement_update(engagement=secret_one, updated_by=planner, location_name="Canary-cove")
        engagement_services.engagement_update(engagement=open_one, updated_by=planner, sensitivity="restricted")

    def told(webhook):
        return [
            (d.event, d.payload.get("title")) for d in WebhookDelivery.objects.filter(webhook=webhook).order_by("id")
        ]

    assert told(reader) == [
        ("engagement.created", "Canary-hidden"),
        ("engagement.created", "Open exercise"),
        ("engagement.updated", "Canary-hidden"),
        ("engagement.updated", "Open exercise"),
    ]
    assert told(blind) == [("engagement.created", "Open exercise"), ("engagement.withdrawn", None)]
    withdrawn = WebhookDelivery.objects.get(webhook=blind, event="engagement.withdrawn")
    assert withdrawn.payload == {"id": open_one.pk}
    blind_ids = {str(pk) for pk in blind.deliveries.values_list("pk", flat=True)}
    sent_to_blind = [r["raw"] for r in receiver.received if r["headers"]["X-Engagement-Delivery"] in blind_ids]
    assert len(sent_to_blind) == 2 and not any(b"Canary" in raw for raw in sent_to_blind)

    # Lifting the restriction: the reader hears of an update, the viewer's webhook of a new engagement.
    with django_capture_on_commit_callbacks(execute=True):
        engagement_services.engagement_update(engagement=open_one, updated_by=planner, sensitivity="unclassified")
        engagement_services.engagement_delete(engagement=secret_one, user=planner, reason="Cancelled")
    assert told(reader)[-2:] == [("engagement.updated", "Open exercise"), ("engagement.deleted", "Canary-hidden")]
    assert told(blind)[-1] == ("engagement.created", "Open exercise")
    assert WebhookDelivery.objects.filter(webhook=blind).count() == 3


def test_run_finished_and_alert_raised_are_delivered(
    reference_data, receiver, eager, admin_user_role, django_capture_on_commit_callbacks
):
    hook = webhook_create(
        owner=admin_user_role, url=receiver.url, events=["run.finished", "alert.raised"], secret=SECRET
    )
    # A score drop of 10 points or more from 2024-Q3 to 2024-Q4 raises an alert (tests/assessments/test_runs.py).
    make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30), ratings=(5, 5, 5))
    make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1))
    run = assessment_run_request(trigger="manual", periods=["2024-Q3", "2024-Q4"], enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_run_execute(run_id=run.pk)

    [finished] = receiver.bodies("run.finished")
    assert finished["data"]["id"] == str(run.pk) and finished["data"]["status"] == "succeeded"
    alerts = receiver.bodies("alert.raised")
    assert sorted(a["data"]["partner"] for a in alerts) == sorted(Alert.objects.values_list("partner__iso3", flat=True))
    assert {"GHA", "SEN"} <= {a["data"]["partner"] for a in alerts}
    assert all(a["data"]["delta_overall"] <= -10 for a in alerts)
    assert all(_verify(SECRET, r["headers"], r["raw"]) for r in receiver.received)

    # Run again: the alerts already exist, so only the run is announced.
    again = assessment_run_request(trigger="manual", periods=["2024-Q3", "2024-Q4"], enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        assessment_run_execute(run_id=again.pk)
    assert len(receiver.bodies("run.finished")) == 2 and len(receiver.bodies("alert.raised")) == len(alerts)
    assert WebhookDelivery.objects.filter(webhook=hook, delivered_at__isnull=False).count() == 2 + len(alerts)


def test_only_active_subscribed_webhooks_get_deliveries(
    reference_data, receiver, eager, admin_user_role, planner, django_capture_on_commit_callbacks
):
    webhook_create(owner=admin_user_role, url=receiver.url, events=["engagement.deleted"], secret=SECRET)
    webhook_create(
        owner=admin_user_role, url=receiver.url, events=["engagement.created"], secret=SECRET, is_active=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        _engagement(planner)
    assert receiver.received == [] and not WebhookDelivery.objects.exists()
    assert WebhookEvent.ENGAGEMENT_CREATED == "engagement.created"


def test_an_allowed_name_that_resolves_to_a_private_address_is_refused_unless_the_address_is_listed(
    reference_data, receiver, eager, admin_user_role, settings, django_capture_on_commit_callbacks
):
    from webhooks.services import webhook_test_send

    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    url = receiver.url.replace("127.0.0.1", "localhost")
    hook = webhook_create(owner=admin_user_role, url=url, events=["run.finished"], secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        refused = webhook_test_send(webhook=hook, user=admin_user_role)
    refused.refresh_from_db()
    assert receiver.received == [] and refused.attempts == 0
    assert "resolves to" in refused.error and "WEBHOOK_ALLOWED_HOSTS" in refused.error

    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost", "127.0.0.0/8", "::1"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = webhook_test_send(webhook=hook, user=admin_user_role)
    sent.refresh_from_db()
    assert len(receiver.received) == 1 and sent.status_code == 200
