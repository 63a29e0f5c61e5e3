"""Demo notifications for `make run`: the analyst follows Africa and ECOWAS and hears of the latest score
alerts there; planners hear of their after-action reports due and overdue. Through the same services as
the beat tasks and receivers, so the demo shows what production makes. Idempotent (keys)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from notifications import events, services
from notifications.models import Notification

LATEST_ALERTS = 15


def demo_notifications_ensure() -> int:
    from assessments.models import Alert
    from organizations.models import Organization

    analyst = get_user_model().objects.filter(username="analyst").first()
    if analyst is not None:
        services.follow_create(user=analyst, region="Africa")
        ecowas = Organization.objects.filter(acronym="ECOWAS").first()
        if ecowas is not None:
            services.follow_create(user=analyst, organization=ecowas)
    before = Notification.objects.count()
    latest = Alert.objects.order_by("-period", "delta_overall").values_list("pk", flat=True)[:LATEST_ALERTS]
    events.alerts_notify(alert_ids=list(latest))
    events.report_reminders_create()
    return Notification.objects.count() - before
