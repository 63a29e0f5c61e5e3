"""The analyst dashboards: overview, partner, organization and region pages, methodology, recompute.

Each page per role; filters change the numbers on a small fixture; the explanation names exactly the
contributing engagements; no page refers to another host; query counts stay the same on a 10x data set.
"""

from __future__ import annotations

import csv as csv_module
import datetime
import io
import re
from unittest import mock

import pytest
from django.db.models import Avg

from assessments.choices import COMPONENTS, RunStatus
from assessments.models import Alert, AssessmentRun, PartnerScore, ScoringModel
from assessments.services import assessment_run_execute, assessment_run_request
from assessments.templatetags.score_maps import score_bucket
from engagements.models import AfterActionReport, Engagement, Participation, PartnerChange
from engagements.services.shape import engagement_shape_refresh
from organizations.models import Membership
from tests.assessments.factories import IndicatorFactory, MeasurementFactory, ObjectiveFactory, make_engagement, partner
from tests.engagements.factories import default_unit

pytestmark = pytest.mark.django_db

D = datetime.date
ROLES = ["viewer", "analyst", "planner", "admin"]
CAN_RUN = {"viewer": False, "analyst": True, "planner": False, "admin": True}


def store(periods):
    return assessment_run_execute(run_id=assessment_run_request(periods=periods, enqueue=False).pk)


@pytest.fixture
def scored(reference_data):
    """Ghana and Senegal fall from 2024-Q3 to 2024-Q4 (alerts); France, Germany and Italy meet in
    November; Kenya and Tanzania hold a restricted exercise in October."""
    engagements = {
        "west_sep": make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30), ratings=(5, 5, 5)),
        "west_dec": make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1)),
        "europe": make_engagement(["FRA", "DEU", "ITA"], D(2024, 11, 1), D(2024, 11, 3)),
        "east": make_engagement(
            ["KEN", "TZA"], D(2024, 10, 5), D(2024, 10, 9), ratings=(4, 4, 4), sensitivity="restricted"
        ),
        "cancelled": make_engagement(["FRA", "GHA"], D(2024, 10, 1), D(2024, 10, 2), status="cancelled"),
    }
    store(["2024-Q3", "2024-Q4"])
    return engagements


def pages():
    return [
        "/assessments/",
        "/assessments/?period=2024-Q4&region=Europe",
        "/assessments/partners/GHA/",
        "/assessments/partners/KEN/?period=2024-Q4",
        "/assessments/organizations/ECOWAS/",
        "/assessments/regions/africa/",
        "/assessments/regions/sub-saharan-africa/?sort=trust",
        "/assessments/methodology/",
    ]


# --- roles ----------------------------------------------------------------------------------------------------


def test_anonymous_users_go_to_the_login_page(scored, client):
    run = AssessmentRun.objects.get()
    for url in [*pages(), f"/assessments/runs/{run.pk}/status/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    response = client.post("/assessments/recompute/", {"period": "2024-Q4"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert AssessmentRun.objects.count() == 1


@pytest.mark.parametrize("role", ROLES)
def test_every_page_per_role(scored, make_user, client_for, role):
    client = client_for(make_user(f"{role}-d", role))
    for url in pages():
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        if "methodology" not in url:
            assert "Scores computed" in html, url  # freshness on every score page
            assert ("Recompute now" in html) is CAN_RUN[role], url
    overview = client.get("/assessments/", {"period": "2024-Q4"}).content.decode()
    assert "Ghana" in overview and "Open alerts" in overview
    assert ("/acknowledge/" in overview) is CAN_RUN[role]


@pytest.mark.parametrize("role", ["viewer", "planner"])
def test_viewers_and_planners_cannot_recompute_or_acknowledge(scored, make_user, client_for, role):
    client = client_for(make_user(f"{role}-x", role))
    response = client.post("/assessments/recompute/", {"period": "2024-Q4"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 403 and AssessmentRun.objects.count() == 1
    alert = Alert.objects.get(partner__iso3="GHA")
    assert client.post(f"/assessments/alerts/{alert.pk}/acknowledge/", {"note": "seen"}).status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_analysts_start_on_the_overview(scored, analyst, viewer, client_for):
    response = client_for(analyst).get("/")
    assert response.status_code == 302 and response["Location"] == "/assessments/"
    assert client_for(analyst).get("/", {"home": "1"}).status_code == 200
    assert client_for(viewer).get("/").status_code == 200


# --- the overview -------------------------------------------------------------------------------------------


def test_overview_tiles_follow_the_filters(scored, analyst, viewer, client_for):
    client = client_for(analyst)
    tiles = client.get("/assessments/", {"period": "2024-Q4"}).context["tiles"]
    # Starting in 2024-Q4, cancelled left out: west_dec, europe, east; none started in Q3 but west_sep.
    assert tiles["engagements"] == 3 and tiles["engagements_change"] == 3 - 1
    assert tiles["partners_engaged"] == 7  # GHA SEN FRA DEU ITA KEN TZA
    assert tiles["open_alerts"] == 2  # Ghana and Senegal fell by more than 10
    expected = PartnerScore.objects.filter(period=D(2024, 10, 1)).aggregate(m=Avg("overall"))["m"]
    assert tiles["mean_overall"] == pytest.approx(expected)

    europe = client.get("/assessments/", {"period": "2024-Q4", "region": "Europe"})
    tiles = europe.context["tiles"]
    assert (tiles["engagements"], tiles["partners_engaged"], tiles["open_alerts"]) == (1, 3, 0)
    expected = PartnerScore.objects.filter(period=D(2024, 10, 1), partner__region="Europe").aggregate(m=Avg("overall"))
    assert tiles["mean_overall"] == pytest.approx(expected["m"])
    html = europe.content.decode()
    # Ghana is only a shape "not in this view" (every shape has a title): no link, no score class.
    assert f"{expected['m']:.2f}" in html and "Ghana: not in this view" in html
    assert 'data-iso3="GHA"' not in html and ">Ghana</a>" not in html

    ecowas = client.get("/assessments/", {"period": "2024-Q4", "organization": "ECOWAS"}).context
    assert (ecowas["tiles"]["engagements"], ecowas["tiles"]["partners_engaged"], ecowas["tiles"]["open_alerts"]) == (
        1,
        2,
        2,
    )
    assert {s.partner.iso3 for s in ecowas["quarter_scores"]} == {"GHA", "SEN"}
    assert {s.partner.iso3 for s in ecowas["movers"]["fallers"]} == {"GHA", "SEN"} and not ecowas["movers"]["risers"]

    eastern = client.get("/assessments/", {"period": "2024-Q4", "subregion": "Sub-Saharan Africa"}).context["tiles"]
    assert (eastern["engagements"], eastern["partners_engaged"]) == (2, 4)  # west_dec and the restricted east
    west = client.get("/assessments/", {"period": "2024-Q4", "intermediate_region": "Western Africa"})
    assert (west.context["tiles"]["engagements"], west.context["tiles"]["partners_engaged"]) == (1, 2)  # west_dec
    assert {s.partner.iso3 for s in west.context["quarter_scores"]} == {"GHA", "SEN"}
    assert "· Western Africa</span>" in west.content.decode()
    # Viewers never count restricted engagements.
    viewer_tiles = client_for(viewer).get("/assessments/", {"period": "2024-Q4"}).context["tiles"]
    assert (viewer_tiles["engagements"], viewer_tiles["partners_engaged"]) == (2, 5)


def test_pages_before_any_score_exists(reference_data, analyst, client_for):
    client = client_for(analyst)
    response = client.get("/assessments/")
    assert response.status_code == 200 and "No scores computed for this view yet" in response.content.decode()
    assert response.context["tiles"]["mean_overall"] is None and response.context["trend"] == []
    for url in ["/assessments/partners/KEN/", "/assessments/organizations/NATO/", "/assessments/regions/europe/"]:
        assert client.get(url).status_code == 200, url


def test_overview_bad_filters_are_explained_beside_the_field(scored, viewer, client_for):
    response = client_for(viewer).get(
        "/assessments/", {"period": "2024-Q9", "region": "Atlantis", "intermediate_region": "Northern Europe"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "write it as YYYY-Qn" in html and "Unknown region “Atlantis”" in html
    assert "Unknown intermediate region “Northern Europe”" in html  # a subregion, not an intermediate region
    assert 'aria-invalid="true"' in html


def test_overview_map_links_every_scored_country(scored, viewer, client_for):
    html = client_for(viewer).get("/assessments/", {"period": "2024-Q4"}).content.decode()
    ghana = PartnerScore.objects.get(partner__iso3="GHA", period=D(2024, 10, 1))
    assert '<a href="/assessments/partners/GHA/?period=2024-Q4"><path class="land score score-' in html
    confidence = {"low": "low confidence", "medium": "medium confidence", "high": "high confidence"}[ghana.confidence]
    assert f"<title>Ghana (GHA): {ghana.overall:.2f} in 2024-Q4, {confidence}</title>" in html
    assert 'class="map-legend"' in html and "80 to 100" in html
    # The table under the map lists the partners of the view without a score too (Niger among them).
    unscored = html[html.index('id="map-unscored"') :]
    assert "partners in this view have no score" in unscored and "Niger" in unscored[: unscored.index("</p>")]
    assert "Ghana" not in unscored[: unscored.index("</p>")]


def test_score_buckets():
    assert [score_bucket(v) for v in (0, 19.99, 20, 59.5, 80, 100)] == [0, 0, 1, 2, 4, 4]
    assert score_bucket(None) is None


def test_overview_trend_and_activity_series(scored, analyst, client_for):
    context = client_for(analyst).get("/assessments/", {"period": "2024-Q4"}).context
    assert [str(row["quarter"]) for row in context["trend"]] == ["2024-Q3", "2024-Q4"]
    assert context["trend_chart"]["labels"] == ["2024-Q3", "2024-Q4"]
    activity = context["activity"]
    assert activity["quarters"] == ["2024-Q3", "2024-Q4"] and activity["totals"] == [1, 3]
    assert [s["type"] for s in activity["series"]] == ["exercise"]


def test_in_place_update_returns_only_the_main_content(scored, viewer, client_for):
    response = client_for(viewer).get("/assessments/", {"period": "2024-Q3"}, HTTP_X_FRAGMENT="dashboard")
    html = response.content.decode()
    assert response.status_code == 200 and "X-Fragment" in response["Vary"]
    assert "<html" not in html and "Assessment overview, 2024-Q3" in html and "data-inplace-form" in html
    full = client_for(viewer).get("/assessments/", {"period": "2024-Q3"}).content.decode()
    assert '<div id="dashboard" data-dashboard>' in full and "js/dashboard.js" in full


def test_every_overview_table_exports_csv(scored, analyst, client_for):
    client = client_for(analyst)
    expected = {
        "scores": "partner,name,region,period,overall,activity",
        "trend": "period,partners_scored,overall,activity",
        "activity": "period,exercise,total",
        "alerts": "partner,name,period,previous_overall,overall,delta_overall",
        "movers": "direction,partner,name,period,overall,delta_overall",
        "regions": "region,period,partners_scored,overall,activity",
        "organizations": "organization,period,partners_scored,overall,activity",
    }
    for table, header in expected.items():
        response = client.get("/assessments/", {"period": "2024-Q4", "export": "csv", "table": table})
        assert response["Content-Type"].startswith("text/csv"), table
        lines = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()
        assert lines[0].startswith(header), table
    response = client.get("/assessments/", {"period": "2024-Q4", "organization": "ECOWAS", "export": "csv"})
    lines = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["GHA", "SEN"]
    response = client.get("/assessments/", {"period": "2024-Q4", "export": "csv", "table": "alerts"})
    rows = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == ["GHA", "SEN"]


def test_acknowledging_returns_to_the_same_view(scored, analyst, client_for):
    alert = Alert.objects.get(partner__iso3="SEN")
    client = client_for(analyst)
    back = "/assessments/?period=2024-Q4&organization=ECOWAS#alerts"
    response = client.post(f"/assessments/alerts/{alert.pk}/acknowledge/", {"note": "Known", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    response = client.post(
        f"/assessments/alerts/{Alert.objects.get(partner__iso3='GHA').pk}/acknowledge/",
        {"next": "https://elsewhere.example/"},
    )
    assert response["Location"].startswith("/assessments/?period=2024-Q4")
    assert client.get("/assessments/", {"period": "2024-Q4"}).context["tiles"]["open_alerts"] == 0


# --- the partner page ---------------------------------------------------------------------------------------


def test_explanation_lists_exactly_the_contributing_engagements(scored, analyst, client_for):
    response = client_for(analyst).get("/assessments/partners/GHA/", {"period": "2024-Q4"})
    listed = [e["id"] for e in response.context["explanation"]["engagements"]]
    assert sorted(listed) == sorted([scored["west_sep"].pk, scored["west_dec"].pk])  # not the cancelled one
    html = response.content.decode()
    linked = set(map(int, re.findall(r'href="/engagements/(\d+)/"', html)))
    assert linked == {scored["west_sep"].pk, scored["west_dec"].pk}
    assert "The 2 engagements that contributed" in html


def test_restricted_contributions_are_one_line_per_component_for_viewers(scored, viewer, client_for):
    east = scored["east"]
    response = client_for(viewer).get("/assessments/partners/KEN/", {"period": "2024-Q4"})
    html = response.content.decode()
    assert response.context["explanation"]["engagements"] == []  # it counts for the score, but is no row
    for leak in (east.reference, east.title, f"/engagements/{east.pk}/", "2024-10-05", "2024-10-09"):
        assert leak not in html, leak
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    weight = f"{0.5 ** (83 / 365):.2f}"  # it ended 83 days before the quarter's end
    assert f"Activity: 1 restricted engagement, weight {weight}" in text
    assert "The 1 engagement that contributed" in text  # counted, as in the stored score
    assert html.count('class="badge badge-restricted"') == 5  # activity, the 3 ratings, continuity; 2 partners
    csv = client_for(viewer).get(
        "/assessments/partners/KEN/", {"period": "2024-Q4", "export": "csv", "table": "engagements"}
    )
    text = b"".join(csv.streaming_content).decode() if csv.streaming else csv.content.decode()
    rows = list(csv_module.reader(io.StringIO(text)))[1:]
    assert len(rows) == 5 and rows[0][:2] == ["restricted", f"Activity: 1 restricted engagement, weight {weight}"]
    assert float(rows[0][7]) == round(0.5 ** (83 / 365), 4) and set(rows[0][2:7] + rows[0][8:]) == {""}
    for leak in (east.reference, east.title, "2024-10-05", "2024-10-09"):
        assert leak not in text, leak


def test_restricted_contributions_are_listed_for_analysts(scored, analyst, client_for):
    east = scored["east"]
    html = client_for(analyst).get("/assessments/partners/KEN/", {"period": "2024-Q4"}).content.decode()
    assert f'href="/engagements/{east.pk}/"' in html and "2024-10-05" in html
    assert "restricted engagement, weight" not in html
    csv = client_for(analyst).get(
        "/assessments/partners/KEN/", {"period": "2024-Q4", "export": "csv", "table": "engagements"}
    )
    rows = list(csv_module.reader(io.StringIO(b"".join(csv.streaming_content).decode())))[1:]
    assert [row[:3] for row in rows] == [[east.reference, east.title, "2024-10-05"]]


def test_partner_page_shows_trends_comparison_objectives_and_memberships(scored, viewer, client_for):
    objective = ObjectiveFactory(partner=partner("GHA"), title="Coastal patrols")
    indicator = IndicatorFactory(objective=objective, name="Patrol hours", baseline_value=0, target_value=200)
    MeasurementFactory(indicator=indicator, date=D(2024, 11, 1), value=50)
    MeasurementFactory(indicator=indicator, date=D(2025, 2, 1), value=150)  # after the quarter: not shown
    response = client_for(viewer).get("/assessments/partners/GHA/", {"period": "2024-Q4"})
    context, html = response.context, response.content.decode()
    assert context["trend_chart"]["labels"] == ["2024-Q3", "2024-Q4"] and len(context["trend_chart"]["datasets"]) == 1
    assert (context["trend_chart"]["zero"], context["trend_chart"]["max"]) == (True, 100)
    # The components as small multiples: one chart each, all on the same axis from 0 to the highest value
    # rounded up to ten (Ghana's components reach 100 in 2024-Q3, all-5 ratings).
    multiples = context["component_charts"]
    assert [m["name"] for m in multiples] == COMPONENTS
    assert {(m["chart"]["zero"], m["chart"]["max"]) for m in multiples} == {(True, 100)}
    colours = [m["chart"]["datasets"][0]["colour"] for m in multiples]
    assert len(set(colours)) == 7 and colours[0] != colours[COMPONENTS.index("continuity")]
    region_mean = PartnerScore.objects.filter(period=D(2024, 10, 1), partner__region="Africa").aggregate(
        m=Avg("overall")
    )["m"]
    overall = next(row for row in context["comparison"] if row["name"] == "overall")
    assert overall["region"] == pytest.approx(region_mean)
    assert overall["partner"] == pytest.approx(
        PartnerScore.objects.get(partner__iso3="GHA", period=D(2024, 10, 1)).overall
    )
    assert "Coastal patrols" in html and "Patrol hours" in html and "25%" in html
    assert [m.organization.acronym for m in context["memberships"]] == sorted(
        m.organization.acronym for m in context["memberships"]
    )
    assert "ECOWAS" in {m.organization.acronym for m in context["memberships"]}
    assert 'id="partner-trend-data" type="application/json"' in html


def test_partner_csv_exports(scored, analyst, client_for):
    client = client_for(analyst)
    for table, header in {
        "history": "partner,name,region,period,overall",
        "engagements": "reference,title,start_date,end_date,status,role,age_days,weight",
        "components": "component,partner,region_mean",
        "indicators": "objective,indicator,unit,baseline,target",
    }.items():
        response = client.get("/assessments/partners/GHA/", {"period": "2024-Q4", "export": "csv", "table": table})
        text = b"".join(response.streaming_content).decode().lstrip("\ufeff")
        assert text.startswith(header), table
    response = client.get("/assessments/partners/GHA/", {"period": "2024-Q4", "export": "csv", "table": "engagements"})
    rows = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == sorted(
        [scored["west_sep"].reference, scored["west_dec"].reference]
    )


def test_partner_page_prints_as_a_brief(scored, viewer, client_for):
    html = client_for(viewer).get("/assessments/partners/GHA/").content.decode()
    assert 'class="quarter-picker no-print"' in html and "data-print" in html
    from django.contrib.staticfiles import finders

    with open(finders.find("css/app.css"), encoding="utf-8") as stylesheet:
        css = stylesheet.read()
    print_rules = css[css.index("@media print") :]
    assert ".topbar" in print_rules and ".footer" in print_rules and ".no-print" in print_rules


# --- organizations and regions ------------------------------------------------------------------------------


def test_organization_page_compares_members(scored, viewer, client_for):
    client = client_for(viewer)
    response = client.get("/assessments/organizations/ecowas/", {"period": "2024-Q4", "sort": "partner"})
    context = response.context
    assert [s.partner.iso3 for s in context["scores"]] == ["GHA", "SEN"]
    members = Membership.objects.members_on(D(2024, 12, 31)).filter(organization__acronym="ECOWAS")
    assert {p.iso3 for p in context["members"]} == set(members.values_list("partner__iso3", flat=True))
    assert {"GHA", "SEN"} < {p.iso3 for p in context["members"]}
    means = PartnerScore.objects.filter(period=D(2024, 10, 1), partner__iso3__in=["GHA", "SEN"]).aggregate(
        m=Avg("trust")
    )
    assert context["means"]["trust"] == pytest.approx(means["m"])
    html = response.content.decode()
    unscored = sorted(set(members.values_list("partner__iso3", flat=True)) - {"GHA", "SEN"})
    assert unscored and all(f'score-none" data-iso3="{iso3}"' in html for iso3 in unscored)
    assert 'class="map choropleth map-zoomed"' in html
    by_trust = client.get("/assessments/organizations/ECOWAS/", {"period": "2024-Q4", "sort": "-trust"}).context
    trusts = [s.trust for s in by_trust["scores"]]
    assert trusts == sorted(trusts, reverse=True)
    assert [str(r["quarter"]) for r in context["trend"]] == ["2024-Q3", "2024-Q4"]
    assert client.get("/assessments/organizations/NOPE/").status_code == 404
    response = client.get(
        "/assessments/organizations/ECOWAS/", {"period": "2024-Q4", "export": "csv", "table": "trend"}
    )
    assert b"".join(response.streaming_content).decode().lstrip("\ufeff").startswith("period,partners_scored,overall")


def test_region_pages_by_slug(scored, viewer, client_for):
    client = client_for(viewer)
    europe = client.get("/assessments/regions/europe/", {"period": "2024-Q4"}).context
    assert {s.partner.iso3 for s in europe["scores"]} == {"FRA", "DEU", "ITA"}
    # Every level of UN M49 has a page: region, subregion and intermediate region (Western Africa).
    west = client.get("/assessments/regions/western-africa/", {"period": "2024-Q4"})
    assert west.status_code == 200 and "UN M49 intermediate region" in west.content.decode()
    assert {s.partner.iso3 for s in west.context["scores"]} == {"GHA", "SEN"}
    assert "intermediate_region=Western%20Africa" in west.content.decode()  # its overview link
    assert 'href="/partners/?intermediate_region=Western+Africa"' in west.content.decode()  # its countries
    sub = client.get("/assessments/regions/sub-saharan-africa/", {"period": "2024-Q4"}).context
    assert {s.partner.iso3 for s in sub["scores"]} == {"GHA", "SEN", "KEN", "TZA"}
    assert client.get("/assessments/regions/atlantis/").status_code == 404
    response = client.get("/assessments/regions/europe/", {"period": "junk"})
    assert response.status_code == 400 and "write it as YYYY-Qn" in response.content.decode()


# --- freshness and recompute --------------------------------------------------------------------------------


def test_freshness_says_when_changes_wait(scored, analyst, client_for):
    client = client_for(analyst)
    html = client.get("/assessments/partners/GHA/").content.decode()
    run = AssessmentRun.objects.get()
    assert f"/assessments/runs/{run.pk}/" in html and "scoring model v1" in html and "No changes are waiting" in html
    PartnerChange.objects.create(partner=partner("GHA"), first_day=D(2024, 12, 1), last_day=D(2024, 12, 31))
    html = client.get("/assessments/partners/GHA/").content.decode()
    assert "1 engagement change is waiting to be scored" in html
    assert "No changes are waiting" in client.get("/assessments/partners/FRA/").content.decode()


def test_waiting_changes_of_restricted_engagements_are_not_counted_for_viewers(scored, viewer, analyst, client_for):
    PartnerChange.objects.create(
        partner=partner("KEN"), engagement=scored["east"], first_day=D(2024, 10, 5), last_day=D(2024, 10, 9)
    )
    PartnerChange.objects.create(partner=partner("KEN"), first_day=D(2024, 12, 1), last_day=D(2024, 12, 31))
    for user, waiting in [(analyst, "2 engagement changes are waiting"), (viewer, "1 engagement change is waiting")]:
        for url in ("/assessments/partners/KEN/", "/assessments/", "/assessments/organizations/EAC/"):
            assert waiting in client_for(user).get(url).content.decode(), (user, url)


def test_recompute_now_starts_a_run_and_reports_progress(
    scored, analyst, client_for, django_capture_on_commit_callbacks
):
    from assessments.tasks import run_assessment

    PartnerChange.objects.create(partner=partner("GHA"), first_day=D(2024, 12, 1), last_day=D(2024, 12, 31))
    client = client_for(analyst)
    in_process = mock.patch.object(run_assessment, "delay", side_effect=lambda run_id: run_assessment.apply([run_id]))
    with in_process, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/assessments/recompute/", {"period": "2024-Q4", "partner": "GHA"}, HTTP_ACCEPT="application/json"
        )
    assert response.status_code == 202
    body = response.json()
    run = AssessmentRun.objects.get(pk=body["id"])
    assert run.requested_by == analyst and run.partner_ids == [partner("GHA").pk]
    assert run.periods[0] == "2024-Q4" and len(run.periods) > 1  # and the quarters the change affects
    status = client.get(body["status_url"]).json()
    assert status["status"] == RunStatus.SUCCEEDED and status["finished"] and status["partners_scored"] == 1
    assert not PartnerChange.objects.filter(processed_at__isnull=True).exists()


def test_recompute_without_javascript_leads_to_the_run_page(scored, analyst, client_for):
    with mock.patch("assessments.tasks.run_assessment.delay"):
        response = client_for(analyst).post("/assessments/recompute/", {"period": "2024-Q3", "next": "/assessments/"})
    run = AssessmentRun.objects.latest("created_at")
    assert response.status_code == 302 and response["Location"] == f"/assessments/runs/{run.pk}/"
    assert run.periods == ["2024-Q3"] and run.status == RunStatus.QUEUED
    response = client_for(analyst).post(
        "/assessments/recompute/", {"period": "2024-Q7"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400 and "YYYY-Qn" in response.json()["errors"]["period"][0]["message"]
    future = client_for(analyst).post("/assessments/recompute/", {"period": "2100-Q1"}, HTTP_ACCEPT="application/json")
    assert future.status_code == 400 and "cannot be scored yet" in future.content.decode()


# --- methodology --------------------------------------------------------------------------------------------


def test_methodology_is_generated_from_the_active_model(reference_data, viewer, client_for):
    client = client_for(viewer)
    html = client.get("/assessments/methodology/").content.decode()
    assert "scoring model v1" in html and "0.5 ^ (age / 365)" in html and "8 quarters" in html
    example = client.get("/assessments/methodology/").context["example"]
    weights = [0.5 ** (age / 365) for age in (0, 120, 400, 610)]
    assert example["inputs"].weight_sum == pytest.approx(sum(weights))
    assert example["components"]["continuity"] == pytest.approx(100 * 5 / 8)
    assert example["components"]["objectives"] == pytest.approx(100 * (0.25 + 0.8) / 2)
    # Rated engagements A, B, D: interoperability points 75, 50, 100 weighted by w.
    rated = [weights[0], weights[1], weights[3]]
    assert example["components"]["interoperability"] == pytest.approx(
        (rated[0] * 75 + rated[1] * 50 + rated[2] * 100) / sum(rated)
    )

    ScoringModel.objects.update(is_active=False)
    weights_v2 = {
        "activity": 1,
        "interoperability": 1,
        "capacity": 1,
        "trust": 1,
        "continuity": 0,
        "multilateral": 0,
        "objectives": 0,
    }
    ScoringModel.objects.create(
        version=2, weights=weights_v2, half_life_days=180, lookback_quarters=4, activity_scale=2, is_active=True
    )
    response = client.get("/assessments/methodology/")
    html = response.content.decode()
    assert "scoring model v2" in html and "0.5 ^ (age / 180)" in html and "4 quarters" in html
    assert response.context["example"]["weights_used"]["activity"] == pytest.approx(0.25)
    assert response.context["example"]["weights_used"]["continuity"] == 0
    assert "v1" in html  # the earlier version is listed
    assert "scoring model v1" in client.get("/assessments/methodology/", {"version": "1"}).content.decode()
    response = client.get("/assessments/methodology/", {"version": "9"})
    assert response.status_code == 404 and "no scoring model version" in response.content.decode()


# --- no other host, constant queries ------------------------------------------------------------------------

SAME_HOSTS = {"testserver", "localhost", "127.0.0.1"}


def _other_hosts(html: str) -> set[str]:
    hosts = set(re.findall(r"https?://([^/\"'\s<>)]+)", html))
    hosts |= set(re.findall(r"(?:src|href)=[\"']//([^/\"'\s<>]+)", html))
    return {host for host in hosts if host.split(":")[0] not in SAME_HOSTS}


def test_no_page_refers_to_another_host(scored, admin_user_role, client_for):
    client = client_for(admin_user_role)
    run = AssessmentRun.objects.get()
    urls = [
        *pages(),
        "/assessments/?period=2024-Q4&organization=ECOWAS&subregion=Sub-Saharan+Africa",
        "/assessments/runs/",
        f"/assessments/runs/{run.pk}/",
        "/assessments/objectives/",
        "/",
    ]
    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert _other_hosts(response.content.decode()) == set(), url
    fragment = client.get("/assessments/", HTTP_X_FRAGMENT="dashboard").content.decode()
    assert _other_hosts(fragment) == set()
    assert _other_hosts('<script src="https://cdn.example.net/x.js"></script>') == {"cdn.example.net"}


def _bulk_engagements(count: int, *, offset: int) -> None:
    """``count`` completed engagements over 2024 among many partners, with participants and reports."""
    codes = ["GHA", "SEN", "NGA", "BEN", "TGO", "KEN", "TZA", "UGA", "FRA", "DEU", "ITA", "ESP", "BRA", "IND", "JPN"]
    host = partner("KEN")
    unit = default_unit()
    engagements = Engagement.objects.bulk_create(
        [
            Engagement(
                reference=f"ENG-Q-{offset + n:06d}",
                title=f"Bulk exercise {offset + n}",
                engagement_type=["exercise", "training_exchange", "port_visit"][n % 3],
                domain="land",
                status="completed",
                start_date=D(2024, 1 + n % 12, 1),
                end_date=D(2024, 1 + n % 12, 10),
                host_country=host,
                sensitivity="restricted" if n % 7 == 0 else "unclassified",
                owner_unit=unit,
            )
            for n in range(count)
        ]
    )
    partners = {code: partner(code) for code in codes}
    Participation.objects.bulk_create(
        [
            Participation(engagement=e, partner=partners[codes[(n + k) % len(codes)]])
            for n, e in enumerate(engagements)
            for k in range(2 + n % 3)
        ]
    )
    AfterActionReport.objects.bulk_create(
        [
            AfterActionReport(
                engagement=e,
                summary="Bulk",
                interoperability_rating=1 + n % 5,
                capacity_rating=1 + (n + 1) % 5,
                trust_rating=1 + (n + 2) % 5,
                submitted_at=datetime.datetime(2024, 12, 1, tzinfo=datetime.UTC),
            )
            for n, e in enumerate(engagements)
            if n % 2
        ]
    )
    engagement_shape_refresh(engagement_ids=[e.pk for e in engagements])  # ratings too: as the bulk services keep them


def _query_counts(client, urls, django_assert_max_num_queries) -> dict[str, int]:
    counts = {}
    for url in urls:
        client.get(url)  # warm caches (content types, sessions)
        with django_assert_max_num_queries(60) as captured:
            assert client.get(url).status_code == 200, url
        counts[url] = len(captured.captured_queries)
    return counts


def test_query_counts_do_not_grow_with_the_data(reference_data, analyst, client_for, django_assert_max_num_queries):
    objective = ObjectiveFactory(partner=partner("GHA"))
    MeasurementFactory(indicator=IndicatorFactory(objective=objective), date=D(2024, 3, 1))
    _bulk_engagements(20, offset=0)
    periods = ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    store(periods)
    client = client_for(analyst)
    urls = [
        "/assessments/?period=2024-Q4",
        "/assessments/?period=2024-Q4&organization=ECOWAS&region=Africa",
        "/assessments/?period=2024-Q3&page=1",
        "/assessments/partners/GHA/?period=2024-Q4",
        "/assessments/organizations/ECOWAS/?period=2024-Q4",
        "/assessments/regions/europe/?period=2024-Q4",
        "/assessments/methodology/",
    ]
    small = _query_counts(client, urls, django_assert_max_num_queries)
    _bulk_engagements(200, offset=1000)
    store(periods)
    assert Engagement.objects.count() == 220
    large = _query_counts(client, urls, django_assert_max_num_queries)
    assert large == small


def test_component_multiples_share_one_axis_from_zero():
    from assessments.charts import component_multiples, shared_maximum, trend_chart

    rows = [
        {"quarter": "2024-Q3", **dict.fromkeys(COMPONENTS, 12.0), "trust": 47.5},
        {"quarter": "2024-Q4", **dict.fromkeys(COMPONENTS, None), "activity": 3.0},
    ]
    assert shared_maximum(rows, COMPONENTS) == 50  # 47.5 rounded up to ten
    assert {(m["chart"]["zero"], m["chart"]["max"]) for m in component_multiples(rows)} == {(True, 50)}
    assert shared_maximum([{"quarter": "2024-Q3", **dict.fromkeys(COMPONENTS)}], COMPONENTS) == 10
    # The overview's mean trend fits its top to the values but always starts at 0.
    chart = trend_chart([{"quarter": "2024-Q3", "overall": 54.0}], [("overall", "Mean")], full_scale=False)
    assert (chart["zero"], chart["max"]) == (True, None)


def test_methodology_says_what_the_map_marks_mean(reference_data, viewer, client_for):
    html = client_for(viewer).get("/assessments/methodology/").content.decode()
    section = html[html.index('id="reading-maps"') :]
    assert "It is not a score of 0" in section and "Hatched: the score has low confidence" in section
    assert "Score axes start at 0" in section and "small multiples" in section
