"""Where a request's reads go when a replica is configured (core/replica.py); the real replica is exercised
by tests/integration/test_replica.py. These decisions need no second database: the router only names one."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve

from assessments.models import PartnerScore
from core import replica
from core.replica import REPLICA, STICKY_COOKIE, ReplicaMiddleware, ReplicaRouter, reading_from_replica


def serve(method: str, path: str, *, cookies=None, writes: bool = False, in_transaction: bool = False):
    """Run the middleware around a view that records where its reads would go."""
    seen = {}
    router = ReplicaRouter()

    def view(request):
        middleware.process_view(request, None, (), {})
        seen["before"] = router.db_for_read(PartnerScore)
        seen["user"] = router.db_for_read(get_user_model())
        if in_transaction:
            with transaction.atomic():
                seen["in_transaction"] = router.db_for_read(PartnerScore)
        if writes:
            router.db_for_write(PartnerScore)
        seen["after"] = router.db_for_read(PartnerScore)
        seen["flag"] = reading_from_replica()
        return HttpResponse()

    request = RequestFactory().generic(method, path)
    request.COOKIES.update(cookies or {})
    request.resolver_match = resolve(path)
    middleware = ReplicaMiddleware(view)
    response = middleware(request)
    return seen, response


@pytest.fixture
def with_replica(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: True)


def test_dashboard_reads_go_to_the_replica_and_users_stay_on_the_primary(with_replica):
    seen, response = serve("GET", "/assessments/")
    assert seen["before"] == REPLICA and seen["after"] == REPLICA and seen["flag"] is True
    assert seen["user"] == "default"  # sessions, users and groups: a login is seen at once
    assert STICKY_COOKIE not in response.cookies
    assert reading_from_replica() is False  # nothing outlives the request


def test_api_score_and_engagement_lists_read_on_the_replica(with_replica):
    for path in ("/api/v1/assessments/scores/", "/api/v1/engagements/", "/engagements/"):
        assert serve("GET", path)[0]["before"] == REPLICA, path


def test_pages_not_named_for_the_replica_read_on_the_primary(with_replica):
    assert serve("GET", "/assessments/runs/")[0]["before"] == "default"
    assert serve("GET", "/engagements/1/")[0]["before"] == "default"


def test_a_write_sends_the_rest_of_the_request_and_the_next_requests_to_the_primary(with_replica):
    seen, response = serve("GET", "/assessments/", writes=True)
    assert seen["before"] == REPLICA and seen["after"] == "default"
    stamp = response.cookies[STICKY_COOKIE]
    assert int(stamp.value) > time.time() and stamp["httponly"]

    seen, _response = serve("GET", "/assessments/", cookies={STICKY_COOKIE: stamp.value})
    assert seen["before"] == "default"
    expired = str(int(time.time()) - 1)
    assert serve("GET", "/assessments/", cookies={STICKY_COOKIE: expired})[0]["before"] == REPLICA
    assert serve("GET", "/assessments/", cookies={STICKY_COOKIE: "garbage"})[0]["before"] == REPLICA


def test_a_post_reads_on_the_primary_and_stamps_the_browser(with_replica):
    seen, response = serve("POST", "/assessments/recompute/")
    assert seen["before"] == "default" and STICKY_COOKIE in response.cookies


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_on_the_primary_stay_there(with_replica):
    seen, _response = serve("GET", "/assessments/", in_transaction=True)
    assert seen["before"] == REPLICA and seen["in_transaction"] == "default"


def test_without_a_replica_nothing_changes():
    seen, response = serve("GET", "/assessments/")
    assert seen["before"] == "default" and seen["flag"] is False
    seen, response = serve("POST", "/assessments/recompute/")
    assert STICKY_COOKIE not in response.cookies


def test_the_replica_is_never_migrated_and_objects_relate_across():
    router = ReplicaRouter()
    assert router.allow_migrate(REPLICA, "assessments") is False
    assert router.allow_migrate("default", "assessments") is True
    assert router.allow_relation(object(), object()) is True
