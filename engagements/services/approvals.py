"""Four-eyes approval: a planner asks for it, an approver of the engagement's unit (or a unit above it)
approves or refuses it with a comment. The rules are ``engagements.rules`` (``approval_refusal``,
``approval_request_refusal``); each step is an ``Approval`` row and, for a decision, a history record with the
comment as its reason. ``approval_requested`` and ``approval_decided`` are announced after commit (the
notifications listen; this app imports none of them).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from engagements import rules, selectors
from engagements.choices import Status
from engagements.models import Approval, Engagement
from engagements.services.changes import announce_engagement_event, engagement_changed
from engagements.services.engagements import _history_user, _locked, scope_check
from engagements.signals import approval_decided, approval_requested


class ApprovalRefused(PermissionDenied):
    """This user may not approve, refuse or ask for approval of this engagement now (the message says why)."""


def _comment(comment: str | None, *, required: bool) -> str:
    refusal = rules.comment_refusal(comment or "", required=required)
    if refusal:
        raise ValidationError({"comment": [refusal]})
    return (comment or "").strip()


@transaction.atomic
def approval_request(*, engagement: Engagement, user, comment: str = "") -> Approval:
    """Ask the approvers of the engagement's unit and of the units above it to approve it."""
    comment = _comment(comment, required=False)
    engagement = _locked(engagement, None)
    scope_check(user, engagement.owner_unit_id)  # its writers ask (403 otherwise)
    refusal = rules.approval_request_state_refusal(engagement)
    if refusal:
        raise ValidationError({"status": [refusal]})
    step = Approval.objects.create(engagement=engagement, action=Approval.Action.REQUESTED, user=user, comment=comment)
    approver_ids = selectors.approver_ids(engagement=engagement, leave_out=[user.pk])
    transaction.on_commit(
        lambda: approval_requested.send(
            sender=Engagement, engagement_id=engagement.pk, requested_by_id=user.pk, approver_ids=approver_ids
        )
    )
    return step


def _decide(*, engagement: Engagement, user, approved: bool, comment: str, expected_version) -> Approval:
    refusal = rules.approver_refusal(user, engagement)
    if refusal:
        raise ApprovalRefused(refusal)  # who they are: 403, whatever else they sent
    comment = _comment(comment, required=not approved)
    engagement = _locked(engagement, expected_version)
    refusal = rules.approval_state_refusal(engagement)
    if refusal:
        raise ValidationError({"status": [refusal]})  # the engagement's state: 400
    action = Approval.Action.APPROVED if approved else Approval.Action.REFUSED
    step = Approval.objects.create(engagement=engagement, action=action, user=user, comment=comment)
    if approved:
        engagement.status = Status.APPROVED
        engagement._change_reason = (_("Approved: %(comment)s") % {"comment": comment} if comment else _("Approved"))[
            : rules.REASON_MAX_LENGTH
        ]
    else:
        # Refused: it stays planned; the history records the refusal and its reason all the same.
        engagement._change_reason = (_("Approval refused: %(comment)s") % {"comment": comment})[
            : rules.REASON_MAX_LENGTH
        ]
    engagement.updated_by = user
    engagement.version += 1  # the row is locked (select_for_update), so this cannot race
    _history_user(engagement, user).save()
    if approved:
        engagement_changed(engagement)
        announce_engagement_event("updated", [engagement.pk], was_restricted=engagement.is_restricted)
    recipient_ids = selectors.approval_recipient_ids(engagement=engagement, leave_out=[user.pk])
    transaction.on_commit(
        lambda: approval_decided.send(
            sender=Engagement,
            engagement_id=engagement.pk,
            decided_by_id=user.pk,
            approved=approved,
            comment=comment,
            recipient_ids=recipient_ids,
        )
    )
    return step


@transaction.atomic
def engagement_approve(*, engagement: Engagement, user, comment: str = "", expected_version=None) -> Approval:
    """Approve a planned engagement (four-eyes: an approver of its units who did not create it)."""
    return _decide(engagement=engagement, user=user, approved=True, comment=comment, expected_version=expected_version)


@transaction.atomic
def engagement_refuse(*, engagement: Engagement, user, comment: str, expected_version=None) -> Approval:
    """Refuse approval, saying why: the engagement stays planned, the refusal is recorded."""
    return _decide(engagement=engagement, user=user, approved=False, comment=comment, expected_version=expected_version)
