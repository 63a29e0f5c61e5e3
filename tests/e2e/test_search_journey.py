"""A planner finds engagements the way people type: several words, no accents, a country's name; then saves
the filter and reuses it from the list (engagements/search.py, saved filters)."""

import datetime

import pytest
from playwright.sync_api import expect

from engagements.services import engagement_create
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def planner_with_two_flintlocks(make_user, reference_data):
    planner = make_user("planner-search", "planner")
    common = {"created_by": planner, "engagement_type": "exercise", "domain": "land", "status": "planned"}
    engagement_create(
        title="Flintlock 2027",
        start_date=datetime.date(2027, 2, 15),
        end_date=datetime.date(2027, 3, 5),
        host_country="CIV",
        location_name="Abidjan",
        participants=[{"partner": "CIV", "role": "host"}, {"partner": "GHA"}],
        **common,
    )
    engagement_create(
        title="Flintlock 2026",
        start_date=datetime.date(2026, 2, 15),
        end_date=datetime.date(2026, 3, 5),
        host_country="SEN",
        location_name="Thiès",
        participants=[{"partner": "SEN", "role": "host"}],
        **common,
    )
    return planner


def test_search_by_country_name_without_accents_then_save_and_reuse_the_filter(
    page, login, planner_with_two_flintlocks
):
    login("planner-search")
    page.goto("/engagements/")
    rows = page.locator("table.engagements tbody tr")
    expect(rows).to_have_count(2)

    # Words in any order, a prefix, no accent: "Côte d'Ivoire" is the host of one of them.
    page.get_by_role("searchbox").fill("ivoire cote flint")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Flintlock 2027")

    page.get_by_role("searchbox").fill("senegal thies")  # a country and a place, accents left out
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Flintlock 2026")

    # Save it under a name...
    page.locator("details.saved-filters summary").click()
    page.locator("form.save-filter").get_by_label("Name").fill("Senegal exercises")
    page.get_by_role("button", name="Save this filter").click()
    expect(page.get_by_text("Saved filter “Senegal exercises” saved.")).to_be_visible()
    screenshot(page, "search-saved-filter")

    # ... and reuse it from the unfiltered list.
    page.goto("/engagements/")
    expect(rows).to_have_count(2)
    page.locator("details.saved-filters").get_by_role("link", name="Senegal exercises").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Flintlock 2026")
    expect(page.get_by_role("searchbox")).to_have_value("senegal thies")
    assert page.js_errors == []
