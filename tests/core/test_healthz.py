import json

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db

DOWN_REDIS = "redis://127.0.0.1:1/0"


def test_healthz_is_public_and_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "cache"}
    assert body["checks"]["database"]["status"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_reveals_no_secrets(client, settings):
    settings.CELERY_BROKER_URL = "redis://:s3cret-pass@127.0.0.1:1/0"
    text = client.get("/healthz").content.decode()
    assert "s3cret-pass" not in text
    assert "127.0.0.1" not in text
    assert settings.DATABASES["default"]["NAME"] not in text


def test_healthz_reports_a_down_broker(client, settings):
    settings.CELERY_BROKER_URL = DOWN_REDIS
    response = client.get("/healthz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "error"
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"


def test_healthz_reports_a_down_cache(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DOWN_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["status"] == "error"


def test_healthz_reports_a_down_database(client, monkeypatch):
    from core import selectors

    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors.connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"status": "error", "error": "OperationalError"}


def test_healthz_without_broker_says_tasks_run_eagerly(client, settings):
    settings.CELERY_BROKER_URL = ""
    body = client.get("/healthz").json()
    assert body["checks"]["broker"]["status"] == "not_configured"
    assert body["status"] == "ok"


def test_healthz_accepts_only_get(client):
    assert client.post("/healthz").status_code == 405
