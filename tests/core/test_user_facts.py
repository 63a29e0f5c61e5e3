"""A user's permissions and groups kept in the shared cache (core/user_facts.py): read from it on the next
requests, and dropped by any change to them, so that a change of role counts on the very next request.

Commits are simulated with ``django_capture_on_commit_callbacks(execute=True)``: the ``auth`` tag moves
after commit, as it does in production.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.services import api_token_create

pytestmark = [pytest.mark.django_db, pytest.mark.requires_redis]

# ``snapshots`` (the cache on) comes after the users in each test's arguments: their creation's own bump
# would otherwise wait for the commit of the test's transaction, which never comes, and a bump is queued
# once per transaction.

API_LIST = "/api/v1/engagements/"


def auth_queries(client, url, **extra) -> tuple[int, int]:
    """The response's status and how many of its queries read permissions or groups."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    read = [q["sql"] for q in captured.captured_queries if "auth_permission" in q["sql"] or "auth_group" in q["sql"]]
    return response.status_code, len(read)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    return client


def test_permissions_and_groups_are_read_once_then_from_the_cache(reference_data, analyst, client_for, snapshots):
    client = client_for(analyst)
    status, first = auth_queries(client, "/assessments/")
    assert status == 200 and first >= 2  # the user's and their groups' permissions, their groups
    status, again = auth_queries(client, "/assessments/")
    assert status == 200 and again == 0
    assert "Analyst" in client.get("/assessments/").content.decode()  # the role badge, from the kept groups


def test_a_user_removed_from_their_group_loses_access_on_the_next_request(
    reference_data, analyst, snapshots, django_capture_on_commit_callbacks
):
    client = token_client(analyst)
    assert client.get(API_LIST).status_code == 200
    assert auth_queries(client, API_LIST) == (200, 0)  # served from the kept facts
    with django_capture_on_commit_callbacks(execute=True):
        analyst.groups.remove(Group.objects.get(name="analyst"))
    assert client.get(API_LIST).status_code == 403


def test_a_user_removed_through_the_group_side_loses_access_too(
    reference_data, analyst, client_for, snapshots, django_capture_on_commit_callbacks
):
    client = client_for(analyst)
    assert "Recompute now" in client.get("/assessments/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Group.objects.get(name="analyst").user_set.remove(analyst)
    html = client.get("/assessments/").content.decode()
    assert "Recompute now" not in html and "Analyst" not in html


def test_a_permission_taken_from_a_group_is_gone_on_the_next_request(
    reference_data, analyst, client_for, snapshots, django_capture_on_commit_callbacks
):
    client = client_for(analyst)
    assert "Recompute now" in client.get("/assessments/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Group.objects.get(name="analyst").permissions.remove(Permission.objects.get(codename="add_assessmentrun"))
    assert "Recompute now" not in client.get("/assessments/").content.decode()


def test_a_user_whose_groups_are_cleared_loses_access(
    reference_data, analyst, snapshots, django_capture_on_commit_callbacks
):
    client = token_client(analyst)
    assert client.get(API_LIST).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        analyst.groups.clear()
    assert client.get(API_LIST).status_code == 403


def test_a_new_permission_counts_on_the_next_request(
    reference_data, viewer, client_for, snapshots, django_capture_on_commit_callbacks
):
    client = client_for(viewer)
    assert "Recompute now" not in client.get("/assessments/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        viewer.user_permissions.add(Permission.objects.get(codename="add_assessmentrun"))
    assert "Recompute now" in client.get("/assessments/").content.decode()


def test_a_superuser_flag_is_read_from_the_row_every_time(reference_data, viewer, client_for, snapshots):
    client = client_for(viewer)
    assert "Recompute now" not in client.get("/assessments/").content.decode()
    type(viewer).objects.filter(pk=viewer.pk).update(is_superuser=True)  # no signal: the key has the flag
    assert "Recompute now" in client.get("/assessments/").content.decode()


def test_without_the_cache_permissions_are_read_from_the_database(reference_data, analyst, client_for):
    client = client_for(analyst)
    client.get("/assessments/")
    status, again = auth_queries(client, "/assessments/")
    assert status == 200 and again >= 2


def test_a_user_not_primed_has_their_groups_read_once_and_again_after_a_change(reference_data, planner):
    """An API token's user, a command's, or any without the shared cache: the role is asked for every row an
    import checks, and read once per user object (an import of 100,000 rows made 14,421 queries)."""
    from core.roles import role_of

    with CaptureQueriesContext(connection) as queries:
        assert [role_of(planner) for _ in range(50)] == ["planner"] * 50
    assert sum("auth_group" in q["sql"] for q in queries.captured_queries) == 1
    planner.groups.set([Group.objects.get(name="admin")])
    assert role_of(planner) == "admin"
