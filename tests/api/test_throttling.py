"""Request rates for anonymous and signed-in clients come from settings; past them, 429 with Retry-After."""

import uuid

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from core.services import api_token_create

pytestmark = pytest.mark.django_db


def rates(anon: str, user: str):
    """Settings with the given rates and a cache of the test's own, so no other test's requests count."""
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": anon, "user": user}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(uuid.uuid4())}},
    )


def test_signed_in_users_get_429_with_retry_after(make_user, reference_data):
    user = make_user("busy", "viewer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    with rates(anon="1000/minute", user="3/minute"):
        statuses = [client.get("/api/v1/partners/").status_code for _ in range(3)]
        response = client.get("/api/v1/engagements/")
    assert statuses == [200, 200, 200]
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert body["retry_after_seconds"] == int(response["Retry-After"])
    assert "throttled" in body["detail"]


def test_each_user_has_their_own_allowance(make_user, reference_data):
    first, second = APIClient(), APIClient()
    first.force_authenticate(make_user("first", "viewer"))
    second.force_authenticate(make_user("second", "viewer"))
    with rates(anon="1000/minute", user="1/hour"):
        assert first.get("/api/v1/partners/").status_code == 200
        assert first.get("/api/v1/partners/").status_code == 429
        assert second.get("/api/v1/partners/").status_code == 200


def test_anonymous_clients_are_throttled_too(make_user, reference_data):
    make_user("integrator2", "planner")
    client = APIClient()
    with rates(anon="2/minute", user="1000/minute"):
        answers = [
            client.post("/api/v1/auth/token/", {"username": "integrator2", "password": "wrong"}).status_code
            for _ in range(2)
        ]
        response = client.post("/api/v1/auth/token/", {"username": "integrator2", "password": "pw-for-tests-123"})
    assert answers == [400, 400]
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"
    assert "token" not in response.json()


def test_default_rates_come_from_the_environment():
    # settings.py reads API_THROTTLE_ANON / API_THROTTLE_USER (tests run with generous defaults).
    assert set(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]) == {"anon", "user"}
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "core.api.throttling.AnonRateThrottle",
        "core.api.throttling.UserRateThrottle",
    ]


def test_answers_carry_ratelimit_headers(make_user, reference_data):
    user = make_user("counted", "viewer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    with rates(anon="1000/minute", user="3/minute"):
        answers = [client.get("/api/v1/partners/") for _ in range(3)]
        refused = client.get("/api/v1/engagements/")
    assert [a["RateLimit-Limit"] for a in answers] == ["3", "3", "3"]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert all(0 < int(a["RateLimit-Reset"]) <= 60 for a in answers)
    assert refused.status_code == 429
    assert refused["RateLimit-Limit"] == "3" and refused["RateLimit-Remaining"] == "0"
    assert 0 < int(refused["RateLimit-Reset"]) <= 60 and 0 < int(refused["Retry-After"]) <= 60


def test_anonymous_answers_show_the_tighter_of_their_rates(make_user, reference_data):
    client = APIClient()
    with rates(anon="5/minute", user="1000/minute"):
        response = client.post("/api/v1/auth/token/", {"username": "nobody", "password": "wrong"})
    assert response.status_code == 400
    assert response["RateLimit-Limit"] == "5" and response["RateLimit-Remaining"] == "4"


def test_pages_carry_no_ratelimit_headers(client, make_user):
    client.force_login(make_user("pages", "viewer"))
    response = client.get("/engagements/")
    assert response.status_code == 200 and not response.has_header("RateLimit-Limit")
