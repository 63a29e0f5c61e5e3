"""The Redis cache backend degrades to an empty cache when Redis cannot be reached (and /healthz says so)."""

import socket

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from core.cache import ResilientRedisCache

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.fixture
def down_cache(settings, closed_port):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/1",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    return caches["default"]


def test_an_unreachable_redis_is_an_empty_cache(down_cache):
    import redis

    assert isinstance(down_cache, ResilientRedisCache)
    down_cache.set("key", "value")
    assert down_cache.get("key") is None and down_cache.get("key", "fallback") == "fallback"
    assert down_cache.add("key", 1) is False and down_cache.has_key("key") is False
    assert down_cache.get_many(["a", "b"]) == {} and down_cache.set_many({"a": 1}) == ["a"]
    assert down_cache.get_or_set("key", "computed") == "computed"
    with pytest.raises(ValueError):
        down_cache.incr("counter")
    with pytest.raises(redis.exceptions.ConnectionError):
        down_cache.ping()


def test_the_api_and_pages_answer_with_the_cache_down_and_healthz_reports_it(down_cache, viewer, client):
    from core.services import api_token_create

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=viewer)[1]}")
    assert api.get("/api/v1/partners/").status_code == 200  # the throttles read the cache
    client.force_login(viewer)
    assert client.get("/partners/").status_code == 200
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {
        "status": "error",
        "backend": "ResilientRedisCache",
        "error": "ConnectionError",
    }
