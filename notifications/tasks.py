"""Celery tasks of notifications: thin wrappers around notifications.services and .events."""

import random

from celery import shared_task


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=5, soft_time_limit=60, time_limit=90)
def send_notification_email(self, notification_id: int) -> None:
    """Send one immediate e-mail; a mail server that fails is tried again after 30 s, 1, 2, 4, 8 minutes, then
    by the sweep (``retry_queued_emails``). Safe to run twice: a sent e-mail is never sent again."""
    from notifications.services import NotificationEmailFailed, notification_email_send

    try:
        notification_email_send(notification_id=notification_id)
    except NotificationEmailFailed as exc:
        if self.request.is_eager:
            return  # embedded mode has no worker to come back later: the sweep will
        countdown = 30 * 2**self.request.retries + random.uniform(0, 5)  # noqa: S311 (jitter, not a secret)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=900)
def send_daily_digests() -> None:
    """Beat, daily: each user's digest of what they chose to hear of once a day."""
    from notifications.services import digests_send

    digests_send()


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=900)
def retry_queued_emails() -> None:
    """Beat, every 10 minutes: e-mails the mail server refused before are tried again."""
    from notifications.services import queued_emails_retry

    queued_emails_retry()


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=600, time_limit=900)
def create_report_reminders() -> None:
    """Beat, daily: after-action reports due within 7 days, and overdue ones."""
    from notifications.events import report_reminders_create

    report_reminders_create()
