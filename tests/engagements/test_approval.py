"""Four-eyes approval: only approvers of the engagement's units (and above) approve, never their own; the
decision records who, when and a comment; a change of dates, host or participants after approval sends the
engagement back to planned, with the reason in the history."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from engagements import selectors, services
from engagements.models import Approval
from engagements.signals import approval_decided, approval_requested
from tests.engagements.factories import UnitFactory
from tests.engagements.test_views import content

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def people(make_user, db):
    command = UnitFactory(code="CMD-A", name="Command A")
    UnitFactory(code="CMD-A-OFFICE", name="Office of A", parent=command)
    UnitFactory(code="CMD-B", name="Command B")
    planner = make_user("office-planner", "planner", units=["CMD-A-OFFICE"])
    return {
        "planner": planner,
        "contact": make_user("contact", "planner", units=["CMD-A-OFFICE"]),
        "office_approver": make_user("office-approver", "approver", units=["CMD-A-OFFICE"]),
        "command_approver": make_user("command-approver", "approver", units=["CMD-A"]),
        "other_approver": make_user("other-approver", "approver", units=["CMD-B"]),
        # A planner who is an approver too: may approve others' engagements, never their own.
        "planner_approver": make_user("both", "planner", units=["CMD-A-OFFICE"]),
    }


@pytest.fixture
def engagement(people, reference_data):
    from django.contrib.auth.models import Group

    people["planner_approver"].groups.add(Group.objects.get(name="approver"))
    return services.engagement_create(
        created_by=people["planner"],
        title="Flintlock 2025",
        engagement_type="exercise",
        domain="land",
        start_date=D(2025, 2, 10),
        end_date=D(2025, 2, 28),
        host_country="CIV",
        point_of_contact="contact",
        participants=[{"partner": "CIV", "role": "host", "personnel": 400}],
    ).engagement


def test_planners_no_longer_approve_by_a_status_move(engagement, people):
    with pytest.raises(ValidationError) as excinfo:
        services.engagement_change_status(engagement=engagement, status="approved", user=people["planner"])
    assert "approve action" in excinfo.value.message_dict["status"][0]


def test_an_approver_of_the_unit_approves_with_who_when_and_a_comment(engagement, people, client_for):
    services.engagement_approve(engagement=engagement, user=people["office_approver"], comment="Fits the plan.")
    engagement.refresh_from_db()
    assert engagement.status == "approved" and engagement.version == 2
    step = Approval.objects.get(engagement=engagement)
    assert (step.action, step.user, step.comment) == ("approved", people["office_approver"], "Fits the plan.")
    assert step.at is not None
    history = selectors.engagement_history(engagement=engagement)
    assert history[0]["reason"] == "Approved: Fits the plan."
    page = content(client_for(people["planner"]).get(f"/engagements/{engagement.pk}/"))
    assert "Fits the plan." in page and "office-approver" in page


def test_an_approver_of_a_unit_above_approves_too(engagement, people):
    services.engagement_approve(engagement=engagement, user=people["command_approver"])
    engagement.refresh_from_db()
    assert engagement.status == "approved"


@pytest.mark.parametrize(
    "who, message",
    [
        ("other_approver", "your units and the units below them"),
        ("planner", "Only approvers approve"),
        ("contact", "Only approvers approve"),
    ],
)
def test_others_may_not_approve(engagement, people, who, message):
    with pytest.raises(services.ApprovalRefused) as excinfo:
        services.engagement_approve(engagement=engagement, user=people[who])
    assert message in str(excinfo.value)
    engagement.refresh_from_db()
    assert engagement.status == "planned" and not engagement.approvals.exists()


def test_self_approval_is_refused_four_eyes(people, reference_data, engagement, api_for):
    own = services.engagement_create(
        created_by=people["planner_approver"],
        title="Own work",
        engagement_type="conference",
        domain="joint",
        start_date=D(2025, 5, 1),
        end_date=D(2025, 5, 2),
        host_country="GHA",
    ).engagement
    with pytest.raises(services.ApprovalRefused) as excinfo:
        services.engagement_approve(engagement=own, user=people["planner_approver"])
    assert "you created this engagement" in str(excinfo.value)
    response = api_for(people["planner_approver"]).post(f"/api/v1/engagements/{own.pk}/approve/", {}, format="json")
    assert response.status_code == 403 and "you created this engagement" in response.json()["detail"]
    own.refresh_from_db()
    assert own.status == "planned"
    # The same person approves a colleague's engagement.
    services.engagement_approve(engagement=engagement, user=people["planner_approver"])


def test_refusing_needs_a_comment_keeps_it_planned_and_is_recorded(
    engagement, people, django_capture_on_commit_callbacks
):
    with pytest.raises(ValidationError) as excinfo:
        services.engagement_refuse(engagement=engagement, user=people["office_approver"], comment=" ")
    assert "comment" in excinfo.value.message_dict
    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    approval_decided.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.approval_request(engagement=engagement, user=people["planner"])
            services.engagement_refuse(engagement=engagement, user=people["office_approver"], comment="Budget missing.")
    finally:
        approval_decided.disconnect(listener)
    engagement.refresh_from_db()
    assert engagement.status == "planned"
    assert list(engagement.approvals.values_list("action", "comment")) == [
        ("refused", "Budget missing."),
        ("requested", ""),
    ]
    assert selectors.engagement_history(engagement=engagement)[0]["reason"] == "Approval refused: Budget missing."
    assert received == [
        {
            "signal": approval_decided,
            "engagement_id": engagement.pk,
            "decided_by_id": people["office_approver"].pk,
            "approved": False,
            "comment": "Budget missing.",
            "recipient_ids": sorted([people["planner"].pk, people["contact"].pk]),
        }
    ]


def test_requesting_approval_notifies_the_approvers_of_the_unit_and_above(
    engagement, people, django_capture_on_commit_callbacks
):
    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    approval_requested.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.approval_request(engagement=engagement, user=people["planner"], comment="Ready.")
    finally:
        approval_requested.disconnect(listener)
    expected = sorted(people[k].pk for k in ("office_approver", "command_approver", "planner_approver"))
    assert received == [
        {
            "signal": approval_requested,
            "engagement_id": engagement.pk,
            "requested_by_id": people["planner"].pk,
            "approver_ids": expected,
        }
    ]
    # Not the other command's approver; not the requester. Only planned engagements are submitted.
    services.engagement_approve(engagement=engagement, user=people["office_approver"])
    with pytest.raises(ValidationError):
        services.approval_request(engagement=engagement, user=people["planner"])


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"start_date": D(2025, 2, 11)}, "start date"),
        ({"end_date": D(2025, 3, 1)}, "end date"),
        ({"host_country": "GHA"}, "host country"),
        ({"participants": [{"partner": "CIV", "role": "host", "personnel": 500}]}, "participants"),
    ],
)
def test_a_change_after_approval_resets_to_planned_with_the_reason(engagement, people, change, reason):
    services.engagement_approve(engagement=engagement, user=people["office_approver"])
    services.engagement_update(engagement=engagement, updated_by=people["planner"], **change)
    engagement.refresh_from_db()
    assert engagement.status == "planned"
    step = engagement.approvals.first()
    assert step.action == "reset" and reason in step.comment
    entry = next(e for e in selectors.engagement_history(engagement=engagement) if e["reason"])
    assert entry["reason"].startswith("Back to planned, approval needed again") and reason in entry["reason"]


def test_other_changes_keep_the_approval(engagement, people):
    services.engagement_approve(engagement=engagement, user=people["office_approver"])
    services.engagement_update(
        engagement=engagement,
        updated_by=people["planner"],
        title="Flintlock 2025 (renamed)",
        participants=[{"partner": "CIV", "role": "host", "personnel": 400}],  # the same participants
    )
    engagement.refresh_from_db()
    assert engagement.status == "approved"


def test_api_approval_actions(engagement, people, api_for):
    url = f"/api/v1/engagements/{engagement.pk}/"
    planner = api_for(people["planner"])
    assert planner.post(url + "approve/", {}, format="json").status_code == 403
    requested = planner.post(url + "request-approval/", {"comment": "Please"}, format="json")
    assert requested.status_code == 201 and requested.json()[0]["action"] == "requested"
    approver = api_for(people["office_approver"])
    refused = approver.post(url + "refuse/", {}, format="json")
    assert refused.status_code == 400 and "comment" in refused.json()["errors"]
    stale = approver.post(url + "approve/", {"version": 99}, format="json")
    assert stale.status_code == 409
    approved = approver.post(url + "approve/", {"comment": "Good", "version": 1}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = approver.post(url + "approve/", {}, format="json")
    assert again.status_code == 400 and "Only a planned engagement" in again.json()["errors"]["status"][0]
    steps = planner.get(url + "approvals/").json()
    assert [(s["action"], s["user"], s["comment"]) for s in steps] == [
        ("approved", "office-approver", "Good"),
        ("requested", "office-planner", "Please"),
    ]
    assert api_for(people["other_approver"]).post(url + "refuse/", {"comment": "x"}, format="json").status_code == 403


def test_pages_offer_request_then_approve(engagement, people, client_for):
    planner = client_for(people["planner"])
    page = content(planner.get(f"/engagements/{engagement.pk}/"))
    assert 'data-action="request-approval"' in page and 'data-action="approve"' not in page
    planner.post(f"/engagements/{engagement.pk}/request-approval/", {"comment": "Ready"})
    approver = client_for(people["office_approver"])
    page = content(approver.get(f"/engagements/{engagement.pk}/"))
    assert 'data-action="approve"' in page and 'data-action="refuse"' in page
    response = approver.post(f"/engagements/{engagement.pk}/approve/", {"comment": "Go", "version": "1"}, follow=True)
    assert "Engagement approved." in content(response)
    engagement.refresh_from_db()
    assert engagement.status == "approved"
    assert (
        client_for(people["other_approver"]).post(f"/engagements/{engagement.pk}/refuse/", {"comment": "x"}).status_code
        == 403
    )
