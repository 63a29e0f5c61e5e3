"""The demo steps of `make run` for objectives and notifications: they make something, and only once."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from assessments.models import EngagementObjective, Objective
from core.services import demo_users_ensure
from notifications.models import Notification
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db


def test_demo_objectives_and_notifications(make_user, settings):
    from assessments.models import Alert
    from assessments.services.runs import scoring_model_active
    from partners.models import PartnerNation

    settings.DEBUG = True
    demo_users_ensure()
    today = timezone.localdate()
    for months in range(1, 30, 2):
        end = today - datetime.timedelta(days=30 * months)
        make_engagement(["SEN", "GHA"], end - datetime.timedelta(days=5), end)
    overdue = make_engagement(["SEN"], today - datetime.timedelta(days=50), today - datetime.timedelta(days=40))
    overdue.created_by = make_user("p-demo", "planner")
    overdue.save()
    Alert.objects.create(
        partner=PartnerNation.objects.get(iso3="SEN"),
        period=datetime.date(2026, 1, 1),
        scoring_model=scoring_model_active(),
        overall=30,
        previous_overall=50,
        delta_overall=-20,
    )
    call_command("demo_objectives", verbosity=0)
    call_command("demo_notifications", verbosity=0)
    assert Objective.objects.count() == 4  # two partners with engagements, two objectives each
    assert EngagementObjective.objects.filter(objective__partner__iso3="SEN").exists()
    kinds = set(Notification.objects.values_list("recipient__username", "kind"))
    assert ("analyst", "alert_raised") in kinds and ("p-demo", "report_overdue") in kinds
    links, notifications = EngagementObjective.objects.count(), Notification.objects.count()
    call_command("demo_objectives", verbosity=0)
    call_command("demo_notifications", verbosity=0)
    assert (EngagementObjective.objects.count(), Notification.objects.count()) == (links, notifications)
