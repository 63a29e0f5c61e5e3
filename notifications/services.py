"""Notification writes: making notifications (once per user and key), reading them, choices, follows, and
sending their e-mails (at once or in a daily digest) exactly once each.

E-mail is at-least-once towards the mail server only in one case: the server accepted a message and the
database then failed to record it. Every other path (a task run twice, a digest run twice, a worker that
died before sending) sends nothing twice: the rows to send are locked while sending and marked sent in
the same transaction, and a row marked sent is never picked again.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications import rules
from notifications.choices import Delivery, NotificationKind
from notifications.messages import language_of, stored_wording
from notifications.models import Follow, Notification, NotificationPreference, UserLanguage

logger = logging.getLogger(__name__)

# What a mail server that is down, refuses us or times out raises: the notification stays queued.
MAIL_ERRORS = (smtplib.SMTPException, OSError)
# Immediate e-mails older than this that are still queued are tried again by the sweep (the task that
# should have sent them failed, or the broker lost it).
RETRY_AFTER = datetime.timedelta(minutes=5)
# After this many failed attempts an e-mail is given up (the notification stays in the inbox).
MAX_EMAIL_ATTEMPTS = 20


class NotificationEmailFailed(Exception):
    """The mail server could not take the message now; the notification stays queued."""


# --- making notifications -------------------------------------------------------------------------------


def _deliveries(user_ids: Iterable[int], kind: str) -> dict[int, str]:
    chosen = dict(
        NotificationPreference.objects.filter(user_id__in=user_ids, kind=kind).values_list("user_id", "delivery")
    )
    default = rules.default_delivery(kind)
    return {user_id: chosen.get(user_id, default) for user_id in user_ids}


@transaction.atomic
def notifications_create(
    *,
    kind: str,
    key: str,
    recipient_ids: Iterable[int],
    message: str = "",
    params: dict | None = None,
    title: str = "",
    body: str = "",
    url: str = "",
) -> list[int]:
    """One notification per recipient for the event ``key``, unless they have it already. Returns the ids of
    those made now; their immediate e-mails are queued after commit.

    ``message`` and ``params`` say what it says (``notifications.messages``), worded when read in the
    reader's language; ``body`` is the text when the message has none of its own (an approver's comment).
    Without ``message``, ``title`` and ``body`` are shown as given."""
    params = dict(params or {})
    if message:
        title, body = stored_wording(message, params, body)
    recipient_ids = sorted({int(i) for i in recipient_ids if i})
    if not recipient_ids:
        return []
    User = get_user_model()
    active = set(User.objects.filter(pk__in=recipient_ids, is_active=True).values_list("pk", flat=True))
    have = set(Notification.objects.filter(key=key, recipient_id__in=active).values_list("recipient_id", flat=True))
    wanted = [user_id for user_id in recipient_ids if user_id in active and user_id not in have]
    deliveries = _deliveries(wanted, kind)
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=user_id,
                kind=kind,
                key=key[:200],
                title=title[:300],
                body=body,
                message=message,
                params=params,
                url=url[:500],
                delivery=deliveries[user_id],
            )
            for user_id in wanted
        ],
        ignore_conflicts=True,  # a concurrent maker of the same key: the unique constraint keeps one
    )
    made = list(Notification.objects.filter(key=key[:200], recipient_id__in=wanted).values_list("pk", "delivery"))
    immediate = [pk for pk, delivery in made if delivery == Delivery.IMMEDIATE]
    if immediate:
        from notifications.tasks import send_notification_email

        for pk in immediate:
            transaction.on_commit(lambda pk=pk: send_notification_email.delay(pk))
    return [pk for pk, _delivery in made]


def user_language_remember(*, user, language: str | None) -> None:
    """Remember the language ``user`` reads the site in (``messages.language_of``: their e-mails speak it)."""
    if not getattr(user, "pk", None) or language not in dict(settings.LANGUAGES):
        return
    if UserLanguage.objects.filter(user_id=user.pk, language=language).exists():
        return
    UserLanguage.objects.update_or_create(user_id=user.pk, defaults={"language": language})


# --- reading --------------------------------------------------------------------------------------------


def notification_mark_read(*, user, notification_id: int) -> Notification:
    notification = Notification.objects.filter(recipient=user, pk=notification_id).first()
    if notification is None:
        raise Notification.DoesNotExist
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


# --- choices and follows --------------------------------------------------------------------------------


@transaction.atomic
def preferences_set(*, user, deliveries: dict[str, str]) -> None:
    """Record the user's choice per kind; every problem is reported at once and nothing is saved then."""
    problems = {}
    for kind, delivery in deliveries.items():
        if kind not in NotificationKind.values:
            problems[kind] = [_("Unknown kind of notification.")]
        elif delivery not in Delivery.values:
            problems[kind] = [_("Choose immediate, digest or none.")]
    if problems:
        raise ValidationError(problems)
    for kind, delivery in deliveries.items():
        NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"delivery": delivery})


def follow_create(*, user, region: str = "", organization=None) -> Follow:
    problem = rules.follow_refusal(region=region, organization=organization)
    if problem:
        raise ValidationError(problem)
    if organization is not None:
        follow, _created = Follow.objects.get_or_create(user=user, organization=organization)
    else:
        follow, _created = Follow.objects.get_or_create(user=user, region=region)
    return follow


def follow_delete(*, user, region: str = "", organization=None) -> None:
    follows = Follow.objects.filter(user=user)
    if organization is not None:
        follows.filter(organization=organization).delete()
    elif region:
        follows.filter(region=region).delete()


# --- e-mail ---------------------------------------------------------------------------------------------


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path if path.startswith("/") else path


def _send(*, to: str, subject: str, body: str) -> None:
    EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to]).send()


def _item_text(notification: Notification) -> str:
    lines = [notification.shown_title]
    if notification.shown_body:
        lines.append(notification.shown_body)
    if notification.url:
        lines.append(absolute_url(notification.url))
    return "\n".join(lines)


def _footer() -> str:
    return _("Choose which e-mails you get: %(url)s") % {"url": absolute_url(reverse("notifications:settings"))}


def _record_attempt(rows: list[Notification], *, error: Exception | None) -> None:
    now = timezone.now()
    for row in rows:
        row.email_attempts += 1
        if error is None:
            row.emailed_at, row.email_error = now, ""
        else:
            row.email_error = f"{type(error).__name__}: {error}"[:1000]
    Notification.objects.bulk_update(rows, ["email_attempts", "emailed_at", "email_error"])


def _without_address(rows: list[Notification]) -> bool:
    """A user without an e-mail address keeps the inbox only: their rows leave the mail queue."""
    if rows and not rows[0].recipient.email:
        Notification.objects.filter(pk__in=[r.pk for r in rows]).update(delivery=Delivery.NONE)
        return True
    return False


def notification_email_send(*, notification_id: int) -> bool:
    """Send one notification's immediate e-mail unless it went already. True when sent now.

    Raises ``NotificationEmailFailed`` when the mail server failed; the attempt is recorded and the
    notification stays queued (the task retries with back-off, and the sweep later)."""
    failure = None
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, delivery=Delivery.IMMEDIATE, emailed_at__isnull=True)
        )
        if not rows or _without_address(rows):
            return False
        notification = rows[0]
        try:
            with translation.override(language_of(notification.recipient)):  # the recipient's language
                subject, body = notification.shown_title, _item_text(notification) + "\n\n-- \n" + _footer()
            _send(to=notification.recipient.email, subject=subject, body=body)
        except MAIL_ERRORS as exc:
            failure = exc
        _record_attempt(rows, error=failure)
    if failure is not None:
        raise NotificationEmailFailed(str(failure)) from failure
    return True


def digest_send(*, user_id: int) -> int:
    """Send one user the digest of every digest notification not e-mailed yet; returns how many it held.

    Run twice, the second run finds nothing to send: each notification is in one digest only."""
    failure = None
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(recipient_id=user_id, delivery=Delivery.DIGEST, emailed_at__isnull=True)
            .order_by("created", "id")
        )
        if not rows or _without_address(rows):
            return 0
        with translation.override(language_of(rows[0].recipient)):  # the recipient's language
            subject = _("Engagement Tracker: %(count)s notifications") % {"count": len(rows)}
            body = "\n\n".join(_item_text(row) for row in rows) + "\n\n-- \n" + _footer()
        try:
            _send(to=rows[0].recipient.email, subject=subject, body=body)
        except MAIL_ERRORS as exc:
            failure = exc
        _record_attempt(rows, error=failure)
    if failure is not None:
        raise NotificationEmailFailed(str(failure)) from failure
    return len(rows)


def _digest_users(extra: Q | None = None) -> list[int]:
    return list(
        Notification.objects.filter(extra or Q(), delivery=Delivery.DIGEST, emailed_at__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
        .order_by("recipient_id")
    )


def digests_send() -> dict[str, int]:
    """The daily digests of every user who has one waiting. A failed digest stays queued for the sweep."""
    sent = failed = 0
    for user_id in _digest_users():
        try:
            if digest_send(user_id=user_id):
                sent += 1
        except NotificationEmailFailed:
            logger.warning("Digest for user %s not sent; it stays queued", user_id)
            failed += 1
    return {"sent": sent, "failed": failed}


def queued_emails_retry(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Try again what the mail server refused before: immediate e-mails still queued after a while, and
    digests whose sending failed (a digest never tried waits for its daily run)."""
    now = now or timezone.now()
    sent = failed = 0
    waiting = Notification.objects.filter(
        delivery=Delivery.IMMEDIATE,
        emailed_at__isnull=True,
        created__lte=now - RETRY_AFTER,
        email_attempts__lt=MAX_EMAIL_ATTEMPTS,
    ).values_list("pk", flat=True)
    for pk in list(waiting[:500]):
        try:
            sent += notification_email_send(notification_id=pk)
        except NotificationEmailFailed:
            failed += 1
    for user_id in _digest_users(Q(email_attempts__gt=0, email_attempts__lt=MAX_EMAIL_ATTEMPTS)):
        try:
            sent += bool(digest_send(user_id=user_id))
        except NotificationEmailFailed:
            failed += 1
    return {"sent": sent, "failed": failed}
