"""How notifications hear of approvals and finished scoring runs (announced after commit; nobody imports us).

A failure here must never turn the sender's committed save into an error: it is logged, and the daily
report reminders do not depend on signals at all.
"""

import logging

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from assessments.signals import assessment_run_finished
from engagements.signals import approval_decided, approval_requested

logger = logging.getLogger(__name__)


@receiver(assessment_run_finished, dispatch_uid="notifications.run_finished")
def notify_alerts_of_run(sender, *, run_id, **kwargs):
    from notifications.events import alerts_notify, alerts_of_run

    try:
        alerts_notify(alert_ids=alerts_of_run(run_id=run_id))
    except Exception:
        logger.exception("Could not notify the followers of the alerts of run %s", run_id)


@receiver(approval_requested, dispatch_uid="notifications.approval_requested")
def notify_approval_requested(sender, *, engagement_id, requested_by_id=None, approver_ids=(), **kwargs):
    from notifications.events import approval_requested_notify

    try:
        approval_requested_notify(
            engagement_id=engagement_id, requested_by_id=requested_by_id, approver_ids=list(approver_ids)
        )
    except Exception:
        logger.exception("Could not notify the approvers of engagement %s", engagement_id)


@receiver(approval_decided, dispatch_uid="notifications.approval_decided")
def notify_approval_decided(
    sender, *, engagement_id, decided_by_id=None, approved=False, comment="", recipient_ids=(), **kwargs
):
    from notifications.events import approval_decided_notify

    try:
        approval_decided_notify(
            engagement_id=engagement_id,
            decided_by_id=decided_by_id,
            approved=approved,
            comment=comment or "",
            recipient_ids=list(recipient_ids),
        )
    except Exception:
        logger.exception("Could not notify the decision on engagement %s", engagement_id)


@receiver(user_logged_in, dispatch_uid="notifications.user_language")
def remember_user_language(sender, *, request, user, **kwargs):
    """The language the user signs in with: their e-mails are worded in it (notifications.messages)."""
    from notifications.services import user_language_remember

    try:
        user_language_remember(user=user, language=getattr(request, "LANGUAGE_CODE", None))
    except Exception:
        logger.exception("Could not remember the language of user %s", user.pk)
