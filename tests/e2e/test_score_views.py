"""Maps and charts that tell the truth, checked in Chromium on the overview, a region page and a partner's
page with its printed brief: the "no score" class, the low-confidence hatch, small-state markers, a zoomed
region map, small multiples on one axis from 0, and every component label in the brief. Screenshots of
each go to artifacts/ for review."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from assessments.choices import Component
from assessments.services import assessment_run_execute, assessment_run_request
from tests.assessments.factories import make_engagement
from tests.e2e.conftest import axe_violations, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

D = datetime.date


@pytest.fixture
def scored(reference_data):
    """2024-Q4: Ghana and Senegal on two engagements (low confidence, hatched); Nigeria and Cape Verde on
    three with reports (medium confidence, not hatched); Cape Verde is too small to see on the world map."""
    make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30), ratings=(5, 5, 5))
    make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1))
    for month in (7, 9, 11):
        make_engagement(["NGA", "CPV"], D(2024, month, 1), D(2024, month, 5), ratings=(4, 3, 4))
    run = assessment_run_request(periods=["2024-Q3", "2024-Q4"], enqueue=False)
    return assessment_run_execute(run_id=run.pk)


def _open_as_analyst(page, login, make_user, url: str) -> None:
    make_user("analyst-e2e", "analyst")
    login("analyst-e2e")
    page.goto(url)


def _scale(page, canvas_id: str) -> dict:
    """The drawn chart's value axis (min, max) and category labels actually shown."""
    return page.evaluate(
        """(id) => {
            const chart = window.Chart.getChart(document.getElementById(id));
            const value = chart.options.indexAxis === 'y' ? chart.scales.x : chart.scales.y;
            const category = chart.options.indexAxis === 'y' ? chart.scales.y : chart.scales.x;
            return {min: value.min, max: value.max, labels: category.ticks.map(t => category.getLabelForValue(t.value))};
        }""",
        canvas_id,
    )


def test_overview_map_classes_hatch_and_markers(page, login, make_user, scored):
    _open_as_analyst(page, login, make_user, "/assessments/?period=2024-Q4")
    world = page.locator("svg.choropleth")
    assert world.get_attribute("viewBox") == "0.0 15.0 1000.0 400.0"

    # Every partner without a score is "no score", with a tooltip; it is not the "not in this view" land.
    assert world.locator("path.score-none").count() > 150
    niger = world.locator('path[data-iso3="NER"]')
    assert niger.get_attribute("class") == "land score score-none"
    assert niger.locator("title").text_content() == "Niger (NER): no score in 2024-Q4"
    no_score_fill = niger.evaluate("el => getComputedStyle(el).fill")
    land_fill = world.locator("path.land:not(.score)").first.evaluate("el => getComputedStyle(el).fill")
    assert no_score_fill != land_fill
    expect(page.locator(".map-legend")).to_contain_text("no score")
    expect(page.locator(".map-legend")).to_contain_text("not in this view")

    # Low confidence is hatched with the map's own pattern; medium confidence is not.
    hatched = world.locator("path.hatch")
    assert sorted(hatched.evaluate_all("els => els.map(e => e.dataset.iso3)")) == ["GHA", "SEN"]
    assert hatched.first.evaluate("el => getComputedStyle(el).fill") == 'url("#score-hatch-low")'
    assert world.locator("pattern#score-hatch-low").count() == 1
    assert "low confidence" in world.locator('path.score[data-iso3="GHA"] title').text_content()
    assert "medium confidence" in world.locator('path.score[data-iso3="NGA"] title').text_content()
    expect(page.locator(".map-legend")).to_contain_text("hatched: low confidence")

    # Cape Verde has no shape at this scale: a marker in its score's class, visible, with the same tooltip.
    cape_verde = world.locator('circle.score-marker[data-iso3="CPV"]')
    assert "score-none" not in cape_verde.get_attribute("class")
    box = cape_verde.bounding_box()
    assert box and box["width"] >= 4
    assert "(CPV): " in cape_verde.locator("title").text_content()
    assert world.locator('circle.score-marker[data-iso3="GMB"]').get_attribute("class").endswith("score-none")

    # The mean trend's axis starts at 0.
    assert _scale(page, "trend-chart")["min"] == 0
    assert axe_violations(page) == []
    screenshot(page, "overview-map-truth")
    assert page.js_errors == []


def test_region_map_is_zoomed_to_its_countries(page, login, make_user, scored):
    _open_as_analyst(page, login, make_user, "/assessments/regions/western-africa/?period=2024-Q4")
    left, top, width, height = map(float, page.locator("svg.choropleth").get_attribute("viewBox").split())
    assert width < 400 and width == pytest.approx(2 * height, abs=0.2)  # a region, not 1000 wide
    senegal = page.locator('svg.choropleth path.score[data-iso3="SEN"]').bounding_box()
    assert senegal["width"] > 20  # Senegal is a country on this map, not a dot
    # The group's components as small multiples on one axis from 0.
    scales = [_scale(page, f"group-component-{name}") for name in Component.values]
    assert {(s["min"], s["max"]) for s in scales} == {(0, scales[0]["max"])}
    screenshot(page, "region-map-zoomed")
    assert page.js_errors == []


def test_partner_page_multiples_and_print_brief(page, login, make_user, scored):
    _open_as_analyst(page, login, make_user, "/assessments/partners/GHA/?period=2024-Q4")
    assert _scale(page, "partner-trend") == {**_scale(page, "partner-trend"), "min": 0, "max": 100}
    scales = [_scale(page, f"partner-component-{name}") for name in Component.values]
    assert len(scales) == 7 and {(s["min"], s["max"]) for s in scales} == {(0, 100)}
    colours = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-multiples] canvas'))
            .map(c => window.Chart.getChart(c).data.datasets[0].borderColor)"""
    )
    assert len(set(colours)) == 7
    assert axe_violations(page) == []
    screenshot(page, "partner-multiples")

    # The printed brief: every component's label beside its bars, none skipped at the printed size.
    page.emulate_media(media="print")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_function("() => window.Chart.getChart(document.getElementById('partner-components')).height <= 210")
    labels = _scale(page, "partner-components")["labels"]
    assert labels == ["Overall", *[str(label) for label in Component.labels]]
    screenshot(page, "partner-print-brief")
    assert page.js_errors == []
