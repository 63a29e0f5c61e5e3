"""Notifications: once per key, the user's choice per kind, e-mail sent once, a failing server leaves it queued."""

import datetime
import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import selectors, services
from notifications.choices import Delivery, NotificationKind
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def _notify(user, key="k:1", kind=NotificationKind.APPROVAL_REQUESTED, **extra):
    return services.notifications_create(
        kind=kind, key=key, recipient_ids=[user.pk], title="Approval requested: ENG-1", url="/engagements/1/", **extra
    )


def test_one_notification_per_user_and_key(make_user, django_capture_on_commit_callbacks):
    user = make_user("p1", "planner", email="p1@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        first = _notify(user)
        again = _notify(user)
    assert len(first) == 1 and again == []
    assert Notification.objects.filter(recipient=user).count() == 1
    assert len(mail.outbox) == 1  # the immediate e-mail, once


def test_the_users_choice_decides_the_email(make_user, django_capture_on_commit_callbacks):
    user = make_user("p1", "planner", email="p1@example.org")
    services.preferences_set(
        user=user,
        deliveries={
            NotificationKind.APPROVAL_REQUESTED: Delivery.NONE,
            NotificationKind.ALERT_RAISED: Delivery.IMMEDIATE,
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        _notify(user, key="a")
        _notify(user, key="b", kind=NotificationKind.ALERT_RAISED)
        _notify(user, key="c", kind=NotificationKind.REPORT_DUE)  # no choice: the default, a digest
    rows = dict(Notification.objects.values_list("key", "delivery"))
    assert rows == {"a": Delivery.NONE, "b": Delivery.IMMEDIATE, "c": Delivery.DIGEST}
    assert [m.subject for m in mail.outbox] == ["Approval requested: ENG-1"]  # b only
    assert selectors.preferences_of(user=user)[NotificationKind.REPORT_DUE] == Delivery.DIGEST


def test_bad_choices_are_refused_all_at_once(make_user):
    user = make_user("p1", "planner")
    with pytest.raises(ValidationError) as caught:
        services.preferences_set(user=user, deliveries={"report_due": "hourly", "nonsense": "none"})
    assert set(caught.value.message_dict) == {"report_due", "nonsense"}
    assert not user.notification_preferences.exists()


def test_a_failing_mail_server_leaves_the_email_queued_and_the_sweep_sends_it(
    make_user, django_capture_on_commit_callbacks
):
    user = make_user("p1", "planner", email="p1@example.org")
    with (
        mock.patch("notifications.services.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        (pk,) = _notify(user)
    row = Notification.objects.get(pk=pk)
    assert row.emailed_at is None and row.email_attempts == 1 and "down" in row.email_error
    assert mail.outbox == []
    # Too recent for the sweep: the task's own retries come first.
    assert services.queued_emails_retry() == {"sent": 0, "failed": 0}
    later = timezone.now() + datetime.timedelta(minutes=6)
    assert services.queued_emails_retry(now=later) == {"sent": 1, "failed": 0}
    row.refresh_from_db()
    assert row.emailed_at is not None and row.email_attempts == 2 and row.email_error == ""
    assert len(mail.outbox) == 1
    # Nothing more to send, however often it runs.
    assert services.queued_emails_retry(now=later) == {"sent": 0, "failed": 0}
    assert services.notification_email_send(notification_id=pk) is False
    assert len(mail.outbox) == 1


def test_a_digest_holds_each_notification_once(make_user):
    user = make_user("a1", "analyst", email="a1@example.org")
    for n in range(3):
        _notify(user, key=f"alert:{n}", kind=NotificationKind.ALERT_RAISED)
    assert services.digests_send() == {"sent": 1, "failed": 0}
    assert services.digests_send() == {"sent": 0, "failed": 0}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Engagement Tracker: 3 notifications"
    assert mail.outbox[0].body.count("Approval requested: ENG-1") == 3
    _notify(user, key="alert:3", kind=NotificationKind.ALERT_RAISED)
    services.digests_send()
    assert len(mail.outbox) == 2 and "3 notifications" not in mail.outbox[1].subject


def test_a_failed_digest_is_sent_by_the_sweep_once(make_user):
    user = make_user("a1", "analyst", email="a1@example.org")
    _notify(user, key="alert:1", kind=NotificationKind.ALERT_RAISED)
    with mock.patch("notifications.services.EmailMessage.send", side_effect=ConnectionRefusedError("refused")):
        assert services.digests_send() == {"sent": 0, "failed": 1}
    assert Notification.objects.get().emailed_at is None
    assert services.queued_emails_retry() == {"sent": 1, "failed": 0}
    assert services.queued_emails_retry() == {"sent": 0, "failed": 0}
    assert len(mail.outbox) == 1


def test_no_address_means_inbox_only(make_user, django_capture_on_commit_callbacks):
    user = make_user("p1", "planner", email="")
    with django_capture_on_commit_callbacks(execute=True):
        (pk,) = _notify(user)
    assert Notification.objects.get(pk=pk).delivery == Delivery.NONE
    assert mail.outbox == []


def test_inactive_users_get_nothing(make_user):
    user = make_user("p1", "planner", is_active=False)
    assert _notify(user) == []


def test_marking_read(make_user):
    user, other = make_user("p1", "planner"), make_user("p2", "planner")
    (pk,) = _notify(user)
    _notify(user, key="k:2")
    with pytest.raises(Notification.DoesNotExist):
        services.notification_mark_read(user=other, notification_id=pk)
    services.notification_mark_read(user=user, notification_id=pk)
    assert selectors.unread_count(user=user) == 1
    assert services.notifications_mark_all_read(user=user) == 1
    assert selectors.unread_count(user=user) == 0


def test_follows(make_user):
    from organizations.models import Organization

    user = make_user("a1", "analyst")
    services.follow_create(user=user, region="Africa")
    services.follow_create(user=user, region="Africa")  # once
    au = Organization.objects.get(acronym="AU")
    services.follow_create(user=user, organization=au)
    assert user.follows.count() == 2
    with pytest.raises(ValidationError):
        services.follow_create(user=user, region="Atlantis")
    with pytest.raises(ValidationError):
        services.follow_create(user=user, region="Africa", organization=au)
    services.follow_delete(user=user, region="Africa")
    assert list(user.follows.values_list("organization__acronym", flat=True)) == ["AU"]
