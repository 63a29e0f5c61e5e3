"""Dashboard snapshots in Redis (core/page_cache.py): served again only to users who may see the same thing,
in the same language, until a write they depend on or a scoring run makes them stale.

Tests run with the snapshot cache off (settings); these turn it on, on the real Redis, under a key prefix of
their own. Commits are simulated with ``django_capture_on_commit_callbacks(execute=True)``: the tags move
after commit, as they do in production.
"""

from __future__ import annotations

import datetime
import re
import socket

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessments.models import Alert, AssessmentRun
from assessments.services import assessment_run_execute, assessment_run_request
from core import page_cache
from engagements.services import engagement_update
from engagements.services.changes import engagement_changed
from partners.models import PartnerNation
from tests.assessments.factories import make_engagement

pytestmark = [pytest.mark.django_db, pytest.mark.requires_redis]

D = datetime.date


@pytest.fixture
def scored(reference_data, django_capture_on_commit_callbacks):
    """Ghana and Senegal fall from 2024-Q3 to 2024-Q4; Kenya and Tanzania hold a restricted exercise."""
    with django_capture_on_commit_callbacks(execute=True):
        engagements = {
            "west_sep": make_engagement(["GHA", "SEN"], D(2024, 9, 1), D(2024, 9, 30), ratings=(5, 5, 5)),
            "west_dec": make_engagement(["GHA", "SEN"], D(2024, 12, 1), D(2024, 12, 31), ratings=(1, 1, 1)),
            "east": make_engagement(
                ["KEN", "TZA"], D(2024, 10, 5), D(2024, 10, 9), ratings=(4, 4, 4), sensitivity="restricted"
            ),
        }
        run("2024-Q3", "2024-Q4")
    return engagements


def run(*periods):
    return assessment_run_execute(run_id=assessment_run_request(periods=list(periods), enqueue=False).pk)


def queries_of(client, url, **extra):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return response.content.decode(), len(captured)


def test_a_second_request_is_served_from_the_snapshot(snapshots, scored, analyst, make_user, client_for):
    url = "/assessments/partners/GHA/?period=2024-Q4"
    html, computed = queries_of(client_for(analyst), url)
    again, served = queries_of(client_for(make_user("analyst2", "analyst")), url)  # another analyst
    assert served < computed / 2, (served, computed)
    assert "Ghana" in again and "analyst2" in again and "analyst1" not in again  # the header is the reader's
    fragment = client_for(analyst).get(url, HTTP_X_FRAGMENT="dashboard").content.decode()
    assert "<header" not in fragment and "Ghana" in fragment


@pytest.mark.parametrize(
    "url",
    [
        "/assessments/partners/KEN/?period=2024-Q4",
        "/assessments/?period=2024-Q4",
        "/assessments/organizations/EAC/?period=2024-Q4",
        "/assessments/regions/africa/?period=2024-Q4",
    ],
)
def test_a_viewer_never_gets_a_page_cached_for_an_admin(snapshots, scored, admin_user_role, viewer, client_for, url):
    east = scored["east"]
    admin_html = client_for(admin_user_role).get(url).content.decode()
    assert "Recompute now" in admin_html
    viewer_html, _count = queries_of(client_for(viewer), url)
    assert "Recompute now" not in viewer_html and "/acknowledge/" not in viewer_html
    for leak in (east.reference, east.title, f"/engagements/{east.pk}/"):
        assert leak not in viewer_html, leak
    if "/partners/KEN/" in url:
        assert east.reference in admin_html  # the admin's copy did hold it
        assert "1 restricted engagement, weight" in viewer_html


def test_the_cached_page_carries_the_csrf_token_of_its_reader(snapshots, scored, analyst, make_user, client_for):
    url = "/assessments/?period=2024-Q4"
    first = client_for(analyst).get(url).content.decode()
    assert page_cache.CSRF_PLACEHOLDER not in first
    other = Client(enforce_csrf_checks=True)
    other.force_login(make_user("analyst2", "analyst"))
    html = other.get(url).content.decode()
    assert page_cache.CSRF_PLACEHOLDER not in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    alert = Alert.objects.get(partner__iso3="GHA")
    response = other.post(f"/assessments/alerts/{alert.pk}/acknowledge/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302  # not 403: the token in the cached page is the reader's own
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None


def test_a_finished_run_shows_on_the_next_request(
    snapshots, scored, analyst, client_for, django_capture_on_commit_callbacks
):
    url = "/assessments/?period=2024-Q4"
    client = client_for(analyst)
    before = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_engagement(["FRA", "DEU"], D(2024, 11, 1), D(2024, 11, 3))
    with django_capture_on_commit_callbacks(execute=True):
        newer = run("2024-Q4")
    after = client.get(url).content.decode()
    assert f"run {str(newer.pk)[:8]}" in after and f"run {str(newer.pk)[:8]}" not in before
    # Germany is scored by the newer run (every country is named in the map's tooltips, scored or not).
    assert "Germany (DEU): no score in 2024-Q4" in before and "Germany (DEU): no score" not in after


def test_an_engagement_write_shows_on_the_next_request(
    snapshots, scored, analyst, planner, client_for, django_capture_on_commit_callbacks
):
    url = "/assessments/partners/GHA/?period=2024-Q4"
    client = client_for(analyst)
    assert "No changes are waiting" in client.get(url).content.decode()
    engagement = scored["west_dec"]
    with django_capture_on_commit_callbacks(execute=True):
        engagement_update(engagement=engagement, updated_by=planner, title="Coastal patrol renamed")
    html = client.get(url).content.decode()
    assert "Coastal patrol renamed" in html
    assert "engagement change is waiting to be scored" in html


def test_a_save_shows_as_pending_on_the_next_cached_overview(
    snapshots, scored, analyst, planner, client_for, django_capture_on_commit_callbacks
):
    url = "/assessments/?period=2024-Q4"
    client = client_for(analyst)
    client.get(url)
    assert "No changes are waiting" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        engagement_update(engagement=scored["west_dec"], updated_by=planner, title="Coastal patrol renamed")
    html = client.get(url).content.decode()
    # Ghana's and Senegal's: one change each, waiting for the run the save queued.
    assert "2 engagement changes are waiting to be scored" in html and "No changes are waiting" not in html


@pytest.mark.parametrize(("url", "most"), [("/assessments/?period=2024-Q4", 4), ("/assessments/partners/GHA/", 5)])
def test_a_cached_dashboard_costs_a_few_queries(snapshots, scored, analyst, client_for, url, most):
    """Session, user, the active model with the freshness line's pending part (one query), the inbox badge;
    the partner page reads its partner too. Permissions and groups come from the cache (core/user_facts.py)."""
    client = client_for(analyst)
    client.get(url)
    _html, served = queries_of(client, url)
    assert served <= most, served


def test_french_and_english_are_cached_apart(snapshots, scored, analyst, client_for):
    client = client_for(analyst)
    english = client.get("/assessments/?period=2024-Q4", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    french = client.get("/assessments/?period=2024-Q4", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Recompute now" in english and "Recalculer maintenant" not in english
    assert "Recalculer maintenant" in french and "Recompute now" not in french


def test_list_counts_follow_visibility_and_writes(
    snapshots, scored, analyst, viewer, client_for, api_for, django_capture_on_commit_callbacks
):
    def count(user, partner):
        html = client_for(user).get("/engagements/", {"partner": partner}).content.decode()
        return int(re.search(r"<span class=\"muted\">(\d+) engagements?", html).group(1))

    assert count(analyst, "KEN") == 1 and count(viewer, "KEN") == 0  # the restricted one exists for analysts only
    assert count(analyst, "KEN") == 1 and count(viewer, "KEN") == 0  # and so in the cached counts
    assert count(viewer, "GHA") == 2
    api = api_for(viewer)
    assert api.get("/api/v1/engagements/", {"partner": "GHA"}).json()["count"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        added = make_engagement(["GHA"], D(2025, 1, 1), D(2025, 1, 2))
        engagement_changed(added)  # announced after commit as every service's write is: the lists are cached
    assert count(viewer, "GHA") == 3
    assert added.reference in client_for(viewer).get("/engagements/", {"partner": "GHA"}).content.decode()
    assert api.get("/api/v1/engagements/", {"partner": "GHA"}).json()["count"] == 3
    assert api_for(analyst).get("/api/v1/engagements/", {"partner": "KEN"}).json()["count"] == 1
    assert api.get("/api/v1/engagements/", {"partner": "KEN"}).json()["count"] == 0


def test_the_partner_page_lists_its_contributions_a_page_at_a_time(
    snapshots, scored, analyst, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for day in range(1, 31):
            make_engagement(["GHA"], D(2024, 11, day), D(2024, 11, day))
        run("2024-Q4")

    def rows(page):
        html = client.get("/assessments/partners/GHA/", {"period": "2024-Q4", "page_size": 25, "page": page})
        html = html.content.decode()
        table = html[html.index('class="data small contributions"') :]
        return table[: table.index("</table>")].count("<tr"), html

    client = client_for(analyst)
    first, html = rows(1)
    assert "The 32 engagements that contributed" in html and "Page 1 of 2 (32 in all)" in html
    second, html = rows(2)
    assert (first, second) == (1 + 25, 1 + 7)  # the head row, then the engagements


def test_pages_are_computed_when_redis_is_down(settings, scored, analyst, client_for):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/1",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    settings.DASHBOARD_CACHE_SECONDS = 600
    client = client_for(analyst)
    for _ in range(2):
        response = client.get("/assessments/partners/GHA/?period=2024-Q4")
        assert response.status_code == 200 and "Ghana" in response.content.decode()
    assert AssessmentRun.objects.count() == 1


# --- what invalidates what (core/page_cache.py, "Tags") --------------------------------------------------------


@pytest.fixture
def renders(monkeypatch):
    """The keys of the pages rendered and stored since the list was last cleared."""
    stored = []
    store = page_cache.Snapshot.store

    def recording(snapshot, *args, **kwargs):
        stored.append(snapshot.key)
        return store(snapshot, *args, **kwargs)

    monkeypatch.setattr(page_cache.Snapshot, "store", recording)
    return stored


def served_from_cache(client, url, renders):
    """The page, and whether it was served from its cached copy (not rendered)."""
    renders.clear()
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode(), not renders


def test_a_save_makes_stale_only_the_pages_that_read_its_partners(
    snapshots, scored, analyst, planner, client_for, django_capture_on_commit_callbacks, renders
):
    client = client_for(analyst)
    urls = {
        "ghana": "/assessments/partners/GHA/?period=2024-Q4",
        "kenya": "/assessments/partners/KEN/?period=2024-Q4",
        "overview": "/assessments/?period=2024-Q4",  # every quarter it shows is counted by the run
        "region": "/assessments/regions/africa/?period=2024-Q4",
    }
    for url in urls.values():
        client.get(url)
    east = scored["east"]
    with django_capture_on_commit_callbacks(execute=True):
        engagement_update(engagement=east, updated_by=planner, title="Lake exercise renamed")
    kenya, kenya_cached = served_from_cache(client, urls["kenya"], renders)
    assert not kenya_cached and "Lake exercise renamed" in kenya  # its own contributions, read again
    for name in ("ghana", "overview", "region"):
        html, cached = served_from_cache(client, urls[name], renders)
        assert cached, name  # a save about Kenya and Tanzania leaves them alone...
        # ...but their freshness line is read for each request: the run the save queued shows at once.
        assert "A run is queued or running." in html and "No changes are waiting" not in html, name


def test_a_finished_run_and_reference_data_refresh_every_page(
    snapshots, scored, analyst, client_for, django_capture_on_commit_callbacks, renders
):
    client = client_for(analyst)
    urls = [
        "/assessments/partners/GHA/?period=2024-Q4",
        "/assessments/?period=2024-Q4",
        "/assessments/regions/africa/?period=2024-Q4",
        "/assessments/organizations/EAC/?period=2024-Q4",
    ]
    for url in urls:
        client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        newer = run("2024-Q4")
    for url in urls:
        html, cached = served_from_cache(client, url, renders)
        assert not cached and f"run {str(newer.pk)[:8]}" in html, url
    ghana = PartnerNation.objects.get(iso3="GHA")
    with django_capture_on_commit_callbacks(execute=True):
        ghana.name = "Republic of Ghana"
        ghana.save(update_fields=["name"])
    for url in urls[:3]:
        html, cached = served_from_cache(client, url, renders)
        assert not cached and "Republic of Ghana" in html, url


def test_counts_read_live_follow_every_engagement_save(
    snapshots, scored, analyst, planner, client_for, django_capture_on_commit_callbacks, renders
):
    """The overview of 2024-Q3 also shows 2024-Q2, which no run has counted: its count is read from today's
    engagements, so any engagement save makes that page stale, and not the overview of 2024-Q4."""
    client = client_for(analyst)
    live_url, counted_url = "/assessments/?period=2024-Q3", "/assessments/?period=2024-Q4"
    before = client.get(live_url).content.decode()
    client.get(counted_url)
    assert activity_row(before, "2024-Q2") is not None
    with django_capture_on_commit_callbacks(execute=True):
        engagement_update(engagement=scored["west_sep"], updated_by=planner, start_date=D(2024, 6, 20))
    after, cached = served_from_cache(client, live_url, renders)
    assert not cached
    assert activity_row(after, "2024-Q2")[-1] == activity_row(before, "2024-Q2")[-1] + 1
    _html, cached = served_from_cache(client, counted_url, renders)
    assert cached


def activity_row(html, label):
    """The cells of the overview's engagements-per-quarter table for one quarter, as numbers."""
    found = re.search(rf'<th scope="row">{re.escape(label)}</th>((?:<td class="num">\d+</td>)+)', html)
    return None if found is None else [int(n) for n in re.findall(r"\d+", found.group(1))]


class _Busy:
    """The cache as a reader sees it while another process renders every page (holds every render lock)."""

    def __init__(self, cache):
        self._cache = cache

    def __getattr__(self, name):
        return getattr(self._cache, name)

    def add(self, key, *args, **kwargs):
        return False if key.endswith(":rendering") else self._cache.add(key, *args, **kwargs)


def test_while_one_reader_renders_the_others_get_the_previous_copy_for_a_bounded_time(
    snapshots, settings, scored, analyst, planner, client_for, django_capture_on_commit_callbacks, monkeypatch, renders
):
    client = client_for(analyst)
    url = "/assessments/partners/GHA/?period=2024-Q4"
    client.get(url)
    settings.DASHBOARD_STALE_SECONDS = 30
    monkeypatch.setattr(page_cache, "cache", _Busy(page_cache.cache))
    monkeypatch.setattr(page_cache, "RENDER_WAIT_SECONDS", 0)  # nobody would store it: render at once
    with django_capture_on_commit_callbacks(execute=True):
        engagement_update(engagement=scored["west_dec"], updated_by=planner, title="Coastal patrol renamed")
    stale, cached = served_from_cache(client, url, renders)
    assert cached and "Coastal patrol renamed" not in stale  # the copy from before the save...
    assert "engagement change is waiting to be scored" in stale  # ...with today's freshness line
    fragment = client.get(url, HTTP_X_FRAGMENT="dashboard").content.decode()
    assert "Coastal patrol renamed" in fragment  # "Recompute now" asks for the new numbers: never stale
    with django_capture_on_commit_callbacks(execute=True):
        engagement_update(engagement=scored["west_dec"], updated_by=planner, title="Coastal patrol, again")
    assert "Coastal patrol, again" not in client.get(url).content.decode()
    settings.DASHBOARD_STALE_SECONDS = 0  # the save is now older than the bound: no stale copy any more
    assert "Coastal patrol, again" in client.get(url).content.decode()
