from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    REPORT_DUE = "report_due", _("After-action report due within 7 days")
    REPORT_OVERDUE = "report_overdue", _("After-action report overdue")
    APPROVAL_REQUESTED = "approval_requested", _("Approval waiting for you")
    APPROVAL_DECIDED = "approval_decided", _("Approval given or refused")
    ALERT_RAISED = "alert_raised", _("Score alert in a region or organization you follow")


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", _("E-mail at once")
    DIGEST = "digest", _("Daily digest e-mail")
    NONE = "none", _("Inbox only, no e-mail")


# What a user gets until they choose: what asks them to act today comes at once, the rest once a day.
DEFAULT_DELIVERY = {
    NotificationKind.REPORT_DUE: Delivery.DIGEST,
    NotificationKind.REPORT_OVERDUE: Delivery.DIGEST,
    NotificationKind.APPROVAL_REQUESTED: Delivery.IMMEDIATE,
    NotificationKind.APPROVAL_DECIDED: Delivery.IMMEDIATE,
    NotificationKind.ALERT_RAISED: Delivery.DIGEST,
}
