from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    """The events a webhook may subscribe to (DESIGN.md, second edition: names are a contract)."""

    ENGAGEMENT_CREATED = "engagement.created", _("Engagement created")
    ENGAGEMENT_UPDATED = "engagement.updated", _("Engagement updated")
    ENGAGEMENT_DELETED = "engagement.deleted", _("Engagement deleted")
    ENGAGEMENT_WITHDRAWN = "engagement.withdrawn", _("Engagement withdrawn (became restricted)")
    RUN_FINISHED = "run.finished", _("Assessment run finished")
    ALERT_RAISED = "alert.raised", _("Score alert raised")


# Sent on request to one webhook (page button, POST /api/v1/webhooks/{id}/test/); not an event to subscribe to.
TEST_EVENT = "webhook.test"
