"""Shared fixtures and the rule for tests that need real services.

A test marked ``requires_postgres`` or ``requires_redis`` is skipped, with the variable to set, when the
service is not configured; with ``REQUIRE_SERVICES=1`` (set by .ci/run) it fails instead, so CI can never
pass by skipping them.
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.conf import settings


def _postgres_configured() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _redis_configured() -> bool:
    return settings.CELERY_BROKER_URL.startswith("redis") and settings.REDIS_URL.startswith("redis")


SERVICE_MARKERS = {
    "requires_postgres": (_postgres_configured, "DATABASE_URL=postgres://postgres@127.0.0.1:5432/engagement_tracker"),
    "requires_redis": (
        _redis_configured,
        "CELERY_BROKER_URL=redis://127.0.0.1:6379/0 and REDIS_URL=redis://127.0.0.1:6379/1",
    ),
}


@pytest.fixture(scope="session", autouse=True)
def _celery_queue_of_this_test_process(worker_id):
    """Each pytest-xdist process sends its tasks to a queue of its own: the real workers that integration
    tests start consume only their own process's tasks (another process's worker would run them against
    another test database), and ``purge()`` empties only that queue."""
    if worker_id == "master":
        return
    from config.celery import app

    app.conf.task_default_queue = f"tests-{worker_id}"
    app.amqp.__dict__.pop("queues", None)  # made from the setting on first use: make it again


def pytest_runtest_setup(item):
    for marker, (configured, variable) in SERVICE_MARKERS.items():
        if item.get_closest_marker(marker) and not configured():
            message = f"needs a real service: set {variable}"
            if os.environ.get("REQUIRE_SERVICES") == "1":
                pytest.fail(f"{message} (REQUIRE_SERVICES=1: this test must run, not skip)", pytrace=False)
            pytest.skip(message)


@pytest.fixture
def make_user(db, django_user_model):
    """Create a user in the given role group (viewer, analyst, planner, admin), or none."""
    from django.contrib.auth.models import Group

    from core.roles import ROLE_ORDER
    from core.services import roles_sync

    # The groups come with the migrations (and every flush re-creates them through post_migrate): one query
    # to see them, instead of a full re-sync of every permission (46 queries) in each test.
    if Group.objects.filter(name__in=ROLE_ORDER).count() != len(ROLE_ORDER):
        roles_sync()

    def _make(username: str = "someone", role: str | None = "viewer", units=None, **extra):
        """``units``: the user's units (codes or units); planners and approvers belong to the default unit
        (which owns the factories' engagements) unless told otherwise, ``units=[]`` for none."""
        from core.models import Unit

        user = django_user_model.objects.create_user(username=username, password="pw-for-tests-123", **extra)
        if role:
            user.groups.add(Group.objects.get(name=role))
        if units is None:
            units = [settings.DEFAULT_UNIT_CODE] if role in ("planner", "approver") else []
        for unit in units:
            if not isinstance(unit, Unit):
                unit = Unit.objects.get_or_create(code=unit, defaults={"name": unit})[0]
            unit.members.add(user)
        return user

    return _make


@pytest.fixture
def viewer(make_user):
    return make_user("viewer1", "viewer")


@pytest.fixture
def analyst(make_user):
    return make_user("analyst1", "analyst")


@pytest.fixture
def planner(make_user):
    return make_user("planner1", "planner")


@pytest.fixture
def admin_user_role(make_user):
    return make_user("admin1", "admin", is_staff=True)


@pytest.fixture
def client_for(client):
    """A test client logged in as the given user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the shipped reference data once per test database (tests roll back around it)."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)


@pytest.fixture
def reference_data(db):
    """Countries, organizations and memberships; reloaded if a transactional test emptied the tables."""
    from partners.models import PartnerNation

    if not PartnerNation.objects.exists():
        from django.core.management import call_command

        call_command("load_reference_data", verbosity=0)


@pytest.fixture
def api_for(reference_data):
    """An API client authenticated as the given user (a fresh client per call)."""
    from rest_framework.test import APIClient

    def _client(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _client


@pytest.fixture
def snapshots(settings):
    """The snapshot cache on, in Redis, with a key prefix no other test (or test process) uses."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"test-page-cache-{uuid.uuid4().hex}",
        }
    }
    settings.DASHBOARD_CACHE_SECONDS = 600
    # Every change rendered at once, unless a test asks for the refresh window (tests/core/test_page_refresh.py).
    settings.PAGE_REFRESH_SECONDS = 0
