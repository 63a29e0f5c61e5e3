"""/api/v1/series/: read by everyone with a role, created by planners."""

import pytest

from engagements.models import ExerciseSeries
from tests.engagements.factories import ExerciseSeriesFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/series/"


def test_list_and_retrieve_by_slug(api_for, viewer):
    ExerciseSeriesFactory(slug="flintlock", name="Flintlock")
    ExerciseSeriesFactory(slug="african-lion", name="African Lion")
    api = api_for(viewer)
    body = api.get(URL).json()
    assert [row["slug"] for row in body["results"]] == ["african-lion", "flintlock"]
    assert body["results"][0] == {
        "slug": "african-lion",
        "name": "African Lion",
        "description": "",
        "lead_organization": None,
        "iteration_count": 0,
    }
    assert api.get(f"{URL}flintlock/").json()["name"] == "Flintlock"
    response = api.get(f"{URL}nothing/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_planner_creates_a_series_with_a_slug_from_its_name(api_for, planner):
    response = api_for(planner).post(
        URL, {"name": "Obangame Express", "lead_organization": "ecowas", "description": "Gulf of Guinea"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "slug": "obangame-express",
        "name": "Obangame Express",
        "description": "Gulf of Guinea",
        "lead_organization": "ECOWAS",
        "iteration_count": 0,
    }
    series = ExerciseSeries.objects.get(slug="obangame-express")
    assert series.history.get().history_user == planner


def test_series_can_be_named_by_engagements(api_for, planner, engagement_payload):
    api = api_for(planner)
    api.post(URL, {"name": "African Lion"}, format="json")
    body = api.post("/api/v1/engagements/", engagement_payload(series="african-lion"), format="json").json()
    assert body["series"] == "african-lion"
    assert api.get(f"{URL}african-lion/").json()["iteration_count"] == 1
    assert api.patch(f"/api/v1/engagements/{body['id']}/", {"series": None}, format="json").json()["series"] is None


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "African Lion"}, "name"),
        ({"name": "New", "lead_organization": "NOPE"}, "organizations"),
        ({"name": "New", "slug": "not a slug"}, "slug"),
        ({"name": "!!!"}, "slug"),
    ],
)
def test_bad_series_are_400(api_for, planner, payload, field):
    ExerciseSeriesFactory(slug="african-lion", name="African Lion")
    response = api_for(planner).post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert ExerciseSeries.objects.count() == 1


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_readers_cannot_create_series(api_for, make_user, role):
    api = api_for(make_user(f"{role}-s", role))
    assert api.get(URL).status_code == 200
    assert api.post(URL, {"name": "Mine"}, format="json").status_code == 403
    assert not ExerciseSeries.objects.exists()


def test_iteration_count_leaves_out_restricted_iterations_for_viewers(api_for, planner, viewer, analyst):
    """The API counts what the series page shows: a viewer's count has no restricted iteration in it."""
    import datetime

    from engagements import services

    series = ExerciseSeriesFactory(slug="flintlock", name="Flintlock")
    for year, sensitivity in [(2024, "unclassified"), (2025, "restricted")]:
        services.engagement_create(
            created_by=planner,
            title=f"Flintlock {year}",
            engagement_type="exercise",
            domain="land",
            start_date=datetime.date(year, 2, 10),
            end_date=datetime.date(year, 2, 28),
            host_country="CIV",
            series=series,
            sensitivity=sensitivity,
            participants=[{"partner": "CIV"}],
        )
    for user, count in [(viewer, 1), (analyst, 2)]:
        api = api_for(user)
        assert api.get(f"{URL}flintlock/").json()["iteration_count"] == count
        assert api.get(URL).json()["results"][0]["iteration_count"] == count
