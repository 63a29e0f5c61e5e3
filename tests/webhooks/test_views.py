"""The webhook pages: administrators list, create (the generated secret shown once, never again), edit (the
secret write-only), deactivate and delete subscriptions, read each delivery log (paged, a constant number of
queries), send a delivery again and send a test event; the allowed-hosts rule shows beside the URL field."""

from __future__ import annotations

import pytest
from django.urls import reverse

from webhooks.models import Webhook, WebhookDelivery
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-the-receiver-only"


def _form(**overrides):
    return {
        "url": "https://hooks.example.org/in",
        "events": ["engagement.created", "run.finished"],
        "secret": SECRET,
        "is_active": "on",
        "description": "Partner portal",
        **overrides,
    }


@pytest.fixture
def allowed(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.org"]


def test_an_admin_creates_a_webhook_and_its_secret_is_never_shown(client_for, admin_user_role, allowed):
    client = client_for(admin_user_role)
    response = client.post(reverse("webhooks:create"), _form())
    webhook = Webhook.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("webhooks:detail", args=[webhook.pk])
    assert (webhook.owner, webhook.secret, webhook.events) == (
        admin_user_role,
        SECRET,
        ["engagement.created", "run.finished"],
    )
    for url in (reverse("webhooks:list"), reverse("webhooks:detail", args=[webhook.pk])):
        page = client.get(url)
        assert page.status_code == 200 and SECRET not in page.content.decode()
        assert "https://hooks.example.org/in" in page.content.decode()
    edit = client.get(reverse("webhooks:edit", args=[webhook.pk])).content.decode()
    assert SECRET not in edit and "A secret is set" in edit


def test_a_secret_left_empty_is_generated_and_shown_once(client_for, admin_user_role, allowed):
    client = client_for(admin_user_role)
    response = client.post(reverse("webhooks:create"), _form(secret=""))
    assert response.status_code == 200
    webhook = Webhook.objects.get()
    assert len(webhook.secret) >= 40 and webhook.secret in response.content.decode()
    detail = client.get(reverse("webhooks:detail", args=[webhook.pk])).content.decode()
    assert webhook.secret not in detail and "set (never shown)" in detail


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://169.254.169.254/latest/meta-data/", "private, loopback or link-local"),
        ("http://10.0.0.8/hook", "private, loopback or link-local"),
        ("http://127.0.0.1:8000/hook", "private, loopback or link-local"),
        ("https://elsewhere.example.com/in", "is not allowed"),
        ("ftp://hooks.example.org/in", "http:// or https://"),
    ],
)
def test_an_address_not_allowed_is_refused_beside_the_url_field(client_for, admin_user_role, allowed, url, expected):
    response = client_for(admin_user_role).post(reverse("webhooks:create"), _form(url=url))
    assert response.status_code == 400 and not Webhook.objects.exists()
    form = response.context["form"]
    assert list(form.errors) == ["url"] and expected in form.errors["url"][0]
    assert 'class="field-error" data-for="id_url"' in response.content.decode()


def test_every_field_error_shows_beside_its_field(client_for, admin_user_role, allowed):
    response = client_for(admin_user_role).post(
        reverse("webhooks:create"), _form(url="https://elsewhere.example.com/", events=[], secret="short")
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"url", "events", "secret"}


def test_a_listed_private_range_is_allowed(client_for, admin_user_role, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["10.20.0.0/16"]
    client = client_for(admin_user_role)
    assert client.post(reverse("webhooks:create"), _form(url="http://10.20.3.4/hook")).status_code == 302
    assert client.post(reverse("webhooks:create"), _form(url="http://10.21.3.4/hook")).status_code == 400
    assert Webhook.objects.count() == 1


def test_editing_keeps_the_secret_unless_a_new_one_is_typed_and_deactivates(client_for, admin_user_role, allowed):
    webhook = webhook_create(
        owner=admin_user_role, url="https://hooks.example.org/in", events=["run.finished"], secret=SECRET
    )
    client = client_for(admin_user_role)
    url = reverse("webhooks:edit", args=[webhook.pk])
    response = client.post(url, _form(secret="", is_active="", events=["alert.raised"]))
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.secret, webhook.is_active, webhook.events) == (SECRET, False, ["alert.raised"])
    client.post(url, _form(secret="a-brand-new-secret-value"))
    webhook.refresh_from_db()
    assert webhook.secret == "a-brand-new-secret-value" and webhook.is_active
    refused = client.post(url, _form(url="http://192.168.1.1/"))
    assert refused.status_code == 400 and "url" in refused.context["form"].errors
    webhook.refresh_from_db()
    assert webhook.url == "https://hooks.example.org/in"


def test_delete_asks_then_deletes(client_for, admin_user_role, allowed):
    webhook = webhook_create(
        owner=admin_user_role, url="https://hooks.example.org/in", events=["run.finished"], secret=SECRET
    )
    client = client_for(admin_user_role)
    url = reverse("webhooks:delete", args=[webhook.pk])
    assert client.get(url).status_code == 200 and Webhook.objects.exists()
    assert client.post(url).status_code == 302 and not Webhook.objects.exists()


def _deliveries(webhook, count):
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                webhook=webhook,
                event="engagement.created",
                payload={"n": n},
                status_code=500 if n % 2 else 200,
                attempts=5 if n % 2 else 1,
                error="The receiver answered 500." if n % 2 else "",
            )
            for n in range(count)
        ]
    )


def test_the_delivery_log_is_paged_in_a_constant_number_of_queries(
    client_for, admin_user_role, allowed, django_assert_max_num_queries
):
    webhook = webhook_create(
        owner=admin_user_role, url="https://hooks.example.org/in", events=["run.finished"], secret=SECRET
    )
    client = client_for(admin_user_role)
    url = reverse("webhooks:detail", args=[webhook.pk])
    # Session, user, its permissions (2), groups, the webhook, the count, the rows, the inbox count in the header:
    # 9 for 3 rows as for 50.
    _deliveries(webhook, 3)
    with django_assert_max_num_queries(9):
        assert client.get(url).content.decode().count(">Send again</button>") == 3
    _deliveries(webhook, 60)
    with django_assert_max_num_queries(9):
        page = client.get(url + "?page_size=50")
    text = page.content.decode()
    assert text.count(">Send again</button>") == 50 and "The receiver answered 500." in text
    assert "63 in all" in text
    assert client.get(url + "?page=2&page_size=50").content.decode().count(">Send again</button>") == 13
    for n in range(3):
        webhook_create(
            owner=admin_user_role, url=f"https://hooks.example.org/{n}", events=["run.finished"], secret=SECRET
        )
    with django_assert_max_num_queries(9):
        listed = client.get(reverse("webhooks:list"))
    assert listed.content.decode().count("https://hooks.example.org/") == 4


def test_send_again_and_test_event_reach_the_receiver(
    client_for, admin_user_role, receiver, eager, django_capture_on_commit_callbacks
):
    webhook = webhook_create(owner=admin_user_role, url=receiver.url, events=["run.finished"], secret=SECRET)
    client = client_for(admin_user_role)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhooks:test", args=[webhook.pk]))
    assert response.status_code == 302
    [test] = receiver.bodies("webhook.test")
    assert test["data"]["webhook"] == webhook.pk
    delivery = WebhookDelivery.objects.get(event="webhook.test")
    assert (delivery.status_code, delivery.attempts) == (200, 1) and delivery.delivered_at

    failed = WebhookDelivery.objects.create(
        webhook=webhook,
        event="run.finished",
        payload={"id": "r1"},
        status_code=500,
        attempts=5,
        error="The receiver answered 500.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhooks:redeliver", args=[webhook.pk, failed.pk]))
    assert response.status_code == 302
    [again] = receiver.bodies("run.finished")
    assert again["id"] == str(failed.event_id) and again["data"] == {"id": "r1"}
    failed.refresh_from_db()
    assert (failed.status_code, failed.attempts, failed.error) == (200, 1, "") and failed.delivered_at
    # Another webhook's delivery is not found through this one.
    other = webhook_create(owner=admin_user_role, url=receiver.url, events=["run.finished"], secret=SECRET)
    assert client.post(reverse("webhooks:redeliver", args=[other.pk, failed.pk])).status_code == 404


def test_the_navigation_shows_webhooks_to_admins_only(client_for, admin_user_role, planner):
    assert reverse("webhooks:list") in client_for(admin_user_role).get(reverse("engagements:list")).content.decode()
    assert reverse("webhooks:list") not in client_for(planner).get(reverse("engagements:list")).content.decode()


def test_other_roles_get_403(client_for, analyst, planner, viewer, allowed):
    for user in (analyst, planner, viewer):
        client = client_for(user)
        assert client.get(reverse("webhooks:list")).status_code == 403
        assert client.post(reverse("webhooks:create"), _form()).status_code == 403
    assert not Webhook.objects.exists()
