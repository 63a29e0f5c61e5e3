"""Webhook reads."""

from django.db.models import Count

from webhooks.models import Webhook, WebhookDelivery


def webhook_list():
    return (
        Webhook.objects.select_related("owner").annotate(delivery_count=Count("deliveries")).order_by("created", "id")
    )


def webhook_deliveries(*, webhook: Webhook):
    return WebhookDelivery.objects.filter(webhook=webhook).order_by("-created", "-id")
