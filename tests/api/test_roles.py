"""The roles table, operation by operation: who may read and who may write through the API."""

import datetime

import pytest
from rest_framework.test import APIClient

from engagements import services

pytestmark = pytest.mark.django_db

READS = [
    "/api/v1/engagements/",
    "/api/v1/engagements/{id}/",
    "/api/v1/series/",
    "/api/v1/series/african-lion/",
    "/api/v1/changes/?since=2000-01-01T00:00:00Z",
    "/api/v1/partners/",
    "/api/v1/partners/MAR/",
    "/api/v1/organizations/",
    "/api/v1/organizations/AU/",
    "/api/v1/organizations/AU/members/",
]

WRITES = [
    ("post", "/api/v1/engagements/", {}),
    ("put", "/api/v1/engagements/{id}/", {}),
    ("patch", "/api/v1/engagements/{id}/", {"title": "x"}),
    ("delete", "/api/v1/engagements/{id}/?reason=x", None),
    ("post", "/api/v1/engagements/{id}/status/", {"status": "approved"}),
    ("post", "/api/v1/engagements/{id}/after-action/", {}),
    ("put", "/api/v1/engagements/{id}/after-action/", {}),
    ("post", "/api/v1/series/", {"name": "New series"}),
]


@pytest.fixture
def engagement(planner, reference_data):
    series = services.series_create(name="African Lion", user=planner)
    return services.engagement_create(
        created_by=planner,
        title="Roles",
        engagement_type="exercise",
        domain="land",
        start_date=datetime.date(2025, 1, 1),
        end_date=datetime.date(2025, 1, 2),
        host_country="MAR",
        series=series,
    ).engagement


@pytest.mark.parametrize("role", ["viewer", "analyst", "planner", "admin"])
def test_every_role_reads_everything(make_user, engagement, role):
    client = APIClient()
    client.force_authenticate(make_user(f"{role}-r", role))
    for url in READS:
        response = client.get(url.format(id=engagement.pk))
        assert response.status_code == 200, (role, url, response.json())


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_readers_get_403_for_every_write(make_user, engagement, role):
    client = APIClient()
    client.force_authenticate(make_user(f"{role}-w", role))
    for method, url, body in WRITES:
        response = getattr(client, method)(url.format(id=engagement.pk), body, format="json")
        assert response.status_code == 403, (role, method, url)
        assert response.json()["code"] == "permission_denied"


def test_anonymous_gets_401_everywhere(engagement):
    client = APIClient()
    for url in READS:
        assert client.get(url.format(id=engagement.pk)).status_code == 401, url
    for method, url, body in WRITES:
        response = getattr(client, method)(url.format(id=engagement.pk), body, format="json")
        assert response.status_code == 401, (method, url)
        assert response.json()["code"] == "not_authenticated"
        assert response["WWW-Authenticate"] == "Token"


def test_session_writes_need_the_csrf_token(planner, engagement):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(planner)
    assert client.get(f"/api/v1/engagements/{engagement.pk}/").status_code == 200
    response = client.patch(f"/api/v1/engagements/{engagement.pk}/", {"title": "x"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
