"""Four-eyes in the browser: a planner asks for approval, an approver of the unit approves with a comment,
and the planner's page shows who approved, when and why."""

import datetime

import pytest
from playwright.sync_api import expect

from engagements.services import engagement_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def planned(make_user, reference_data):
    planner = make_user("planner-4eyes", "planner")
    make_user("approver-4eyes", "approver")  # the same (default) unit as the planner
    return engagement_create(
        created_by=planner,
        title="Harbour security seminar",
        engagement_type="conference",
        domain="maritime",
        start_date=datetime.date(2027, 4, 12),
        end_date=datetime.date(2027, 4, 14),
        host_country="GHA",
        participants=[{"partner": "GHA", "role": "host", "personnel": 20}],
    ).engagement


def test_planner_requests_and_approver_approves(page, login, planned):
    login("planner-4eyes")
    page.goto(f"/engagements/{planned.pk}/")
    approval = page.locator("#approval")
    expect(approval.get_by_role("button", name="Approve")).to_have_count(0)  # never their own
    approval.get_by_label("Comment").fill("Ready for review.")
    approval.get_by_role("button", name="Request approval").click()
    expect(page.get_by_text("Approval requested: the approvers of its unit are notified.")).to_be_visible()
    expect(approval.get_by_role("cell", name="Ready for review.")).to_be_visible()

    page.context.clear_cookies()
    login("approver-4eyes")
    page.goto(f"/engagements/{planned.pk}/")
    approval.get_by_label("Comment").fill("Fits the quarter's plan.")
    approval.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Engagement approved.")).to_be_visible()
    expect(page.locator(".badges")).to_contain_text("Approved")
    expect(approval.get_by_role("cell", name="Fits the quarter's plan.")).to_be_visible()
    expect(approval.get_by_role("cell", name="approver-4eyes")).to_be_visible()
    assert page.js_errors == []
