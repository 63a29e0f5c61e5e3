"""The engagement list's results and the API list kept in Redis (core/page_cache.py, "Lists"): a save is on
the next list (never a stale copy), an entry is shared only by users with the same permissions, and the key
separates what changes the output.

Tests run with the cache off; ``snapshots`` turns it on, on the real Redis, under a key prefix of their own.
Commits are simulated with ``django_capture_on_commit_callbacks(execute=True)``: tags move after commit.
"""

from __future__ import annotations

import datetime
import re
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory
from django.utils import translation

from core import page_cache
from engagements import services, views
from engagements.api import views as api_views
from engagements.models import ExerciseSeries
from partners.models import PartnerNation
from tests.engagements.factories import EngagementFactory

pytestmark = [pytest.mark.django_db, pytest.mark.requires_redis]

API = "/api/v1/engagements/"
D = datetime.date


def create(user, title, **extra):
    return services.engagement_create(
        created_by=user,
        title=title,
        engagement_type="exercise",
        domain="land",
        start_date=D(2025, 3, 1),
        end_date=D(2025, 3, 5),
        host_country="SEN",
        **extra,
    ).engagement


@contextmanager
def statements():
    """The SQL sent inside the block, whatever clears the connection's query log (a request does)."""
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


def engagement_reads(sent) -> list[str]:
    return [sql for sql in sent if "engagements_engagement" in sql]


@pytest.fixture
def listed(snapshots, planner, reference_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return create(planner, "Harbour drill")


def test_a_cached_list_page_shows_a_save_made_after_it(listed, planner, client_for, django_capture_on_commit_callbacks):
    client = client_for(planner)
    assert "Harbour drill" in client.get("/engagements/").content.decode()
    with statements() as hit:
        html = client.get("/engagements/").content.decode()
    assert "Harbour drill" in html
    assert engagement_reads(hit) == []  # served from the cache
    with django_capture_on_commit_callbacks(execute=True):
        services.engagement_update(engagement=listed, updated_by=planner, title="Harbour drill renamed")
    assert "Harbour drill renamed" in client.get("/engagements/").content.decode()


def test_a_cached_api_list_shows_a_save_made_after_it(listed, planner, api_for, django_capture_on_commit_callbacks):
    api = api_for(planner)
    first = api.get(API)
    with statements() as hit:
        again = api.get(API)
    assert engagement_reads(hit) == []
    assert again.content == first.content and again["Content-Type"] == first["Content-Type"] == "application/json"
    assert again["Vary"] == first["Vary"] and again["Allow"] == first["Allow"]
    assert [row["title"] for row in again.json()["results"]] == ["Harbour drill"]
    with django_capture_on_commit_callbacks(execute=True):
        create(planner, "Second drill")
        services.engagement_update(engagement=listed, updated_by=planner, title="Harbour drill renamed")
    titles = {row["title"] for row in api.get(API).json()["results"]}
    assert titles == {"Harbour drill renamed", "Second drill"}


def test_a_cached_hit_reads_no_engagement_and_few_queries(listed, planner, client_for, api_for):
    client, api = client_for(planner), api_for(planner)
    with statements() as page_miss:
        client.get("/engagements/", {"host_country": "SEN"})
    with statements() as page_hit:
        client.get("/engagements/", {"host_country": "SEN"})
    api.get(API, {"host_country": "SEN"})
    with statements() as api_hit:
        api.get(API, {"host_country": "SEN"})
    assert engagement_reads(page_miss)
    assert engagement_reads(page_hit) == []
    assert len(page_hit) < len(page_miss)
    # Whatever the rows: the session, the user and their permissions (2) and groups, the filter form's four
    # lists of choices, the saved filters and the header's notifications.
    assert len(page_hit) <= 11
    assert len(api_hit) <= 3  # at most the user and their permissions (none: the test client's user)


def test_a_viewer_never_gets_an_analysts_entry(
    snapshots, reference_data, analyst, viewer, client_for, api_for, django_capture_on_commit_callbacks
):
    EngagementFactory(title="Quiet exercise", sensitivity="restricted")
    EngagementFactory(title="Open exercise")
    analyst_page = client_for(analyst).get("/engagements/").content.decode()
    assert "Quiet exercise" in analyst_page and "Open exercise" in analyst_page
    assert "Quiet exercise" in api_for(analyst).get(API).content.decode()
    viewer_page = client_for(viewer).get("/engagements/").content.decode()
    assert "Open exercise" in viewer_page and "Quiet exercise" not in viewer_page
    viewer_api = api_for(viewer).get(API).json()
    assert [row["title"] for row in viewer_api["results"]] == ["Open exercise"] and viewer_api["count"] == 1


def test_mine_is_never_shared_between_two_planners(snapshots, planner, make_user, reference_data, client_for, api_for):
    other = make_user("planner2", "planner")
    create(planner, "First planner drill")
    create(other, "Second planner drill")
    assert "First planner drill" in client_for(planner).get("/engagements/", {"view": "mine"}).content.decode()
    html = client_for(other).get("/engagements/", {"view": "mine"}).content.decode()
    assert "Second planner drill" in html and "First planner drill" not in html
    assert [r["title"] for r in api_for(planner).get(API, {"view": "mine"}).json()["results"]] == [
        "First planner drill"
    ]
    assert [r["title"] for r in api_for(other).get(API, {"view": "mine"}).json()["results"]] == ["Second planner drill"]


def test_exports_and_the_browsable_api_are_computed(listed, planner, client_for, api_for):
    client = client_for(planner)
    client.get("/engagements/")
    export = client.get("/engagements/", {"export": "csv"})
    assert export["Content-Type"].startswith("text/csv")
    assert "Harbour drill" in b"".join(export.streaming_content).decode()
    api = api_for(planner)
    api.get(API)
    browsable = api.get(API, HTTP_ACCEPT="text/html")
    assert browsable["Content-Type"].startswith("text/html")


def test_a_rejected_filter_is_not_kept_and_leaves_no_lock(listed, planner, client_for, api_for):
    client, api = client_for(planner), api_for(planner)
    for _ in range(2):  # the second would wait for the first's lock if it were left behind
        assert client.get("/engagements/", {"start_after": "not a date"}).status_code == 400
        assert api.get(API, {"start_after": "not a date"}).status_code == 400
    request = RequestFactory().get("/engagements/", {"start_after": "not a date"})
    request.user = planner
    snapshot = page_cache.list_snapshot(request, views.LIST_CACHE_KIND)
    assert snapshot.entry is None and snapshot.locked  # nothing kept, and the lock was free
    snapshot.release()


def key_of(path, query, user, *, language="en", kind=views.LIST_CACHE_KIND, extra=()):
    request = RequestFactory().get(path, query)
    request.user = user
    with translation.override(language):
        snapshot = page_cache.list_snapshot(request, kind, extra=extra)
    snapshot.release()
    return snapshot.key


def test_the_key_separates_what_changes_the_list(snapshots, reference_data, planner, analyst, viewer, make_user):
    base = key_of("/engagements/", {"partner": "SEN", "page_size": "50"}, viewer)
    # The same query in another order, and another user with the same permissions: one entry.
    assert key_of("/engagements/", [("page_size", "50"), ("partner", "SEN")], viewer) == base
    assert key_of("/engagements/", {"partner": "SEN", "page_size": "50"}, make_user("viewer2", "viewer")) == base
    others = [
        key_of("/engagements/", {"partner": "SEN", "page_size": "100"}, viewer),
        key_of("/engagements/", {"partner": "SEN", "page_size": "50", "page": "2"}, viewer),
        key_of("/engagements/", {"partner": "GHA", "page_size": "50"}, viewer),
        key_of("/engagements/", {"partner": "SEN", "page_size": "50"}, analyst),
        key_of("/engagements/", {"partner": "SEN", "page_size": "50"}, planner),
        key_of("/engagements/", {"partner": "SEN", "page_size": "50"}, AnonymousUser()),
        key_of("/engagements/", {"partner": "SEN", "page_size": "50"}, viewer, language="fr"),
        key_of(API, {"partner": "SEN", "page_size": "50"}, viewer, kind=api_views.LIST_CACHE_KIND),
        key_of("/engagements/", {"partner": "SEN", "page_size": "50"}, viewer, extra=("text/csv",)),
    ]
    assert len({base, *others}) == len(others) + 1
    with translation.override("en"), pytest.MonkeyPatch.context() as patch:
        patch.setattr(page_cache.timezone, "localdate", lambda: D(2030, 1, 1))
        assert key_of("/engagements/", {"partner": "SEN", "page_size": "50"}, viewer) != base


def test_a_series_rename_makes_the_lists_stale(snapshots, reference_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        series = ExerciseSeries.objects.create(name="Cutlass Express", slug="cutlass-express")
    before = page_cache.tag_versions([page_cache.ENGAGEMENTS, page_cache.DATA])
    with django_capture_on_commit_callbacks(execute=True):
        series.name = "Cutlass Express renamed"
        series.save()
    after = page_cache.tag_versions([page_cache.ENGAGEMENTS, page_cache.DATA])
    assert after[page_cache.ENGAGEMENTS] > before[page_cache.ENGAGEMENTS]
    assert after[page_cache.DATA] == before[page_cache.DATA]


def test_a_cached_page_is_the_page_computed(listed, planner, client_for, settings):
    def page(query):
        html = client_for(planner).get("/engagements/", query).content.decode()
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "csrf", html)

    query = {"q": "harbour", "status": ["planned", "completed"], "page_size": "25"}
    computed, served = page(query), page(query)
    assert 'name="q" value="harbour"' in served and "Harbour drill" in served  # the filter form and rows
    assert served == computed
    settings.DASHBOARD_CACHE_SECONDS = 0
    assert page(query) == computed


def test_a_partner_renamed_after_a_cached_list_is_on_the_next_one(
    listed, planner, client_for, django_capture_on_commit_callbacks
):
    client = client_for(planner)
    assert "Senegal" in client.get("/engagements/").content.decode()  # the host country's name
    with django_capture_on_commit_callbacks(execute=True):
        senegal = PartnerNation.objects.get(iso3="SEN")
        senegal.name = "Senegal renamed"
        senegal.save()
    assert "Senegal renamed" in client.get("/engagements/").content.decode()
