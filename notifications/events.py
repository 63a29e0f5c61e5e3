"""Services that turn what the domain apps announce into notifications: after-action reports due and
overdue, approvals asked for and decided, score alerts in what a user follows.

Each event has a key, so hearing it twice (a task re-run, a signal sent again) makes nothing twice. A
restricted engagement is told only to users who may read it.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from engagements.choices import Sensitivity, Status
from engagements.models import Engagement, may_read_restricted
from engagements.selectors import AAR_OVERDUE_DAYS
from notifications.choices import NotificationKind
from notifications.models import Follow
from notifications.services import notifications_create

# "Due soon": the report's deadline (the end plus AAR_OVERDUE_DAYS) falls within this many days.
DUE_SOON_DAYS = 7


def _readers(engagement: Engagement, user_ids) -> list[int]:
    """The users among ``user_ids`` who may read ``engagement`` (restricted means invisible)."""
    if engagement.sensitivity != Sensitivity.RESTRICTED:
        return list(user_ids)
    users = get_user_model().objects.filter(pk__in=user_ids, is_active=True)
    return [user.pk for user in users if may_read_restricted(user)]


def _engagement_url(engagement_id: int) -> str:
    return reverse("engagements:detail", args=[engagement_id])


def _contact_id():
    """The engagement's point of contact, else its creator: who is asked for the report."""
    return Coalesce(F("point_of_contact_id"), F("created_by_id"))


def report_reminders_create(*, today: datetime.date | None = None) -> int:
    """Tell each report's owner when it is due within 7 days, and once more when it is overdue."""
    today = today or timezone.localdate()
    deadline_first = today - datetime.timedelta(days=AAR_OVERDUE_DAYS)
    missing = (
        Engagement.objects.live()
        .filter(after_action__isnull=True)
        .annotate(contact_id=_contact_id())
        .filter(contact_id__isnull=False)
    )
    due = missing.filter(
        status__in=[Status.IN_PROGRESS, Status.COMPLETED],
        end_date__gte=deadline_first,
        end_date__lte=deadline_first + datetime.timedelta(days=DUE_SOON_DAYS),
    )
    overdue = missing.filter(status=Status.COMPLETED, end_date__lt=deadline_first)
    made = 0
    for kind, rows, message in (
        (NotificationKind.REPORT_DUE, due, "report_due"),
        (NotificationKind.REPORT_OVERDUE, overdue, "report_overdue"),
    ):
        for engagement in rows.order_by("end_date", "pk"):
            deadline = engagement.end_date + datetime.timedelta(days=AAR_OVERDUE_DAYS)
            made += len(
                notifications_create(
                    kind=kind,
                    key=f"{kind}:{engagement.pk}:{engagement.end_date.isoformat()}",
                    recipient_ids=_readers(engagement, [engagement.contact_id]),
                    message=message,
                    params={"date": deadline.isoformat(), "reference": engagement.reference, "title": engagement.title},
                    url=reverse("engagements:after_action", args=[engagement.pk]),
                )
            )
    return made


def approval_requested_notify(*, engagement_id: int, requested_by_id: int | None, approver_ids) -> int:
    engagement = Engagement.objects.live().filter(pk=engagement_id).select_related("created_by").first()
    if engagement is None:
        return 0
    requester = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    who = (requester.get_full_name() or requester.get_username()) if requester else ""
    recipients = [pk for pk in approver_ids if pk != requested_by_id]
    return len(
        notifications_create(
            kind=NotificationKind.APPROVAL_REQUESTED,
            key=f"approval_requested:{engagement.pk}:{engagement.version}",
            recipient_ids=_readers(engagement, recipients),
            message="approval_requested" if who else "approval_requested_anonymously",
            params={"reference": engagement.reference, "title": engagement.title, "who": who},
            url=_engagement_url(engagement.pk),
        )
    )


def approval_decided_notify(
    *, engagement_id: int, decided_by_id: int | None, approved: bool, comment: str = "", recipient_ids=()
) -> int:
    engagement = Engagement.objects.live().filter(pk=engagement_id).first()
    if engagement is None:
        return 0
    return len(
        notifications_create(
            kind=NotificationKind.APPROVAL_DECIDED,
            key=f"approval_decided:{engagement.pk}:{engagement.version}:{'yes' if approved else 'no'}",
            recipient_ids=_readers(engagement, [pk for pk in recipient_ids if pk != decided_by_id]),
            message="approval_given" if approved else "approval_refused",
            params={"reference": engagement.reference, "title": engagement.title},
            body=comment,
            url=_engagement_url(engagement.pk),
        )
    )


def alerts_notify(*, alert_ids) -> int:
    """Tell the followers of each alerted partner's regions and organizations (members today)."""
    from assessments.models import Alert
    from organizations.selectors import organizations_of

    made = 0
    alerts = Alert.objects.filter(pk__in=list(alert_ids)).select_related("partner").order_by("period", "partner__iso3")
    for alert in alerts:
        partner = alert.partner
        organization_ids = organizations_of(partner=partner, on=timezone.localdate()).values_list(
            "organization_id", flat=True
        )
        levels = partner.region_levels
        followers = Follow.objects.filter(region__in=levels) | Follow.objects.filter(
            organization_id__in=organization_ids
        )
        recipients = set(followers.values_list("user_id", flat=True))
        made += len(
            notifications_create(
                kind=NotificationKind.ALERT_RAISED,
                key=f"alert:{alert.pk}",
                recipient_ids=recipients,
                message="alert_raised",
                params={
                    "partner": partner.name,
                    "delta": -float(alert.delta_overall),
                    "period": str(alert.period_label),
                    "before": float(alert.previous_overall),
                    "after": float(alert.overall),
                },
                url=reverse("assessments:partner", args=[partner.iso3]),
            )
        )
    return made


def alerts_of_run(*, run_id) -> list[int]:
    """The alerts a finished run raised (as the webhooks app finds them)."""
    from assessments.models import Alert, AssessmentRun

    run = AssessmentRun.objects.filter(pk=run_id).first()
    if run is None or run.started_at is None:
        return []
    alerts = Alert.objects.filter(scoring_model_id=run.scoring_model_id, raised_at__gte=run.started_at)
    if run.finished_at:
        alerts = alerts.filter(raised_at__lte=run.finished_at)
    return list(alerts.values_list("pk", flat=True))


__all__ = [
    "alerts_notify",
    "alerts_of_run",
    "approval_decided_notify",
    "approval_requested_notify",
    "report_reminders_create",
]
