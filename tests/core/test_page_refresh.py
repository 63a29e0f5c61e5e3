"""Cached pages and lists rendered again at most every ``PAGE_REFRESH_SECONDS`` while saves keep coming
(core/page_cache.py, "Re-rendered at most every"): others' saves show once the copy is older than the
window, the user who saved sees their save at once, and a failed write marks no one.

On the real Redis under a key prefix of the test's own (``snapshots``); commits simulated with
``django_capture_on_commit_callbacks(execute=True)``, so the tags move as after a commit.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory

from core import page_cache
from engagements import services, views
from tests.engagements import test_views as pages
from tests.engagements.test_list_cache import create

pytestmark = [pytest.mark.django_db, pytest.mark.requires_redis]

API = "/api/v1/engagements/"
WINDOW = 30


@pytest.fixture
def window(snapshots, settings):
    settings.PAGE_REFRESH_SECONDS = WINDOW


@pytest.fixture
def listed(window, planner, reference_data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return create(planner, "Harbour drill")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def list_key(user) -> str:
    request = RequestFactory().get("/engagements/")
    request.user = user
    snapshot = page_cache.list_snapshot(request, views.LIST_CACHE_KIND)
    snapshot.release()
    return snapshot.key


def age(key: str, seconds: float) -> None:
    """Make the cached copy under ``key`` look rendered ``seconds`` earlier than it was."""
    html, extra, versions, read_at = cache.get(key)
    cache.set(key, (html, extra, versions, read_at - seconds), timeout=600)


def old_copy_then_new_one(client, user) -> None:
    """``user``'s list is their copy without the rename in the window, and shows it once the copy is older."""
    html = client.get("/engagements/").content.decode()
    assert "Harbour drill" in html and "Harbour drill renamed" not in html
    age(list_key(user), WINDOW + 1)
    assert "Harbour drill renamed" in client.get("/engagements/").content.decode()


def rename(engagement, user, title, capture) -> None:
    """A save outside any request (the service, as a background job or another process would): no user is
    marked as having written."""
    with capture(execute=True):
        services.engagement_update(engagement=engagement, updated_by=user, title=title)


def test_another_users_save_shows_once_the_copy_is_older_than_the_window(
    listed, planner, analyst, django_capture_on_commit_callbacks
):
    reader = logged_in(analyst)
    assert "Harbour drill" in reader.get("/engagements/").content.decode()
    rename(listed, planner, "Harbour drill renamed", django_capture_on_commit_callbacks)
    # Within the window the copy is served as it is: the save is not on it yet.
    old_copy_then_new_one(reader, analyst)


def test_the_user_who_saved_through_the_api_sees_it_at_once_and_others_after_the_window(
    listed, planner, analyst, api_for, django_capture_on_commit_callbacks
):
    writer, reader = logged_in(planner), logged_in(analyst)
    assert "Harbour drill" in writer.get("/engagements/").content.decode()
    assert "Harbour drill" in reader.get("/engagements/").content.decode()
    api = api_for(planner)
    before = api.get(API).json()["results"]
    assert [row["title"] for row in before] == ["Harbour drill"]
    version = api.get(f"{API}{listed.pk}/").json()["version"]
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.patch(f"{API}{listed.pk}/", {"title": "Harbour drill renamed", "version": version}, format="json")
    assert answer.status_code == 200, answer.content
    # The planner who saved, through the API and on the page: at once.
    assert [row["title"] for row in api.get(API).json()["results"]] == ["Harbour drill renamed"]
    assert "Harbour drill renamed" in writer.get("/engagements/").content.decode()
    # The analyst, who wrote nothing, keeps their copy (their own: their permissions differ) in the window.
    old_copy_then_new_one(reader, analyst)


def test_a_save_through_the_page_marks_its_user_and_not_the_others(
    window, planner, analyst, reference_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        engagement = pages.create(planner)  # "Flintlock 2025", hosted by CIV with USA
    reader, writer = logged_in(analyst), logged_in(planner)
    assert "Flintlock 2025" in reader.get("/engagements/").content.decode()
    assert "Flintlock 2025" in writer.get("/engagements/").content.decode()
    data = pages.form_data(
        title="Flintlock renamed",
        version=str(engagement.version),
        start_date=engagement.start_date.isoformat(),
        end_date=engagement.end_date.isoformat(),
    )
    data["participants-INITIAL_FORMS"] = "2"
    with django_capture_on_commit_callbacks(execute=True):
        posted = writer.post(f"/engagements/{engagement.pk}/edit/", data)
    assert posted.status_code == 302
    assert "Flintlock renamed" in writer.get("/engagements/").content.decode()
    # The analyst's copy (their own: their permissions differ) was rendered before the save: still served.
    html = reader.get("/engagements/").content.decode()
    assert "Flintlock 2025" in html and "Flintlock renamed" not in html


def test_a_refused_write_marks_no_one(listed, planner, api_for, django_capture_on_commit_callbacks):
    api = api_for(planner)
    assert [row["title"] for row in api.get(API).json()["results"]] == ["Harbour drill"]
    with django_capture_on_commit_callbacks(execute=True):
        refused = api.patch(f"{API}{listed.pk}/", {"title": "", "version": listed.version}, format="json")
    assert refused.status_code == 400 and "title" in refused.json()["errors"]
    rename(listed, planner, "Harbour drill renamed", django_capture_on_commit_callbacks)
    assert [row["title"] for row in api.get(API).json()["results"]] == ["Harbour drill"]


def test_at_zero_every_change_is_rendered_at_once(
    listed, planner, analyst, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_REFRESH_SECONDS = 0
    reader = logged_in(analyst)
    assert "Harbour drill" in reader.get("/engagements/").content.decode()
    rename(listed, planner, "Harbour drill renamed", django_capture_on_commit_callbacks)
    assert "Harbour drill renamed" in reader.get("/engagements/").content.decode()


def test_a_dashboard_is_rendered_again_after_the_window_and_at_once_for_a_fragment(
    window, analyst, reference_data, monkeypatch
):
    rendered = []
    store = page_cache.Snapshot.store
    monkeypatch.setattr(
        page_cache.Snapshot, "store", lambda self, *a, **k: (rendered.append(self.key), store(self, *a, **k))
    )
    reader = logged_in(analyst)
    assert reader.get("/assessments/").status_code == 200
    assert len(rendered) == 1
    page_cache.tags_bump([page_cache.DATA])  # reference data changed after the copy was rendered
    assert reader.get("/assessments/").status_code == 200
    assert len(rendered) == 1  # the copy, younger than the window
    # "Recompute now" asks for the new numbers as a fragment: rendered at once.
    assert reader.get("/assessments/", HTTP_X_FRAGMENT="dashboard").status_code == 200
    assert len(rendered) == 2
    page_cache.tags_bump([page_cache.DATA])
    age(rendered[0], WINDOW + 1)
    assert reader.get("/assessments/").status_code == 200
    assert len(rendered) == 3


def test_an_engagement_made_restricted_leaves_a_viewers_list_at_once(
    listed, planner, viewer, analyst, django_capture_on_commit_callbacks
):
    """A viewer may not read restricted engagements: their copies are never served past a change, so one
    made restricted is gone from their next list (an analyst, who may read it, keeps their copy a while)."""
    watcher, reader = logged_in(viewer), logged_in(analyst)
    assert "Harbour drill" in watcher.get("/engagements/").content.decode()
    assert "Harbour drill" in reader.get("/engagements/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.engagement_update(engagement=listed, updated_by=planner, sensitivity="restricted")
    assert "Harbour drill" not in watcher.get("/engagements/").content.decode()
    assert "Harbour drill" in reader.get("/engagements/").content.decode()


def test_a_writer_waits_for_the_new_copy_while_another_reader_renders_it(window, analyst, reference_data, monkeypatch):
    """Stale while revalidate serves others the old copy while one reader renders; never the user who
    just wrote: they wait for the new copy (here the renderer never finishes, so they render it themselves)."""
    reader = logged_in(analyst)
    assert reader.get("/assessments/").status_code == 200
    request = RequestFactory().get("/assessments/")
    request.user = analyst

    def opened():
        from assessments import dashboard_views

        model, _ = dashboard_views._model_and_pending(request)
        return dashboard_views._snapshot(request, "overview", model, tags=[page_cache.ENGAGEMENTS])

    key = opened().key
    age(key, WINDOW + 1)
    page_cache.tags_bump([page_cache.DATA])
    cache.add(f"{key}:rendering", 1, timeout=30)  # another reader is rendering the new copy
    assert opened().entry is not None  # a reader who wrote nothing: the old copy, within the stale bound
    page_cache.writer_note(analyst)
    monkeypatch.setattr(page_cache, "RENDER_WAIT_SECONDS", 0.3)
    waited = opened()
    assert waited.entry is None  # no stale copy: it waited, then renders the page itself
    waited.release()
