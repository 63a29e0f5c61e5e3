"""The analyst dashboards in a real browser: charts drawn, filters applied in place, "Recompute now"
followed to the end, no accessibility violations and no script errors."""

import datetime
from unittest import mock

import pytest
from playwright.sync_api import expect

from assessments.models import AssessmentRun
from assessments.services import assessment_run_execute, assessment_run_request
from tests.assessments.factories import make_engagement
from tests.e2e.conftest import axe_violations, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

D = datetime.date


@pytest.fixture
def scored(reference_data):
    make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30), ratings=(5, 5, 5))
    make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1))
    make_engagement(["FRA", "DEU", "ITA"], D(2024, 11, 1), D(2024, 11, 3), ratings=(4, 4, 4))
    run = assessment_run_request(periods=["2024-Q3", "2024-Q4"], enqueue=False)
    return assessment_run_execute(run_id=run.pk)


def _chart_drawn(page, canvas_id: str) -> bool:
    return page.evaluate(f"() => !!window.Chart.getChart(document.getElementById('{canvas_id}'))")


def test_analyst_filters_the_overview_in_place(page, login, make_user, scored):
    make_user("analyst-e2e", "analyst")
    login("analyst-e2e")
    assert page.url.endswith("/assessments/")  # analysts start on the overview
    expect(page.locator("h1")).to_have_text("Assessment overview, 2024-Q4")
    assert _chart_drawn(page, "trend-chart") and _chart_drawn(page, "activity-chart")
    expect(page.locator("svg.choropleth a path.score:not(.score-none)")).to_have_count(5)
    page.evaluate("() => { window.stillTheSamePage = true; }")

    page.get_by_label("Region", exact=True).select_option("Europe")
    page.wait_for_url("**region=Europe**")
    page.locator("#dashboard:not([aria-busy])").wait_for()
    assert page.evaluate("() => window.stillTheSamePage === true")  # updated in place, not reloaded
    expect(page.locator("svg.choropleth a path.score:not(.score-none)")).to_have_count(3)
    assert "Ghana" not in page.locator("#scores").inner_text()
    assert _chart_drawn(page, "trend-chart")

    page.go_back()
    page.wait_for_url(lambda url: "region=Europe" not in url)
    page.locator("svg.choropleth a path.score:not(.score-none)").nth(4).wait_for()
    expect(page.locator("svg.choropleth a path.score:not(.score-none)")).to_have_count(5)
    assert axe_violations(page) == []
    screenshot(page, "analyst-overview")

    page.locator('svg.choropleth a[href^="/assessments/partners/GHA/"]').click()
    page.wait_for_url("**/assessments/partners/GHA/**")
    assert page.locator("h1").inner_text().startswith("Ghana: assessment, 2024-Q4")
    assert page.js_errors == []


def test_recompute_now_follows_the_run_until_the_numbers_refresh(page, login, make_user, scored):
    from assessments.tasks import run_assessment

    make_user("analyst-e2e", "analyst")
    login("analyst-e2e")
    page.goto("/assessments/partners/GHA/")
    assert _chart_drawn(page, "partner-trend") and _chart_drawn(page, "partner-components")
    assert axe_violations(page) == []
    in_process = mock.patch.object(run_assessment, "delay", side_effect=lambda run_id: run_assessment.apply([run_id]))
    with in_process:
        page.get_by_role("button", name="Recompute now").click()
        # "Done: refreshing the numbers" shows only until the refreshed page replaces it: wait for what stays.
        expect(page.get_by_text("Run done: these are the new numbers.")).to_be_visible()
    run = AssessmentRun.objects.latest("created_at")
    assert run.status == "succeeded" and run.trigger == "manual" and run.periods == ["2024-Q4"]
    expect(page.locator(f'.freshness a[href="/assessments/runs/{run.pk}/"]')).to_be_visible()
    assert page.js_errors == []


def test_viewer_sees_scores_without_controls(page, login, make_user, scored):
    make_user("viewer-e2e", "viewer")
    login("viewer-e2e")
    page.goto("/assessments/")
    expect(page.get_by_role("button", name="Recompute now")).to_have_count(0)
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.locator("#alerts").get_by_text("Ghana")).to_be_visible()
    page.goto("/assessments/methodology/")
    expect(page.locator("h1")).to_have_text("How scores are computed: scoring model v1")
    assert axe_violations(page) == []
    assert page.js_errors == []
