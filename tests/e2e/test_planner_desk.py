"""A planner's daily work in a real browser: cancelling asks for confirmation and a reason, and an admin
reopens; a status its dates refuse shows why; deconfliction findings ranked, one dismissed with a note; the
import check lists every row before the commit and the commit lands on the batch; a styled 404 in production.
"""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from engagements.models import Engagement, FindingDismissal, ImportBatch
from engagements.services import engagement_create
from tests.e2e.conftest import screenshot
from tests.e2e.test_import_journey import write_csv

pytestmark = pytest.mark.django_db(transaction=True)


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def make(user, **overrides):
    values = {
        "title": "Sahel logistics course",
        "engagement_type": "training_exchange",
        "domain": "land",
        "status": "planned",
        "start_date": days(20),
        "end_date": days(30),
        "host_country": "SEN",
        "participants": [{"partner": "SEN", "role": "host"}, {"partner": "GHA", "role": "trainee"}],
    }
    values.update(overrides)
    return engagement_create(created_by=user, **values).engagement


@pytest.fixture
def people(make_user, reference_data):
    return {
        "planner": make_user("planner-desk", "planner"),
        "admin": make_user("admin-desk", "admin", is_staff=True),
    }


def switch_user(page, login, username):
    page.context.clear_cookies()
    login(username)


def test_cancel_asks_for_a_reason_and_an_admin_reopens(page, login, people):
    engagement = make(people["planner"])
    login("planner-desk")
    page.goto(f"/engagements/{engagement.pk}/")
    page.get_by_role("link", name="Cancelled").click()
    # Not one click: a confirmation page that asks why.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cancel “Sahel logistics course”?")
    page.get_by_role("button", name="Cancel the engagement").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    engagement.refresh_from_db()
    assert engagement.status == "planned"
    page.get_by_label("Reason").fill("Host postponed: elections")
    page.get_by_role("button", name="Cancel the engagement").click()
    expect(page.get_by_role("status")).to_contain_text("Status changed to Cancelled.")
    expect(page.locator("main")).to_contain_text("Host postponed: elections")  # the reason, in the history
    engagement.refresh_from_db()
    assert engagement.status == "cancelled"
    # A planner may not reopen: no move is offered.
    expect(page.get_by_role("link", name="Reopen as Planned")).to_have_count(0)

    switch_user(page, login, "admin-desk")
    page.goto(f"/engagements/{engagement.pk}/")
    page.get_by_role("link", name="Reopen as Planned").click()
    page.get_by_label("Reason").fill("Elections moved; course back on")
    page.get_by_role("button", name="Reopen").click()
    expect(page.get_by_role("status")).to_contain_text("Status changed to Planned.")
    expect(page.locator("main")).to_contain_text("Elections moved; course back on")
    engagement.refresh_from_db()
    assert engagement.status == "planned"


def test_a_status_its_dates_refuse_is_explained(page, login, people):
    engagement = make(people["planner"], title="Started yesterday", start_date=days(-1), end_date=days(5))
    login("planner-desk")
    page.goto(f"/engagements/{engagement.pk}/edit/")
    # In progress is offered (it started yesterday); moving the start into next month at the same time is not.
    page.get_by_label("Status").select_option("in_progress")
    later = days(40)
    page.get_by_label("Start date").fill(later.isoformat())
    page.get_by_label("End date").fill(days(45).isoformat())
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    expect(page.get_by_text(f"It cannot be in progress before it starts ({later.isoformat()}).")).to_be_visible()
    engagement.refresh_from_db()
    assert (engagement.status, engagement.start_date) == ("planned", days(-1))


def test_findings_are_ranked_and_one_is_dismissed_with_a_note(page, login, people):
    planner = people["planner"]
    make(
        planner,
        title="UN rotation",
        engagement_type="peacekeeping",
        host_country="MLI",
        start_date=days(-100),
        end_date=days(120),
        participants=[{"partner": "GHA"}],
    )
    make(planner, title="Dakar medical seminar", start_date=days(22), end_date=days(24), participants=[])
    make(
        planner,
        title="Accra staff talks",
        host_country="GHA",
        start_date=days(25),
        end_date=days(26),
        participants=[{"partner": "GHA"}],
    )
    mine = make(planner, title="Sahel logistics course")
    login("planner-desk")
    page.goto(f"/engagements/{mine.pk}/")
    findings = page.get_by_role("region", name="Deconfliction findings")
    items = findings.locator("ol.findings-list > li")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_contain_text("Dakar medical seminar")  # same host, same dates
    expect(items.nth(1)).to_contain_text("Accra staff talks")  # a partner busy elsewhere
    expect(items.nth(2)).to_contain_text("long mission")  # the rotation, once, last
    screenshot(page, "desk-findings")
    items.nth(0).get_by_text("Dismiss…").click()
    items.nth(0).get_by_label("Why it is not a concern").fill("Different venues in Dakar, agreed with the host")
    items.nth(0).get_by_role("button", name="Dismiss finding").click()
    expect(page.get_by_role("status")).to_contain_text("Finding dismissed.")
    expect(page.locator("ol.findings-list > li")).to_have_count(2)
    page.get_by_text("1 dismissed finding").click()
    expect(page.locator(".dismissed-findings")).to_contain_text("Different venues in Dakar, agreed with the host")
    assert FindingDismissal.objects.get().dismissed_by == planner


def test_the_availability_check_needs_only_dates_and_countries(page, login, people):
    make(people["planner"], title="Nairobi staff course", host_country="KEN", participants=[{"partner": "KEN"}])
    login("planner-desk")
    page.goto("/engagements/new/")
    page.get_by_label("Start date").fill(days(21).isoformat())
    page.get_by_label("End date").fill(days(23).isoformat())
    page.locator("tr.participant-row").nth(0).get_by_label("Partner").select_option("KEN")
    page.get_by_role("button", name="Check for conflicts").click()
    check = page.locator("#conflict-check")
    expect(check).to_contain_text("Nairobi staff course")
    expect(page.get_by_text("Nothing was saved.")).to_have_count(0)  # no title, type or domain needed


ROWS = [
    {
        "title": "Coastal radar workshop",
        "engagement_type": "conference",
        "domain": "maritime",
        "status": "planned",
        "start_date": "",
        "end_date": "",
        "host_country": "SEN",
        "participants": "SEN:host:12;CIV:participant:6",
    },
    {
        "title": "Lake Chad medical exchange",
        "engagement_type": "humanitarian_assistance",
        "domain": "joint",
        "status": "planned",  # a planner's new engagement starts planned (approval is four-eyes)
        "start_date": "",
        "end_date": "",
        "host_country": "TCD",
        "participants": "TCD:host:30;CMR:participant:20",
    },
]


def test_the_import_check_lists_rows_then_lands_on_the_batch(page, login, people, tmp_path):
    from engagements import exchange

    make(people["planner"])  # in Senegal on the workshop's dates: a warning in the preview
    rows = [dict(row) for row in ROWS]
    rows[0].update(start_date=days(21).isoformat(), end_date=days(22).isoformat())
    rows[1].update(start_date=days(60).isoformat(), end_date=days(64).isoformat())
    path = write_csv(
        tmp_path / "spring-plan.csv", exchange.COLUMNS, [{c: r.get(c, "") for c in exchange.COLUMNS} for r in rows]
    )
    login("planner-desk")
    page.goto("/engagements/import/")
    page.get_by_label("File (CSV or XLSX)").set_input_files(str(path))
    page.get_by_role("button", name="Check the file").click()
    preview = page.get_by_role("table", name="The rows as they will be written")
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview.locator("tbody tr").nth(0)).to_contain_text("Coastal radar workshop")
    expect(preview.locator("tbody tr").nth(0)).to_contain_text("Sahel logistics course")  # its warning
    expect(preview.locator("tbody tr").nth(1)).to_contain_text("Lake Chad medical exchange")
    assert not Engagement.objects.filter(title="Coastal radar workshop").exists()
    screenshot(page, "desk-import-preview")
    page.get_by_role("button", name="Import 2 engagements").click()
    batch = ImportBatch.objects.get()
    page.wait_for_url(f"**/engagements/?import_batch={batch.pk}")
    expect(page.locator("main")).to_contain_text("Coastal radar workshop")
    expect(page.locator("main")).to_contain_text("Lake Chad medical exchange")
    expect(page.locator("main")).not_to_contain_text("Sahel logistics course")
    assert (batch.file_name, batch.created_count) == ("spring-plan.csv", 2)


def test_a_styled_404_in_production(page, login, people, settings):
    settings.DEBUG = False
    login("planner-desk")
    response = page.goto("/engagements/999999/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("Page not found")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Engagements")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Traceback")
    expect(page.locator("body")).not_to_contain_text("DEBUG = True")
