from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from webhooks.choices import WebhookEvent
from webhooks.models import Webhook, WebhookDelivery


class WebhookSerializer(serializers.ModelSerializer):
    """Parses and shows a webhook; the rules (allowed hosts, event names, secret length) are the service's."""

    url = serializers.CharField(max_length=500, help_text=_("Where events are POSTed; its host must be allowed."))
    events = serializers.ListField(
        child=serializers.CharField(max_length=40),
        help_text=_("Any of: %(events)s.") % {"events": ", ".join(WebhookEvent.values)},
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        max_length=200,
        trim_whitespace=False,
        help_text=_("Signs every delivery (X-Engagement-Signature). Required on creation; never shown."),
    )
    owner = serializers.CharField(source="owner.username", read_only=True)
    delivery_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "secret", "is_active", "description", "owner", "created", "delivery_count"]
        read_only_fields = ["id", "owner", "created", "delivery_count"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "event", "status_code", "attempts", "delivered_at", "error", "created"]
        read_only_fields = fields
