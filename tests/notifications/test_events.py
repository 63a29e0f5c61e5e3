"""The kinds of notification: reports due and overdue, approvals asked for and decided, alerts to followers."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from engagements.signals import approval_decided, approval_requested
from notifications import events, services
from notifications.choices import NotificationKind
from notifications.models import Notification
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 30)


def _kinds(user):
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", "key"))


def test_reports_due_and_overdue_go_to_the_point_of_contact_else_the_creator(make_user):
    creator, contact = make_user("creator", "planner"), make_user("contact", "planner")
    # Deadline = end + 30 days. Due within 7 days: ended 23 to 30 days ago; overdue: ended more than 30 days ago.
    due = make_engagement(
        ["SEN"],
        TODAY - datetime.timedelta(days=40),
        TODAY - datetime.timedelta(days=25),
        created_by=creator,
        point_of_contact=contact,
    )
    overdue = make_engagement(
        ["SEN"], TODAY - datetime.timedelta(days=60), TODAY - datetime.timedelta(days=31), created_by=creator
    )
    make_engagement(
        ["SEN"], TODAY - datetime.timedelta(days=20), TODAY - datetime.timedelta(days=10), created_by=creator
    )  # not yet
    make_engagement(
        ["SEN"],
        TODAY - datetime.timedelta(days=90),
        TODAY - datetime.timedelta(days=60),
        created_by=creator,
        ratings=(3, 3, 3),
    )  # written
    make_engagement(
        ["SEN"],
        TODAY - datetime.timedelta(days=90),
        TODAY - datetime.timedelta(days=60),
        created_by=creator,
        status="cancelled",
    )
    assert events.report_reminders_create(today=TODAY) == 2
    assert _kinds(contact) == [(NotificationKind.REPORT_DUE, f"report_due:{due.pk}:{due.end_date}")]
    assert _kinds(creator) == [(NotificationKind.REPORT_OVERDUE, f"report_overdue:{overdue.pk}:{overdue.end_date}")]
    # The daily task runs again (or twice the same day): nobody is told twice.
    assert events.report_reminders_create(today=TODAY) == 0
    assert events.report_reminders_create(today=TODAY + datetime.timedelta(days=1)) == 0


def test_a_restricted_engagement_is_never_told_to_a_viewer(make_user):
    viewer = make_user("v", "viewer")
    make_engagement(
        ["SEN"],
        TODAY - datetime.timedelta(days=60),
        TODAY - datetime.timedelta(days=31),
        created_by=viewer,
        sensitivity="restricted",
    )
    assert events.report_reminders_create(today=TODAY) == 0
    assert not Notification.objects.exists()


def test_approval_requested_reaches_the_approvers_once(make_user, django_capture_on_commit_callbacks):
    planner = make_user("p", "planner")
    approvers = [make_user("ap1", "approver", email="ap1@example.org"), make_user("ap2", "approver")]
    engagement = make_engagement(["SEN"], TODAY, TODAY, status="planned", created_by=planner)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):  # a signal heard twice
            approval_requested.send(
                sender=None,
                engagement_id=engagement.pk,
                requested_by_id=planner.pk,
                approver_ids=[a.pk for a in approvers],
            )
    for approver in approvers:
        assert _kinds(approver) == [
            (NotificationKind.APPROVAL_REQUESTED, f"approval_requested:{engagement.pk}:{engagement.version}")
        ]
    assert Notification.objects.get(recipient=approvers[0]).url == f"/engagements/{engagement.pk}/"
    assert [m.to for m in mail.outbox] == [["ap1@example.org"]]  # immediate by default, once


def test_approval_decided_reaches_the_planners(make_user):
    planner, approver = make_user("p", "planner"), make_user("ap", "approver")
    engagement = make_engagement(["SEN"], TODAY, TODAY, status="approved", created_by=planner)
    approval_decided.send(
        sender=None,
        engagement_id=engagement.pk,
        decided_by_id=approver.pk,
        approved=True,
        comment="Fine.",
        recipient_ids=[planner.pk, approver.pk],
    )
    row = Notification.objects.get()
    assert row.recipient == planner and row.kind == NotificationKind.APPROVAL_DECIDED
    assert row.title.startswith("Approved:") and row.body == "Fine."
    approval_decided.send(
        sender=None,
        engagement_id=engagement.pk,
        decided_by_id=approver.pk,
        approved=False,
        comment="No.",
        recipient_ids=[planner.pk],
    )
    assert Notification.objects.filter(title__startswith="Approval refused:").count() == 1


def test_alerts_reach_the_followers_of_the_region_or_organization(make_user):
    from assessments.models import Alert
    from assessments.services.runs import scoring_model_active
    from organizations.models import Organization
    from partners.models import PartnerNation

    by_region, by_organization, elsewhere = (
        make_user("a1", "analyst"),
        make_user("a2", "analyst"),
        make_user("a3", "analyst"),
    )
    senegal = PartnerNation.objects.get(iso3="SEN")
    services.follow_create(user=by_region, region=senegal.subregion)
    services.follow_create(user=by_organization, organization=Organization.objects.get(acronym="ECOWAS"))
    services.follow_create(user=elsewhere, region="Europe")
    alert = Alert.objects.create(
        partner=senegal,
        period=datetime.date(2026, 1, 1),
        scoring_model=scoring_model_active(),
        overall=40.0,
        previous_overall=55.0,
        delta_overall=-15.0,
    )
    assert events.alerts_notify(alert_ids=[alert.pk]) == 2
    assert events.alerts_notify(alert_ids=[alert.pk]) == 0
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"a1", "a2"}
    assert "15.0 points" in Notification.objects.first().title


def test_alerts_of_a_run_are_those_it_raised(make_user):
    from assessments.models import Alert, AssessmentRun
    from assessments.services.runs import scoring_model_active
    from partners.models import PartnerNation

    model = scoring_model_active()
    now = timezone.now()
    run = AssessmentRun.objects.create(
        scoring_model=model,
        periods=["2026-Q1"],
        status="succeeded",
        started_at=now - datetime.timedelta(minutes=1),
        finished_at=now + datetime.timedelta(minutes=1),
    )
    alert = Alert.objects.create(
        partner=PartnerNation.objects.get(iso3="SEN"),
        period=datetime.date(2026, 1, 1),
        scoring_model=model,
        overall=1,
        previous_overall=20,
        delta_overall=-19,
    )
    assert events.alerts_of_run(run_id=run.pk) == [alert.pk]
