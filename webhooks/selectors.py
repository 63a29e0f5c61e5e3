"""Webhook reads."""

from django.db.models import Count

from webhooks.models import Webhook, WebhookDelivery


def webhook_list():
    return (
        Webhook.objects.select_related("owner").annotate(delivery_count=Count("deliveries")).order_by("created", "id")
    )


def webhook_deliveries(*, webhook: Webhook):
    # The payload (up to a whole engagement) is not shown in the log: not read.
    return WebhookDelivery.objects.filter(webhook=webhook).defer("payload").order_by("-created", "-id")


def webhook_delivery_get(*, webhook: Webhook, delivery_id: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(webhook=webhook, pk=delivery_id).first()
