"""Outgoing webhooks: an administrator's subscription to events, and each delivery of one event to it."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Webhook(models.Model):
    """An address outside the tracker that is told, by a signed POST, when engagements change, a scoring
    run finishes or a score alert is raised. What it is told about restricted engagements depends on what
    its owner may read."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    # Kept in clear: it signs every delivery (an HMAC needs the secret itself). Never shown by the API.
    secret = models.CharField(_("secret"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook: what was sent, how often it was tried, the answer."""

    webhook = models.ForeignKey(Webhook, verbose_name=_("webhook"), on_delete=models.CASCADE, related_name="deliveries")
    # The event's id, the same for every webhook told of it and for every attempt: receivers drop repeats.
    event_id = models.UUIDField(_("event id"), default=uuid.uuid4)
    event = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("data"), default=dict)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event_id"], name="webhook_delivery_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.webhook_id}"
