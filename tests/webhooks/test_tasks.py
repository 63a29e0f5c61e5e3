"""The delivery task on a worker: a failure worth retrying comes back later, with a growing back-off."""

from __future__ import annotations

from unittest import mock

import pytest
from celery.exceptions import Retry

from webhooks.models import WebhookDelivery
from webhooks.services import webhook_create
from webhooks.tasks import deliver_webhook

pytestmark = pytest.mark.django_db


def test_a_worker_retries_a_5xx_later_with_a_growing_back_off(receiver, admin_user_role):
    hook = webhook_create(
        owner=admin_user_role, url=receiver.url, events=["run.finished"], secret="s3cret-for-the-receiver-only"
    )
    delivery = WebhookDelivery.objects.create(webhook=hook, event="run.finished", payload={"id": "x"})
    receiver.answers = [502, 502]
    countdowns = []
    # The broker is replaced: the retry is only recorded, as a worker would send it.
    with mock.patch.object(deliver_webhook, "apply_async") as send_later:
        for retries in (0, 1):
            deliver_webhook.push_request(
                id=f"try-{retries}", retries=retries, is_eager=False, called_directly=False, args=[delivery.pk]
            )
            try:
                with pytest.raises(Retry) as raised:
                    deliver_webhook.run(delivery.pk)
            finally:
                deliver_webhook.pop_request()
            countdowns.append(raised.value.when)
    assert send_later.call_count == 2
    assert 10 <= countdowns[0] <= 15 and 20 <= countdowns[1] <= 25
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status_code, delivery.delivered_at) == (2, 502, None)
