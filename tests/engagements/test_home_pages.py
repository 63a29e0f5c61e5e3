"""Home pages: the planner's "status needs an update" list; what a viewer can use (under way, upcoming,
recently recorded, scores and alerts), never a restricted engagement; in a fixed number of queries."""

import datetime

import pytest
from django.utils import timezone

from engagements import selectors
from tests.engagements.test_views import content, create, create_approved

pytestmark = pytest.mark.django_db


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def dated(planner, reference_data):
    return {
        "stale_planned": create(
            planner, title="Stale planned", status="planned", start_date=days(-20), end_date=days(-10)
        ),
        "stale_approved": create_approved(planner, title="Stale approved", start_date=days(-9), end_date=days(-2)),
        "running": create(planner, title="Running now", status="in_progress", start_date=days(-2), end_date=days(3)),
        "ends_today": create_approved(planner, title="Ends today", start_date=days(-1), end_date=days(0)),
        "upcoming": create_approved(planner, title="Coming soon", start_date=days(10), end_date=days(12)),
        "far": create(planner, title="Far future", status="planned", start_date=days(200), end_date=days(202)),
        "done": create(planner, title="Done properly", status="completed", start_date=days(-30), end_date=days(-25)),
        "secret": create(
            planner,
            title="Canary quiet visit",
            status="planned",
            sensitivity="restricted",
            start_date=days(5),
            end_date=days(6),
        ),
    }


def test_stale_status_lists_planned_or_approved_engagements_whose_dates_passed(dated, planner):
    stale = list(selectors.stale_status(user=planner))
    assert stale == [dated["stale_planned"], dated["stale_approved"]]


def test_the_planner_home_lists_engagements_needing_an_update(dated, planner, client_for):
    html = content(client_for(planner).get("/"))
    panel = html[html.index('id="needs-update"') : html.index("Overdue after-action reports")]
    assert dated["stale_planned"].reference in panel and dated["stale_approved"].reference in panel
    for name in ("running", "ends_today", "done", "upcoming"):
        assert dated[name].reference not in panel
    listed = content(client_for(planner).get("/engagements/", {"needs_update": "true"}))
    assert "Stale planned" in listed and "Stale approved" in listed and "Running now" not in listed
    assert client_for(planner).get("/engagements/", {"needs_update": "maybe"}).status_code == 400


def test_the_viewer_home_shows_what_a_viewer_can_use_and_nothing_restricted(
    dated, viewer, client_for, django_assert_max_num_queries
):
    client = client_for(viewer)
    client.get("/")
    with django_assert_max_num_queries(20):
        response = client.get("/")
    html = content(response)
    running = html[html.index('id="running-now"') : html.index('id="upcoming"')]
    assert "Running now" in running and "Ends today" in running and "Coming soon" not in running
    upcoming = html[html.index('id="upcoming"') : html.index('id="recently-recorded"')]
    assert "Coming soon" in upcoming and "Far future" not in upcoming
    assert "Canary" not in html
    assert 'id="scores-summary"' in html and "No open alert." in html
    assert 'id="needs-update"' not in html


def test_the_viewer_home_counts_leave_restricted_engagements_out(dated, viewer, analyst):
    panel = selectors.viewer_home(user=viewer)
    assert panel["counts"]["upcoming"] == 1  # "Coming soon"; the restricted one is not counted
    assert selectors.viewer_home(user=analyst)["counts"]["upcoming"] == 2


def test_the_viewer_home_summarises_open_alerts(viewer, client_for, reference_data):
    from assessments.models import Alert
    from assessments.services.runs import scoring_model_active
    from partners.models import PartnerNation

    Alert.objects.create(
        partner=PartnerNation.objects.get(iso3="SEN"),
        period=datetime.date(2025, 1, 1),
        scoring_model=scoring_model_active(),
        overall=40,
        previous_overall=55,
        delta_overall=-15,
    )
    html = content(client_for(viewer).get("/"))
    panel = html[html.index('id="scores-summary"') :]
    assert "Senegal" in panel and "55.0 → 40.0" in panel


def test_planners_and_admins_do_not_get_the_viewer_panels(dated, planner, client_for):
    html = content(client_for(planner).get("/"))
    assert 'id="running-now"' not in html and 'id="scores-summary"' not in html
