"""Four eyes through the inbox, in a real browser: a planner asks for approval, the approver of the unit
finds it in the inbox (the count in the header), opens it and approves; the planner is told."""

import datetime

import pytest
from playwright.sync_api import expect

from core.models import Unit
from engagements.models import Engagement
from engagements.services import engagement_create
from notifications.models import Notification
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "Lake Chad river crossing drill"


@pytest.fixture
def unit_with_planner_and_approver(make_user, reference_data):
    unit = Unit.objects.create(code="CMD-AF-OPS", name="Africa command, operations")
    planner = make_user("planner-4eyes", "planner", email="planner@example.org")
    approver = make_user("approver-4eyes", "approver", email="approver@example.org")
    for user in (planner, approver):
        user.units.add(unit)
    engagement = engagement_create(
        created_by=planner,
        title=TITLE,
        engagement_type="training_exchange",
        domain="land",
        status="planned",
        start_date=datetime.date.today() + datetime.timedelta(days=40),
        end_date=datetime.date.today() + datetime.timedelta(days=45),
        host_country="TCD",
        owner_unit=unit.code,
        participants=[{"partner": "TCD", "role": "host"}, {"partner": "NER"}],
    ).engagement
    return planner, approver, engagement


def test_planner_requests_approval_and_the_approver_approves_from_the_inbox(
    page, login, unit_with_planner_and_approver
):
    planner, approver, engagement = unit_with_planner_and_approver
    login("planner-4eyes")
    page.goto(f"/engagements/{engagement.pk}/")
    page.locator("#approval").get_by_label("Comment").fill("Ready for the commander's review.")
    page.get_by_role("button", name="Request approval").click()
    expect(page.get_by_role("status")).to_contain_text("Approval requested")
    page.get_by_role("button", name="Log out").click()

    login("approver-4eyes")
    inbox_link = page.get_by_role("link", name="Inbox")
    expect(inbox_link).to_contain_text("1")  # the unread count in the header, on every page
    inbox_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    screenshot(page, "approval-1-inbox")
    page.get_by_role("button", name=f"Approval requested: {engagement.reference} {TITLE}").click()
    page.wait_for_url(f"**/engagements/{engagement.pk}/")
    page.locator("#approval").get_by_label("Comment").fill("Approved for the training calendar.")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Engagement approved")
    screenshot(page, "approval-2-approved")
    expect(page.get_by_role("link", name="Inbox")).not_to_contain_text("1")  # read when opened

    engagement.refresh_from_db()
    assert engagement.status == "approved"
    assert Notification.objects.get(recipient=approver).read_at is not None
    told = Notification.objects.get(recipient=planner, kind="approval_decided")
    assert (
        told.title == f"Approved: {engagement.reference} {TITLE}" and told.body == "Approved for the training calendar."
    )
    assert Engagement.objects.filter(pk=engagement.pk, status="approved").exists()
