"""The alerts API: everyone signed in reads them; analysts and admins acknowledge them, as on the overview page."""

import datetime

import pytest
from rest_framework.test import APIClient

from assessments.models import Alert
from assessments.services import scoring_model_active
from partners.models import PartnerNation

pytestmark = pytest.mark.django_db

D = datetime.date
URL = "/api/v1/assessments/alerts/"
FIELDS = [
    "id",
    "partner",
    "partner_name",
    "period",
    "previous_overall",
    "overall",
    "delta_overall",
    "provisional",
    "scoring_model",
    "raised_at",
    "acknowledged",
    "acknowledged_by",
    "acknowledged_at",
    "note",
]


@pytest.fixture
def scored(ghana_senegal_drop):
    return ghana_senegal_drop


def codes(body) -> list[str]:
    return [row["partner"] for row in body["results"]]


def test_anonymous_gets_401(scored):
    alert = Alert.objects.get(partner__iso3="GHA")
    assert APIClient().get(URL).status_code == 401
    assert APIClient().post(f"{URL}{alert.pk}/acknowledge/").status_code == 401


def test_viewer_reads_the_alerts_with_the_contract_fields(scored, viewer, api_for):
    body = api_for(viewer).get(URL).json()
    assert body["count"] == 2 and sorted(codes(body)) == ["GHA", "SEN"]
    row = next(row for row in body["results"] if row["partner"] == "GHA")
    assert list(row) == FIELDS
    stored = Alert.objects.get(partner__iso3="GHA")
    assert row["id"] == stored.pk and row["partner_name"] == "Ghana" and row["period"] == "2024-Q4"
    assert row["delta_overall"] == pytest.approx(row["overall"] - row["previous_overall"])
    assert row["delta_overall"] <= -10
    assert (row["acknowledged"], row["acknowledged_by"], row["acknowledged_at"], row["note"]) == (False, None, None, "")
    assert row["provisional"] is False  # 2024-Q4 has ended
    assert row["scoring_model"] == scoring_model_active().version
    detail = api_for(viewer).get(f"{URL}{stored.pk}/")
    assert detail.status_code == 200 and detail.json() == row


def test_filters(scored, viewer, api_for):
    api = api_for(viewer)
    assert codes(api.get(URL, {"partner": "gha"}).json()) == ["GHA"]
    assert sorted(codes(api.get(URL, {"partner": "GHA,SEN,FRA"}).json())) == ["GHA", "SEN"]
    assert api.get(URL, {"period": "2024-Q4"}).json()["count"] == 2
    assert api.get(URL, {"period": "2024-Q3"}).json()["count"] == 0
    assert api.get(URL, {"region": "africa"}).json()["count"] == 2
    assert api.get(URL, {"region": "Europe"}).json()["count"] == 0
    assert api.get(URL, {"subregion": "Sub-Saharan Africa"}).json()["count"] == 2
    assert api.get(URL, {"subregion": "Northern Africa"}).json()["count"] == 0
    assert api.get(URL, {"intermediate_region": "Western Africa"}).json()["count"] == 2
    assert api.get(URL, {"intermediate_region": "Eastern Africa"}).json()["count"] == 0
    assert api.get(URL, {"organization": "ECOWAS"}).json()["count"] == 2
    assert api.get(URL, {"organization": "NATO"}).json()["count"] == 0
    assert api.get(URL, {"acknowledged": "false"}).json()["count"] == 2
    assert api.get(URL, {"acknowledged": "true"}).json()["count"] == 0
    ordered = api.get(URL, {"ordering": "delta_overall"}).json()["results"]
    assert [row["delta_overall"] for row in ordered] == sorted(row["delta_overall"] for row in ordered)


def test_organization_filter_judges_membership_on_the_quarters_last_day(scored, viewer, api_for):
    """Senegal left ECOWAS (in this test) before 2024-Q4 ended: its alert for that quarter is not ECOWAS's."""
    senegal = PartnerNation.objects.get(iso3="SEN")
    senegal.memberships.filter(organization__acronym="ECOWAS").update(left=D(2024, 11, 1))
    assert codes(api_for(viewer).get(URL, {"organization": "ecowas"}).json()) == ["GHA"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"period": "2024-Q5"}, "period", "YYYY-Qn"),
        ({"acknowledged": "maybe"}, "acknowledged", "true or false"),
        ({"scoring_model": "99"}, "scoring_model", "No scoring model"),
        ({"ordering": "secret"}, "ordering", "secret"),
    ],
)
def test_bad_filters_are_a_400_with_the_fields_message(scored, viewer, params, field, message, api_for):
    response = api_for(viewer).get(URL, params)
    assert response.status_code == 400
    assert message in response.json()["errors"][field][0]


def test_analyst_acknowledges_an_alert_and_the_first_acknowledgement_stays(scored, analyst, client_for, api_for):
    alert = Alert.objects.get(partner__iso3="GHA")
    api = api_for(analyst)
    response = api.post(f"{URL}{alert.pk}/acknowledge/", {"note": "  Exercise cut short  "}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["acknowledged"], body["acknowledged_by"], body["note"]) == (
        True,
        analyst.username,
        "Exercise cut short",
    )
    assert body["acknowledged_at"] is not None
    again = api.post(f"{URL}{alert.pk}/acknowledge/", {"note": "Second thoughts"}, format="json")
    assert again.status_code == 200 and again.json()["note"] == "Exercise cut short"
    assert again.json()["acknowledged_at"] == body["acknowledged_at"]
    assert codes(api.get(URL, {"acknowledged": "true"}).json()) == ["GHA"]
    assert codes(api.get(URL, {"acknowledged": "false"}).json()) == ["SEN"]
    assert codes(api.get(URL).json()) == ["SEN", "GHA"]  # open alerts first
    # The overview page applies the same acknowledgement: Ghana's alert is no longer open there.
    html = client_for(analyst).get("/assessments/", {"period": "2024-Q4"}).content.decode()
    assert f"/assessments/alerts/{alert.pk}/acknowledge/" not in html
    assert f"/assessments/alerts/{Alert.objects.get(partner__iso3='SEN').pk}/acknowledge/" in html


def test_acknowledging_without_a_note(scored, admin_user_role, api_for):
    alert = Alert.objects.get(partner__iso3="SEN")
    response = api_for(admin_user_role).post(f"{URL}{alert.pk}/acknowledge/")
    assert response.status_code == 200 and response.json()["acknowledged"] is True and response.json()["note"] == ""


@pytest.mark.parametrize("role", ["viewer", "planner"])
def test_viewers_and_planners_cannot_acknowledge(scored, make_user, role, api_for):
    alert = Alert.objects.get(partner__iso3="GHA")
    response = api_for(make_user(role, role=role)).post(f"{URL}{alert.pk}/acknowledge/", {"note": "x"}, format="json")
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None and alert.note == ""


def test_a_note_over_500_characters_is_a_400_and_nothing_is_saved(scored, analyst, api_for):
    alert = Alert.objects.get(partner__iso3="GHA")
    response = api_for(analyst).post(f"{URL}{alert.pk}/acknowledge/", {"note": "x" * 501}, format="json")
    assert response.status_code == 400 and "500" in response.json()["errors"]["note"][0]
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_unknown_alerts_are_404(scored, analyst, api_for):
    api = api_for(analyst)
    assert api.get(f"{URL}999999/").status_code == 404
    assert api.post(f"{URL}999999/acknowledge/").status_code == 404
    assert api.get(f"{URL}abc/").status_code == 404


def test_the_list_runs_in_constant_queries(scored, viewer, django_assert_max_num_queries, api_for):
    api = api_for(viewer)
    api.get(URL)  # warm the permission cache
    with django_assert_max_num_queries(6) as small:
        assert api.get(URL).json()["count"] == 2
    model = scoring_model_active()
    partners = PartnerNation.objects.exclude(iso3__in=["GHA", "SEN"]).order_by("iso3")[:40]
    Alert.objects.bulk_create(
        Alert(partner=p, period=D(2024, 10, 1), scoring_model=model, overall=40, previous_overall=60, delta_overall=-20)
        for p in partners
    )
    Alert.objects.filter(partner__in=list(partners)[:10]).update(
        acknowledged_by=viewer, acknowledged_at="2025-01-01T00:00Z"
    )
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = api.get(URL, {"page_size": 500}).json()
    assert body["count"] == 42 and len(body["results"]) == 42
    assert [row["acknowledged"] for row in body["results"]] == [False] * 32 + [True] * 10
