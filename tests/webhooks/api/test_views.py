"""The webhook API: administrators only (tests/security/test_permission_matrix.py), allowed hosts checked at
creation, the secret never returned, deliveries listed."""

from __future__ import annotations

import pytest

from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-the-receiver-only"


def _create(client, **overrides):
    body = {"url": "https://hooks.example.org/in", "events": ["engagement.created"], "secret": SECRET, **overrides}
    return client.post("/api/v1/webhooks/", body, format="json")


def test_an_admin_subscribes_and_the_secret_is_never_returned(api_for, admin_user_role, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]
    client = api_for(admin_user_role)
    response = _create(client, description="Partner portal", events=["run.finished", "engagement.created"])
    assert response.status_code == 201, response.content
    assert "secret" not in response.json() and SECRET not in response.content.decode()
    assert response.json()["events"] == ["engagement.created", "run.finished"]
    webhook = Webhook.objects.get()
    assert webhook.owner == admin_user_role and webhook.secret == SECRET
    for answer in (client.get("/api/v1/webhooks/"), client.get(f"/api/v1/webhooks/{webhook.pk}/")):
        assert answer.status_code == 200 and SECRET not in answer.content.decode()
    changed = client.patch(f"/api/v1/webhooks/{webhook.pk}/", {"secret": "another-long-secret-value"}, format="json")
    assert changed.status_code == 200 and "another-long-secret-value" not in changed.content.decode()
    webhook.refresh_from_db()
    assert webhook.secret == "another-long-secret-value" and webhook.events == ["engagement.created", "run.finished"]


def test_a_host_not_allowed_is_refused_at_creation(api_for, admin_user_role, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]
    client = api_for(admin_user_role)
    response = _create(client, url="http://169.254.169.254/latest/meta-data/")
    assert response.status_code == 400
    [message] = response.json()["errors"]["url"]
    assert "169.254.169.254" in message and "WEBHOOK_ALLOWED_HOSTS" in message
    assert _create(client, url="file:///etc/passwd").status_code == 400
    assert _create(client, url="https://user:pw@hooks.example.org/").status_code == 400
    assert not Webhook.objects.exists()


def test_with_no_allowed_hosts_no_webhook_can_be_created_and_the_error_says_why(api_for, admin_user_role, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    response = _create(api_for(admin_user_role))
    assert response.status_code == 400
    assert "WEBHOOK_ALLOWED_HOSTS is empty" in response.json()["errors"]["url"][0]


def test_every_field_error_at_once(api_for, admin_user_role, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]
    response = _create(
        api_for(admin_user_role), url="https://elsewhere.example.com/", events=["engagement.exploded"], secret="short"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"url", "events", "secret"}
    assert "engagement.exploded" in errors["events"][0]
    assert _create(api_for(admin_user_role), events=[]).status_code == 400
    assert _create(api_for(admin_user_role), events="engagement.created").status_code == 400


def test_deliveries_are_listed_newest_first(api_for, admin_user_role, settings, django_assert_max_num_queries):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]
    client = api_for(admin_user_role)
    webhook_id = _create(client).json()["id"]
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                webhook_id=webhook_id,
                event="engagement.created",
                payload={},
                status_code=500,
                attempts=5,
                error="The receiver answered 500.",
            ),
            WebhookDelivery(webhook_id=webhook_id, event="run.finished", payload={}, status_code=200, attempts=1),
        ]
    )
    with django_assert_max_num_queries(8):
        response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["event"] for r in rows] == ["run.finished", "engagement.created"]
    assert {"event", "status_code", "attempts", "delivered_at", "error"} <= set(rows[0])
    assert rows[1]["attempts"] == 5 and rows[1]["error"] == "The receiver answered 500."
    assert client.get("/api/v1/webhooks/").json()["results"][0]["delivery_count"] == 2


def test_other_roles_cannot_see_webhooks(api_for, analyst, planner):
    for user in (analyst, planner):
        assert api_for(user).get("/api/v1/webhooks/").status_code == 403


def test_send_again_and_a_test_event_through_the_api(
    api_for, admin_user_role, receiver, eager, django_capture_on_commit_callbacks
):
    client = api_for(admin_user_role)
    webhook_id = _create(client, url=receiver.url, events=["run.finished"]).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/webhooks/{webhook_id}/test/", format="json")
    assert response.status_code == 202, response.content
    assert response.json()["event"] == "webhook.test"
    [test] = receiver.bodies("webhook.test")
    assert test["id"] == response.json()["event_id"] and test["data"]["webhook"] == webhook_id

    failed = WebhookDelivery.objects.create(
        webhook_id=webhook_id, event="run.finished", payload={"id": "r1"}, status_code=503, attempts=5
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/webhooks/{webhook_id}/deliveries/{failed.pk}/redeliver/", format="json")
    assert response.status_code == 202, response.content
    [again] = receiver.bodies("run.finished")
    assert again["id"] == str(failed.event_id)
    failed.refresh_from_db()
    assert (failed.status_code, failed.attempts) == (200, 1) and failed.delivered_at is not None
    missing = client.post(f"/api/v1/webhooks/{webhook_id}/deliveries/{failed.pk + 1000}/redeliver/", format="json")
    assert missing.status_code == 404


def test_send_again_and_test_are_refused_to_other_roles(api_for, admin_user_role, planner, analyst, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]
    webhook_id = _create(api_for(admin_user_role)).json()["id"]
    delivery = WebhookDelivery.objects.create(webhook_id=webhook_id, event="run.finished", payload={})
    for user in (planner, analyst):
        client = api_for(user)
        assert client.post(f"/api/v1/webhooks/{webhook_id}/test/", format="json").status_code == 403
        url = f"/api/v1/webhooks/{webhook_id}/deliveries/{delivery.pk}/redeliver/"
        assert client.post(url, format="json").status_code == 403
    assert WebhookDelivery.objects.count() == 1
