import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    return client


def test_anonymous_gets_401(reference_data):
    response = APIClient().get("/api/v1/partners/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_token_auth_works(reference_data, make_user):
    from core.services import api_token_create

    user = make_user("integrator1", "planner")
    _token, secret = api_token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert client.get("/api/v1/partners/FRA/").json()["name"] == "France"


def test_partners_list_filters(api, reference_data):
    body = api.get("/api/v1/partners/", {"organization": "NATO", "page_size": 500}).json()
    assert body["count"] == 32 and body["next"] is None
    assert all("NATO" in p["organizations"] for p in body["results"])
    body = api.get("/api/v1/partners/", {"region": "Oceania", "q": "new"}).json()
    assert {p["iso3"] for p in body["results"]} >= {"NZL", "PNG"}
    body = api.get("/api/v1/partners/", {"subregion": "Western Europe", "page_size": 5}).json()
    assert len(body["results"]) == 5 and body["next"] is not None


def test_partner_detail_by_iso3(api, reference_data):
    body = api.get("/api/v1/partners/swe/").json()
    assert body["iso3"] == "SWE" and body["region"] == "Europe"
    assert "NATO" in body["organizations"] and "EU" in body["organizations"]
    response = api.get("/api/v1/partners/XYZ/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("page_size", [10, 500])
def test_list_queries_are_constant(api, reference_data, django_assert_max_num_queries, page_size):
    with django_assert_max_num_queries(6):
        assert api.get("/api/v1/partners/", {"page_size": page_size}).status_code == 200
    with django_assert_max_num_queries(6):
        assert api.get("/api/v1/organizations/", {"page_size": page_size}).status_code == 200


def test_organization_detail_has_current_members(api, reference_data):
    body = api.get("/api/v1/organizations/nato/").json()
    assert body["acronym"] == "NATO" and body["kind"] == "military_alliance"
    assert body["headquarters"] == "BEL"
    assert body["member_count"] == len(body["members"]) == 32
    assert api.get("/api/v1/organizations/ECOWAS/").json()["parent"] == "AU"


def test_members_on_a_date(api, reference_data):
    body = api.get("/api/v1/organizations/NATO/members/", {"on": "2024-03-06"}).json()
    assert body == {**body, "organization": "NATO", "on": "2024-03-06", "count": 31}
    assert "SWE" not in {m["partner"] for m in body["members"]}
    assert api.get("/api/v1/organizations/NATO/members/", {"on": "2024-03-07"}).json()["count"] == 32
    assert api.get("/api/v1/organizations/ECOWAS/members/", {"on": "2025-01-28"}).json()["count"] == 15
    au = api.get("/api/v1/organizations/AU/members/", {"on": "2024-01-01"}).json()
    assert next(m for m in au["members"] if m["partner"] == "GAB")["status"] == "suspended"


@pytest.mark.parametrize("bad", ["2024-02-30", "yesterday", "2024/03/07", "9999999-01-01"])
def test_bad_dates_get_a_400_with_the_field_message(api, reference_data, bad):
    response = api.get("/api/v1/organizations/NATO/members/", {"on": bad})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "YYYY-MM-DD" in body["errors"]["on"][0]


def test_unknown_acronym_is_a_404_with_a_message(api, reference_data):
    response = api.get("/api/v1/organizations/NOPE/members/", {"on": "2024-01-01"})
    assert response.status_code == 404
    assert "NOPE" in response.json()["detail"]


def test_read_only(api, reference_data):
    assert api.post("/api/v1/partners/", {"iso3": "ABC"}).status_code == 405
    assert api.delete("/api/v1/organizations/NATO/").status_code == 405
