"""Every error answers in one JSON shape, and no input gives a 500."""

import json

import pytest
from rest_framework.test import APIClient

from engagements.models import Engagement

pytestmark = pytest.mark.django_db

URL = "/api/v1/engagements/"


@pytest.fixture
def api(api_for, planner):
    return api_for(planner)


def post_raw(api, body: bytes | str, content_type="application/json"):
    return api.generic("POST", URL, body, content_type=content_type)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"not json",
        b'{"title": "x",}',
        b"\xff\xfe\x00garbage",
        b'{"budget_usd": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_malformed_json_is_400(api, body):
    response = post_raw(api, body)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        [],
        "a string",
        42,
        None,
        {"title": ["a", "list"], "start_date": {"y": 2025}, "latitude": [], "participants": [[]]},
        {"title": "x" * 100_000},
        {"title": "\ud800 lone surrogate"},
        {"title": "null\x00byte", "location_name": "\x00"},
        {"participants": [{"partner": "USA", "personnel": 1e308, "unknown": {"deep": [1, 2]}}]},
        {"participants": [{"partner": None}], "organizations": [None, 5]},
        {"latitude": 1e308, "longitude": -1e308, "budget_usd": 10**100},
        {"latitude": 999.999999, "longitude": 1000},  # rounding adds a digit: refused, not a 500
        {"version": 10**40, "status": None, "threat_focus": [None]},
        {"after_action": {"summary": None, "trust_rating": "5.5", "mystery": True}},
    ],
)
def test_wrong_types_are_400_never_500(api, body):
    response = post_raw(api, json.dumps(body))
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] == "invalid" and data["errors"]
    assert all(isinstance(messages, list) for messages in data["errors"].values())
    assert not Engagement.objects.exists()


def test_unknown_fields_are_ignored(api, engagement_payload_minimal):
    body = {**engagement_payload_minimal, "colour": "blue", "participants": [{"partner": "USA", "shoe_size": 44}]}
    response = post_raw(api, json.dumps(body))
    assert response.status_code == 201
    assert "colour" not in response.json()


def test_coordinates_round_to_their_limits(api, engagement_payload_minimal):
    body = {**engagement_payload_minimal, "latitude": 89.999999999, "longitude": -179.9999999}
    response = post_raw(api, json.dumps(body))
    assert response.status_code == 201, response.content
    assert (response.json()["latitude"], response.json()["longitude"]) == (90, -180)


@pytest.fixture
def engagement_payload_minimal():
    return {
        "title": "Minimal",
        "engagement_type": "conference",
        "domain": "joint",
        "start_date": "2025-01-01",
        "end_date": "2025-01-01",
        "host_country": "BEL",
    }


def test_other_content_types_are_415(api):
    response = post_raw(api, "title=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing-here/",
        "/api/v1/engagements/1.5/",
        "/api/v1/engagements/1/nothing/",
        "/api/v2/engagements/",
    ],
)
def test_unknown_api_urls_are_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_unknown_pages_keep_the_html_404(client, planner):
    client.force_login(planner)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


def test_bad_token_is_401(reference_data):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": "authentication_failed"}
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("params", [{"page": "abc"}, {"page": "-1"}, {"page": "99999999999999999999"}])
def test_bad_page_numbers_are_404_in_the_shape(api, params):
    response = api.get(URL, params)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_huge_ids_are_404(api):
    for path in (f"{URL}99999999999999999999999/", f"{URL}99999999999999999999999/status/"):
        assert api.get(path).status_code in (404, 405)
    assert api.patch(f"{URL}99999999999999999999999/", {}, format="json").status_code == 404
    assert api.delete(f"{URL}-5/?reason=x").status_code == 404
