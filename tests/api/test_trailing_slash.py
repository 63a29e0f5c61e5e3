"""Routes answer with or without the trailing slash, and nothing redirects a write (DESIGN, "Writes")."""

import io

import pytest
from rest_framework.test import APIClient

from engagements.models import Engagement
from tests.engagements.test_imports import csv_file, good_row
from tests.engagements.test_views import form_data

pytestmark = pytest.mark.django_db

BODY = {
    "title": "Flintlock 2025",
    "engagement_type": "exercise",
    "domain": "land",
    "status": "planned",
    "start_date": "2025-02-10",
    "end_date": "2025-02-28",
    "host_country": "CIV",
    "participants": [{"partner": "CIV", "role": "host"}, {"partner": "USA", "role": "lead"}],
    "organizations": ["ECOWAS"],
    "sensitivity": "unclassified",
}


@pytest.mark.parametrize("slash", ["/", ""])
def test_api_writes_answer_with_or_without_the_slash(api_for, planner, slash):
    client = api_for(planner)
    response = client.post(f"/api/v1/engagements{slash}", BODY, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    response = client.patch(f"/api/v1/engagements/{pk}{slash}", {"title": "Renamed"}, format="json")
    assert response.status_code == 200
    response = client.post(f"/api/v1/engagements/{pk}/status{slash}", {"status": "approved"}, format="json")
    assert response.status_code in (200, 400)  # answered by the action, not redirected
    assert Engagement.objects.get(pk=pk).title == "Renamed"
    content = csv_file([good_row()]).getvalue()
    response = client.post(f"/api/v1/engagements/import{slash}", {"file": io.BytesIO(content)}, format="multipart")
    assert response.status_code == 200 and response.json()["to_create"] == 1


@pytest.mark.parametrize("slash", ["/", ""])
def test_api_reads_and_the_token_answer_with_or_without_the_slash(reference_data, make_user, slash):
    make_user("integrator", "viewer")
    client = APIClient()
    response = client.post(
        f"/api/v1/auth/token{slash}", {"username": "integrator", "password": "pw-for-tests-123"}, format="json"
    )
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get(f"/api/v1/partners{slash}").status_code == 200
    assert client.get(f"/api/v1/partners/GHA{slash}").json()["iso3"] == "GHA"
    assert client.get(f"/api/v1/assessments/scores{slash}").status_code == 200


@pytest.mark.parametrize("debug", [False, True])
def test_a_page_write_without_the_slash_is_answered_not_redirected(
    client_for, planner, reference_data, settings, debug
):
    settings.DEBUG = debug  # in debug Django raised RuntimeError, otherwise it redirected the POST as a GET
    response = client_for(planner).post("/engagements/new", form_data())
    assert response.status_code == 302 and response["Location"] != "/engagements/new/"
    assert Engagement.objects.get().title == "Flintlock 2025"


def test_a_page_read_without_the_slash_still_redirects_to_it(client_for, planner):
    response = client_for(planner).get("/engagements/new")
    assert response.status_code == 301 and response["Location"] == "/engagements/new/"


def test_the_schema_lists_each_route_once_with_its_slash():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert all(path.endswith("/") and "?" not in path for path in paths), [p for p in paths if not p.endswith("/")]
    assert "/api/v1/engagements/" in paths and "/api/v1/engagements" not in paths
