"""E-mail through a real SMTP server (aiosmtpd, run by the test): a digest is delivered once and only once,
and a mail server that is down leaves it queued until the sweep delivers it."""

import socket

import pytest
from aiosmtpd.controller import Controller

from config.email import email_settings
from notifications import services
from notifications.choices import NotificationKind
from notifications.models import Notification

pytestmark = [pytest.mark.django_db, pytest.mark.requires_postgres]


class Inbox:
    """The SMTP server's handler: keeps every message it accepted."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """The SMTP server on one port, which the test can stop and start again."""

    def __init__(self, inbox: Inbox, port: int):
        self.inbox, self.port, self.controller = inbox, port, None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(settings):
    port = _free_port()
    inbox = Inbox()
    controller = Server(inbox, port)
    controller.start()
    for name, value in email_settings(f"smtp://tracker:secret@127.0.0.1:{port}?timeout=5", debug=False).items():
        setattr(settings, name, value)
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""  # aiosmtpd offers no AUTH without TLS
    yield inbox, controller
    controller.stop()


def _digest_items(user, count):
    for n in range(count):
        services.notifications_create(
            kind=NotificationKind.ALERT_RAISED,
            key=f"alert:{n}",
            recipient_ids=[user.pk],
            title=f"Score alert {n}",
            url="/assessments/partners/SEN/",
        )


def test_a_digest_is_delivered_once_and_only_once(smtp_server, make_user):
    inbox, _controller = smtp_server
    analyst = make_user("analyst-smtp", "analyst", email="analyst@example.org")
    _digest_items(analyst, 3)
    assert services.digests_send() == {"sent": 1, "failed": 0}
    assert services.digests_send() == {"sent": 0, "failed": 0}  # the beat task runs again: nothing more
    assert services.queued_emails_retry() == {"sent": 0, "failed": 0}
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message.rcpt_tos == ["analyst@example.org"]
    body = message.content.decode()
    assert "Subject: Engagement Tracker: 3 notifications" in body
    assert all(f"Score alert {n}" in body for n in range(3))
    assert "http://localhost:8000/assessments/partners/SEN/" in body
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0


def test_a_server_that_is_down_leaves_the_digest_queued_until_it_is_back(smtp_server, make_user):
    inbox, controller = smtp_server
    analyst = make_user("analyst-smtp", "analyst", email="analyst@example.org")
    _digest_items(analyst, 2)
    controller.stop()
    assert services.digests_send() == {"sent": 0, "failed": 1}
    assert set(Notification.objects.values_list("emailed_at", "email_attempts")) == {(None, 1)}
    controller.start()
    assert services.queued_emails_retry() == {"sent": 1, "failed": 0}
    assert services.queued_emails_retry() == {"sent": 0, "failed": 0}
    assert services.digests_send() == {"sent": 0, "failed": 0}
    assert len(inbox.messages) == 1
