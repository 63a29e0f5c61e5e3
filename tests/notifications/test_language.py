"""Notifications speak their reader's language: stored as a message key with parameters and worded when read,
in the inbox and the API in the request's language, in e-mails in the recipient's (remembered from their
visits). Older notifications, stored worded, stay readable as they were."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation

from notifications import events, messages, services
from notifications.choices import Delivery, NotificationKind
from notifications.models import Notification, UserLanguage
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 30)
# Already in the French catalogue (locale/fr): the wording the readers below must see.
FRENCH_TITLE = "Approbation demandée\xa0: {reference} Coastal drill"
ENGLISH_TITLE = "Approval requested: {reference} Coastal drill"


@pytest.fixture
def requested(make_user, django_capture_on_commit_callbacks):
    planner = make_user("planner-en", "planner", first_name="Pat", last_name="Planner")
    french = make_user("approver-fr", "approver", email="fr@example.org")
    english = make_user("approver-en", "approver", email="en@example.org")
    UserLanguage.objects.create(user=french, language="fr")
    engagement = make_engagement(["SEN"], TODAY, TODAY, status="planned", created_by=planner, title="Coastal drill")
    with django_capture_on_commit_callbacks(execute=True):
        events.approval_requested_notify(
            engagement_id=engagement.pk, requested_by_id=planner.pk, approver_ids=[french.pk, english.pk]
        )
    return {"engagement": engagement, "french": french, "english": english}


def test_stored_as_a_key_and_worded_when_read(requested):
    reference = requested["engagement"].reference
    row = Notification.objects.get(recipient=requested["french"])
    assert row.message == "approval_requested" and row.params["reference"] == reference
    assert row.title == ENGLISH_TITLE.format(reference=reference)  # the site's language, for the admin
    with translation.override("fr"):
        assert row.shown_title == FRENCH_TITLE.format(reference=reference)
        assert row.shown_body == "Pat Planner vous demande d'approuver cet engagement."
    with translation.override("en"):
        assert row.shown_title == ENGLISH_TITLE.format(reference=reference)


def test_each_recipient_gets_the_email_in_their_language(requested):
    reference = requested["engagement"].reference
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"fr@example.org", "en@example.org"}  # immediate by default
    assert by_address["fr@example.org"].subject == FRENCH_TITLE.format(reference=reference)
    assert "vous demande d'approuver" in by_address["fr@example.org"].body
    assert by_address["en@example.org"].subject == ENGLISH_TITLE.format(reference=reference)
    assert translation.get_language() == settings.LANGUAGE_CODE  # sending left the active language alone


def test_the_inbox_and_the_api_speak_the_requests_language(client, requested):
    reference = requested["engagement"].reference
    client.force_login(requested["english"])
    french_page = client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert FRENCH_TITLE.format(reference=reference) in french_page
    english_page = client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ENGLISH_TITLE.format(reference=reference) in english_page
    api = client.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert api["results"][0]["title"] == FRENCH_TITLE.format(reference=reference)


def test_the_language_of_a_visit_is_remembered_for_emails(client, make_user):
    user = make_user("reader", "analyst")
    assert messages.language_of(user) == settings.LANGUAGE_CODE  # never seen: the site's
    client.force_login(user)
    client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="fr")
    assert messages.language_of(user) == "fr"
    client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en")
    assert messages.language_of(user) == "en" and UserLanguage.objects.filter(user=user).count() == 1


def test_a_digest_is_worded_in_the_recipients_language(make_user):
    user = make_user("digest-fr", "planner", email="d@example.org")
    UserLanguage.objects.create(user=user, language="fr")
    services.preferences_set(user=user, deliveries={NotificationKind.APPROVAL_DECIDED: Delivery.DIGEST})
    engagement = make_engagement(["SEN"], TODAY, TODAY, status="planned", created_by=user, title="Coastal drill")
    events.approval_decided_notify(
        engagement_id=engagement.pk, decided_by_id=None, approved=True, comment="Good plan.", recipient_ids=[user.pk]
    )
    assert services.digests_send() == {"sent": 1, "failed": 0}
    (sent,) = mail.outbox
    assert sent.subject == "Engagement Tracker\xa0: 1 notifications"
    assert f"Approuvé\xa0: {engagement.reference} Coastal drill" in sent.body and "Good plan." in sent.body


def test_older_notifications_without_a_key_show_what_was_stored(client, make_user):
    user = make_user("old", "planner")
    services.notifications_create(
        kind=NotificationKind.REPORT_DUE, key="old:1", recipient_ids=[user.pk], title="Stored long ago", url="/"
    )
    assert Notification.objects.get(recipient=user).message == ""
    client.force_login(user)
    assert "Stored long ago" in client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
