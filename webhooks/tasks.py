"""Celery tasks of the webhooks app: thin wrappers around webhooks.services."""

import random

from celery import shared_task
from django.conf import settings


@shared_task(
    bind=True,
    acks_late=True,  # safe: a delivered delivery is not sent again, and receivers drop repeats by event id
    ignore_result=True,
    max_retries=4,  # 5 attempts in all (services.MAX_ATTEMPTS)
    soft_time_limit=30,
    time_limit=60,
)
def deliver_webhook(self, delivery_id: int) -> None:
    """Send one webhook delivery; try again after 10, 20, 40, 80 s (``WEBHOOK_RETRY_SECONDS``, doubled each
    time, plus up to half of it at random) when it failed in a way that may pass (no connection, a timeout,
    a 5xx answer)."""
    from webhooks.services import WebhookDeliveryFailed, webhook_delivery_send

    try:
        webhook_delivery_send(delivery_id=delivery_id)
    except WebhookDeliveryFailed as exc:
        base = settings.WEBHOOK_RETRY_SECONDS
        countdown = base * 2**self.request.retries + random.uniform(0, base / 2)  # noqa: S311 (jitter, not a secret)
        if self.request.is_eager:
            # Embedded mode has no worker to come back later: the next attempt runs now, without back-off.
            self.retry(exc=exc, countdown=countdown, throw=False).sig.apply()
            return
        raise self.retry(exc=exc, countdown=countdown) from exc
