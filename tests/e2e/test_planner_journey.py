"""The planner's journey in a real browser: record an engagement with three participants, get a date wrong
and keep everything typed, save, heed the conflict warning, complete it, report on it, find it again."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from engagements.models import Engagement
from engagements.services import engagement_create
from tests.e2e.conftest import screenshot
from tests.engagements.factories import approve

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "Gulf of Guinea boarding drill"
OTHER_TITLE = "Obangame Express 2026"
START, END = datetime.date(2026, 3, 10), datetime.date(2026, 3, 20)


@pytest.fixture
def planner_with_a_busy_march(make_user, reference_data):
    planner = make_user("planner-e2e", "planner", first_name="Pat", last_name="Planner")
    # Already on record: Ghana hosts another exercise in the same days.
    other = engagement_create(
        created_by=planner,
        title=OTHER_TITLE,
        engagement_type="exercise",
        domain="maritime",
        start_date=datetime.date(2026, 3, 15),
        end_date=datetime.date(2026, 3, 25),
        host_country="GHA",
        participants=[{"partner": "GHA", "role": "host"}, {"partner": "USA", "role": "lead"}],
    ).engagement
    approve(other)  # approved by an approver of the unit (four eyes)
    return planner


def test_planner_records_completes_and_reports_an_engagement(page, login, planner_with_a_busy_march):
    login("planner-e2e")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Engagements").click()
    page.get_by_role("link", name="New engagement").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New engagement")

    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Type").select_option(label="Multilateral drill")
    page.get_by_label("Domain").select_option(label="Maritime")
    page.get_by_label("Start date").fill(START.isoformat())
    page.get_by_label("End date").fill("2026-03-05")  # before the start: a slip of the finger
    page.get_by_label("Host country").select_option("GHA")
    page.get_by_label("Location").fill("Sekondi naval base")

    rows = page.locator("tr.participant-row")
    expect(rows).to_have_count(3)  # the spare rows the server renders
    rows.nth(0).get_by_label("Partner").select_option("GHA")
    rows.nth(0).get_by_label("Role").select_option(label="Host")
    rows.nth(0).get_by_label("Personnel").fill("120")
    rows.nth(1).get_by_label("Partner").select_option("NGA")
    rows.nth(1).get_by_label("Personnel").fill("80")
    # One more row with the "add" button: it appears at the end with the focus on its partner.
    page.get_by_role("button", name="Add a participant").click()
    expect(rows).to_have_count(4)
    expect(rows.nth(3).get_by_label("Partner")).to_be_focused()
    rows.nth(3).get_by_label("Partner").select_option("TGO")
    rows.nth(3).get_by_label("Role").select_option(label="Observer")
    rows.nth(3).get_by_label("Personnel").fill("40")
    expect(page.get_by_text("Personnel in total: 240")).to_be_visible()

    page.get_by_role("button", name="Save", exact=True).click()

    # Refused, with the reason beside the end date and everything typed still there.
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    expect(page.get_by_text(f"The end date cannot be before the start date ({START.isoformat()}).")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value(TITLE)
    expect(page.get_by_label("Start date")).to_have_value(START.isoformat())
    expect(page.get_by_label("Host country")).to_have_value("GHA")
    expect(page.get_by_label("Location")).to_have_value("Sekondi naval base")
    kept = {
        rows.nth(i).get_by_label("Partner").input_value(): rows.nth(i).get_by_label("Personnel").input_value()
        for i in range(rows.count())
    }
    kept.pop("", None)  # the spare row left empty
    assert kept == {"GHA": "120", "NGA": "80", "TGO": "40"}
    assert not Engagement.objects.filter(title=TITLE).exists()
    screenshot(page, "planner-1-end-date-refused")

    page.get_by_label("End date").fill(END.isoformat())
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    engagement = Engagement.objects.get(title=TITLE)
    expect(page.get_by_role("status")).to_contain_text(f"Engagement {engagement.reference} saved.")
    conflicts = page.get_by_role("region", name="Deconfliction findings")
    expect(conflicts).to_contain_text(OTHER_TITLE)
    expect(conflicts).to_contain_text("Ghana")
    participants = page.locator("section", has=page.get_by_role("heading", name="Participants", exact=True))
    expect(participants).to_contain_text("3 partners")
    expect(participants).to_contain_text("240")
    screenshot(page, "planner-2-saved-with-conflict-warning")

    page.get_by_role("button", name="Completed").click()
    expect(page.get_by_role("status")).to_contain_text("Status changed to Completed.")
    expect(page.get_by_role("button", name="Completed")).to_have_count(0)  # no move back from completed

    page.get_by_role("link", name="Write after-action report").click()
    page.get_by_label("Summary").fill("Boarding teams from three navies worked from one plan.")
    page.get_by_role("group", name="Interoperability").get_by_role("radio", name="4").check()
    page.get_by_role("group", name="Capacity").get_by_role("radio", name="3").check()
    page.get_by_role("group", name="Trust").get_by_role("radio", name="5").check()
    page.get_by_label("Lessons learned").fill("Agree radio procedures before sailing.")
    page.get_by_role("button", name="Submit report").click()
    expect(page.get_by_role("status")).to_contain_text("After-action report saved.")
    report = page.locator("#after-action")
    expect(report).to_contain_text("Boarding teams from three navies worked from one plan.")
    expect(report).to_contain_text("Agree radio procedures before sailing.")
    engagement.refresh_from_db()
    assert engagement.status == "completed"
    assert (engagement.after_action.interoperability_rating, engagement.after_action.trust_rating) == (4, 5)
    screenshot(page, "planner-3-completed-with-report")

    # The filtered list: completed engagements with Togo, chosen in the filter bar, kept in the URL.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Engagements").click()
    page.locator("summary", has_text="Status").click()
    page.get_by_role("checkbox", name="Completed").check()
    page.get_by_label("Partner").select_option("TGO")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(lambda url: "status=completed" in url and "partner=TGO" in url)
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    expect(page.get_by_role("link", name=OTHER_TITLE)).to_have_count(0)
    expect(page.get_by_text("1 engagement", exact=False).first).to_be_visible()
    filtered_url = page.url
    screenshot(page, "planner-4-filtered-list")
    page.goto("/engagements/")
    expect(page.get_by_role("link", name=OTHER_TITLE)).to_be_visible()
    page.goto(filtered_url)  # the link to this view shows the same rows
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    expect(page.get_by_role("link", name=OTHER_TITLE)).to_have_count(0)

    # The calendar of March 2026: one bar per week row it covers (Tue 10 to Sun 15, Mon 16 to Fri 20), and the
    # timeline.
    page.get_by_role("link", name="Calendar", exact=True).first.click()
    expect(page.get_by_role("heading", name="Engagement calendar")).to_be_visible()
    page.goto(f"/engagements/calendar/?month={START:%Y-%m}")
    expect(page.get_by_role("heading", name="March 2026", exact=True)).to_be_visible()
    days = page.locator(".cal-month").get_by_role("link", name=TITLE)
    expect(days).to_have_count(2)
    # The status and the dates are read out, not left to colour and position.
    expect(days.first).to_have_accessible_name(
        re.compile(rf"^{TITLE}\s*, .*10 March 2026 .* 20 March 2026, .*Completed$")
    )
    screenshot(page, "planner-5-calendar")
    page.get_by_role("link", name="Timeline", exact=True).click()
    expect(page.get_by_role("table", name="Engagements on a timeline").get_by_role("link", name=TITLE)).to_be_visible()
    page.goto(f"/engagements/calendar/?month={START:%Y-%m}")
    days.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    assert page.js_errors == []
