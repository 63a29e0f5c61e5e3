"""The beat schedule is code: each notification entry names a real task, at the documented time."""

from celery.schedules import crontab
from django.conf import settings

from notifications import tasks


def test_beat_runs_the_reminders_digests_and_retries():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["notifications-report-reminders"]["task"] == tasks.create_report_reminders.name
    assert schedule["notifications-daily-digests"]["task"] == tasks.send_daily_digests.name
    assert schedule["notifications-retry-emails"]["task"] == tasks.retry_queued_emails.name
    assert schedule["notifications-daily-digests"]["schedule"] == crontab(hour=6, minute=0)
    assert schedule["notifications-retry-emails"]["schedule"] == crontab(minute="*/10")


def test_the_email_task_is_safe_to_redeliver():
    assert tasks.send_notification_email.acks_late is True
    assert tasks.send_notification_email.max_retries == 5
