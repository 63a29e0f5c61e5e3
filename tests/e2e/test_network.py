"""The cooperation network in a real browser, under the app's Content-Security-Policy: the vendored
cytoscape draws the graph on canvases, with one node per partner of the table, and nothing is fetched
from another host."""

import datetime

import pytest

from assessments.services import assessment_run_execute, assessment_run_request
from tests.assessments.factories import make_engagement
from tests.e2e.conftest import screenshot
from tests.e2e.test_own_origin import outside, sign_in, strict_page, visit  # noqa: F401  (strict_page: a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

D = datetime.date


def test_the_network_draws_its_partners_from_the_app_alone(strict_page, live_server, make_user, reference_data):  # noqa: F811
    make_engagement(["GHA", "SEN", "CIV"], D(2024, 2, 1), D(2024, 2, 10))
    make_engagement(["GHA", "NGA"], D(2024, 8, 1), D(2024, 8, 5))
    make_engagement(["GHA", "FRA"], D(2024, 9, 1), D(2024, 9, 5))  # France: outside the region
    assessment_run_execute(run_id=assessment_run_request(periods=["2024-Q1", "2024-Q3"], enqueue=False).pk)
    make_user("analyst-e2e", "analyst")
    sign_in(strict_page, "analyst-e2e")

    url = "/assessments/network/?intermediate_region=Western+Africa&from=2024-Q1&to=2024-Q4"
    seen = visit(strict_page, url, ready="#network-graph[data-drawn]")
    graph = strict_page.locator("#network-graph")
    assert graph.get_attribute("data-drawn") == "4"  # GHA, SEN, CIV, NGA
    assert strict_page.locator("#partners tbody tr[data-node]").count() == 4
    assert strict_page.locator("#pairs tbody tr[data-edge]").count() == 4
    assert graph.locator("canvas").count() >= 1
    assert graph.bounding_box()["height"] > 300
    assert outside(seen["requests"], live_server.url) == []
    assert any("/static/vendor/cytoscape/" in request for request in seen["requests"])
    assert seen["violations"] == [] and seen["console"] == []
    screenshot(strict_page, "analyst-network")
