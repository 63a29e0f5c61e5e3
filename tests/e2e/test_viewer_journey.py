"""The viewer's journey in a real browser: everything can be read, nothing can be changed, and a restricted
engagement shows up nowhere (list, search, calendar, series, its own address, the CSV export, the scores)."""

import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from assessments.models import Alert
from assessments.periods import Quarter
from assessments.services import scoring_model_active
from engagements.services import engagement_create, series_create
from partners.models import PartnerNation
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

OPEN_TITLE = "Harbour security seminar"
RESTRICTED_TITLE = "Silent Shield 2026"
# Links and buttons that change something; a viewer must see none of them on any page.
CONTROLS = [
    "New engagement",
    "Record a new engagement",
    "Edit",
    "Delete",
    "Import",
    "Write after-action report",
    "Edit after-action report",
    "Start a run",
    "Start run",
    "Acknowledge",
    "New objective",
]


@pytest.fixture
def open_and_restricted(make_user, reference_data):
    make_user("viewer-e2e", "viewer")
    planner = make_user("planner-e2e", "planner")
    series_create(name="Cutlass Express", user=planner)
    common = {
        "created_by": planner,
        "engagement_type": "exercise",
        "domain": "maritime",
        "status": "completed",
        "series": "cutlass-express",
    }
    visible = engagement_create(
        title=OPEN_TITLE,
        start_date=datetime.date(2026, 2, 2),
        end_date=datetime.date(2026, 2, 6),
        host_country="KEN",
        participants=[{"partner": "KEN", "role": "host"}, {"partner": "USA"}],
        **common,
    ).engagement
    hidden = engagement_create(
        title=RESTRICTED_TITLE,
        sensitivity="restricted",
        start_date=datetime.date(2026, 2, 3),
        end_date=datetime.date(2026, 2, 12),
        host_country="DJI",
        participants=[{"partner": "DJI", "role": "host"}, {"partner": "FRA", "role": "lead"}],
        location_name="Secret cove",
        **common,
    ).engagement
    Alert.objects.create(
        partner=PartnerNation.objects.get(iso3="KEN"),
        period=Quarter.current().start,
        scoring_model=scoring_model_active(),
        overall=40.0,
        previous_overall=55.0,
        delta_overall=-15.0,
    )
    return visible, hidden


def assert_read_only_and_nothing_restricted(page, hidden) -> None:
    for name in CONTROLS:
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_text("Move to:")).to_have_count(0)
    html = page.content()
    for secret in (RESTRICTED_TITLE, hidden.reference, "Secret cove", f"/engagements/{hidden.pk}/"):
        assert secret not in html, f"{secret!r} shown on {page.url}"


def test_viewer_reads_everything_changes_nothing_and_never_sees_a_restricted_engagement(
    page, login, open_and_restricted
):
    visible, hidden = open_and_restricted
    login("viewer-e2e")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    assert_read_only_and_nothing_restricted(page, hidden)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Engagements").click()
    expect(page.get_by_role("link", name=OPEN_TITLE)).to_be_visible()
    expect(page.get_by_text("1 engagement", exact=True)).to_be_visible()
    assert_read_only_and_nothing_restricted(page, hidden)
    screenshot(page, "viewer-1-list")

    # Searching by its title or its reference finds nothing either.
    for query in ("Silent Shield", hidden.reference):
        page.get_by_label("Search").fill(query)
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("No engagement matches these filters.")).to_be_visible()
        assert RESTRICTED_TITLE not in page.locator("table").inner_text()
    page.get_by_label("Search").fill("Harbour")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name=OPEN_TITLE)).to_be_visible()

    # The CSV export of the unfiltered list, downloaded as a person would.
    page.goto("/engagements/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert OPEN_TITLE in exported and visible.reference in exported
    assert RESTRICTED_TITLE not in exported and hidden.reference not in exported

    page.goto("/engagements/calendar/?month=2026-02")
    expect(page.get_by_role("link", name=OPEN_TITLE).first).to_be_visible()
    assert_read_only_and_nothing_restricted(page, hidden)

    page.get_by_role("link", name="Exercise series").click()
    series_row = page.get_by_role("row").filter(has_text="Cutlass Express")
    expect(series_row.get_by_role("cell").nth(2)).to_have_text("1")  # iterations the viewer may see
    series_row.get_by_role("link", name="Cutlass Express").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cutlass Express")
    expect(page.get_by_role("link", name=visible.reference)).to_be_visible()
    assert_read_only_and_nothing_restricted(page, hidden)

    page.get_by_role("link", name=visible.reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(OPEN_TITLE)
    assert_read_only_and_nothing_restricted(page, hidden)

    # Addresses typed by hand: the restricted engagement does not exist; changing anything is refused.
    response = page.goto(f"/engagements/{hidden.pk}/")
    assert response.status == 404
    assert RESTRICTED_TITLE not in page.content()
    screenshot(page, "viewer-2-restricted-engagement-not-found")
    assert page.goto(f"/engagements/{visible.pk}/edit/").status == 403
    assert page.goto("/engagements/new/").status == 403
    assert page.goto("/engagements/import/").status == 403

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assessments").click()
    alert_row = page.locator("#alerts").get_by_role("row").filter(has_text="Kenya")
    expect(alert_row).to_contain_text("not acknowledged yet")
    assert_read_only_and_nothing_restricted(page, hidden)
    page.get_by_role("link", name="Runs", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Assessment runs")
    assert_read_only_and_nothing_restricted(page, hidden)
    page.get_by_role("link", name="Objectives", exact=True).click()
    assert_read_only_and_nothing_restricted(page, hidden)

    # Djibouti's score counts the restricted exercise, but its explanation does not name it.
    page.goto("/assessments/partners/DJI/")
    # One line per component instead of its row: no dates, role, ratings or frameworks.
    expect(page.locator("#explanation")).to_contain_text("Activity: 1 restricted engagement, weight")
    explanation = page.locator("#explanation").inner_text()
    assert "2026-02-03" not in explanation and "2026-02-12" not in explanation
    assert_read_only_and_nothing_restricted(page, hidden)
    screenshot(page, "viewer-3-restricted-contribution-hidden")
    page.goto("/partners/DJI/")
    assert_read_only_and_nothing_restricted(page, hidden)
    assert page.js_errors == []
