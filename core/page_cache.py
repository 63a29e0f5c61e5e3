"""Rendered dashboard snapshots kept in the shared cache, each invalidated only by what it depends on.

Why: on two cores, eight concurrent readers get a median under 100 ms only if a page costs about 25 ms of
work; the dashboards re-aggregate hundreds of thousands of rows each time. Their content changes when a
scoring run ends or reference data changes, rarely with a single engagement, so a page is rendered once and
served from Redis until something it depends on changes.

**Tags.** A page depends on a few *tags*, each a counter in the cache bumped after the commit that changes
what it stands for (README, "Dashboards served from Redis", has the table):

- ``scores``: a scoring run ended (``assessment_run_finished``): scores, their snapshots of engagement
  counts, alerts it raised;
- ``data``: any other save or delete in the partners, organizations and assessments apps (partners,
  memberships, objectives and indicators, acknowledged alerts, scoring models), but not the run's own
  bookkeeping (``AssessmentRun``, ``AssessmentRunPart``: a save queues a run, and what a run changes is
  announced at its end);
- ``engagements`` and ``partner:<id>``: engagement data changed (the change outbox,
  ``engagement_data_changed``, sent after commit by every engagement write, bulk ones and imports
  included), for every partner the write touched, before and after it. Engagement-app models are never
  bumped by their save signals: the outbox says more precisely what changed.

Every page depends on ``scores`` and ``data``; a partner's assessment also on ``partner:<id>`` (its
contributing engagements and its figures from today's data are read live); the overview also on
``engagements`` when a quarter it shows has not been counted by a run (its counts are then live). What
changes with every save, the pending changes and the queued runs of the "freshness" line, is rendered for
each request outside the cached content (``LIVE_PLACEHOLDER``), as are the header and the CSRF token.

A reader reads the tags' versions *before* reading any data and stores them with the page; an entry is
fresh while every tag it depends on still has the version it was rendered at. Bumping after commit means a
reader can never store data older than the versions it holds.

**Stale while revalidate.** When an entry is out of date, the first reader takes a short lock and renders
it; the others meanwhile get the previous copy, but only within ``DASHBOARD_STALE_SECONDS`` of the first
change it misses (each bump records when it happened) and never for an ``X-Fragment`` request (the
"Recompute now" script asks for the new numbers that way). Past that bound, or with no copy at all, they
wait for the renderer's copy, and one of them takes over if the renderer gives up or its lock expires
(``RENDER_WAIT_SECONDS`` at most, then they render it themselves). A save therefore never makes every
reader render, and no reader sees a page older than the bound.

**The key** holds everything that changes the output apart from the data: the page and its query string,
the user's *visibility class* (the sorted set of their permissions, which decides whether restricted
engagements exist for them and which buttons show), the language, the time zone, the active scoring model
and the current quarter (the default when no scores exist). Never the user: two analysts share entries, an
analyst and a viewer never do.

**Lists** (``list_snapshot``): the engagement list's results (its count, rows and pages) and the API's
engagement list are cached the same way, under the same key parts plus the day (the default order and the
views "current", "upcoming" and "recent" are counted from today) and, for the API, the response's media
type. They depend on ``engagements`` and ``data`` and are *strict*: never served stale past the refresh
window below (no copy is served while another renders), and never to the user who saved, so a planner's
save is on their next list. The other names a row shows, a series' and a unit's, bump ``engagements`` when
saved (``bumps_engagements``). What depends on the user is never cached: the view "mine", and on the
page the saved filters and forms above the results (rendered for each request).

**Re-rendered at most every ``PAGE_REFRESH_SECONDS``.** While saves keep coming (planners at work, an
import), every save made the lists and the partners' pages it touched stale, and each was rendered again
at once: on two cores, a page of 0.5 s rendered after each save of a second took the CPU the saves needed.
So a copy rendered less than ``PAGE_REFRESH_SECONDS`` ago (counted from when its versions were read, before
its data) is served as it is, lists included, and the page is rendered again once it is older: what others
saved shows on the next render, at most that many seconds later. Never to the user who saved: a write
(any POST, PUT, PATCH or DELETE answered below 400, through a page or the API) marks its user for that long
(``writer_note``, called by ``core.middleware.RecentWriterMiddleware``), and a marked user is never served
a stale copy, not even while another reader renders the new one (they wait for it, as for a strict list),
so a planner's own save is on their next list and page. Nor for an ``X-Fragment`` request,
nor to a user who may not read restricted engagements (the callers say who may wait, ``may_lag``): an
engagement made restricted leaves a viewer's pages at once. At 0, every change is rendered at once (the
tests' default).

Without a shared cache (no ``REDIS_URL``: local memory is per process) or with ``DASHBOARD_CACHE_SECONDS``
at 0, nothing is cached. With Redis unreachable the tags cannot be read and every page is computed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.middleware.csrf import get_token
from django.utils import timezone, translation

from core.replica import reading_from_replica

SCORES, DATA, ENGAGEMENTS = "scores", "data", "engagements"
BUMPED_AT_KEY = "dashboards:bumped-at"
# Put in the cached HTML where a form's CSRF token goes (never a valid token), replaced on every request.
CSRF_PLACEHOLDER = "csrf-token-of-the-request"
# Where the part of a page rendered for each request goes (the freshness line: pending changes, runs).
LIVE_PLACEHOLDER = "<!-- live part of the page -->"
# One reader renders a page while the others serve the stale copy or wait for its copy, this long at most.
RENDER_LOCK_SECONDS = RENDER_WAIT_SECONDS = 30
# The apps whose saves and deletes bump ``data``, and the models of theirs announced otherwise.
WATCHED_APPS = frozenset({"partners", "organizations", "assessments"})
ANNOUNCED_MODELS = frozenset({("assessments", "assessmentrun"), ("assessments", "assessmentrunpart")})
# Engagement-app and core models whose names a list row shows but whose saves the change outbox does not
# announce: a save bumps ``engagements``.
LISTED_MODELS = frozenset({("engagements", "exerciseseries"), ("core", "unit")})


def enabled() -> bool:
    return settings.DASHBOARD_CACHE_SECONDS > 0


def partner_tag(partner_id: int) -> str:
    return f"partner:{partner_id}"


def _tag_key(tag: str) -> str:
    return f"dashboards:tag:{tag}"


def _writer_key(user_pk) -> str:
    return f"dashboards:writer:{user_pk}"


def _bumped_key(tag: str, version: int) -> str:
    return f"dashboards:tag:{tag}:bumped:{version}"


def _first_version() -> int:
    """A new counter starts at the time in milliseconds: above any value a lost (evicted) one reached."""
    return int(time.time() * 1000)


def tag_versions(tags: Iterable[str], *, with_key: str | None = None, also=()) -> dict[str, int] | None:
    """The current version of each tag (started if new), or None when the cache cannot be read. With
    ``with_key`` (and any keys in ``also``), those entries are read in the same round trip and returned
    under their keys (absent when not in the cache)."""
    tags = list(dict.fromkeys(tags))
    extra_keys = ([with_key] if with_key else []) + list(also)
    found = cache.get_many([_tag_key(tag) for tag in tags] + extra_keys)
    entry = {key: found.pop(key) for key in extra_keys if key in found}
    missing = [tag for tag in tags if _tag_key(tag) not in found]
    if missing:
        for tag in missing:
            cache.add(_tag_key(tag), _first_version(), timeout=None)
        found.update(cache.get_many([_tag_key(tag) for tag in missing]))
    if any(_tag_key(tag) not in found for tag in tags):
        return None
    return {tag: found[_tag_key(tag)] for tag in tags} | entry


def tags_bump(tags: Iterable[str]) -> None:
    """Make the pages that depend on these tags stale (after commit: see ``data_bump_on_commit``), noting
    when, so that their stale copies are served only within ``DASHBOARD_STALE_SECONDS`` of it."""
    if not enabled():
        return
    now = time.time()
    bumped = {}
    for tag in dict.fromkeys(tags):
        try:
            version = cache.incr(_tag_key(tag))
        except ValueError:  # no counter (evicted, or Redis unreachable): start one above any earlier value
            version = _first_version()
            cache.set(_tag_key(tag), version, timeout=None)
        bumped[_bumped_key(tag, version)] = now
    bumped[BUMPED_AT_KEY] = now
    cache.set_many(bumped, timeout=max(settings.DASHBOARD_STALE_SECONDS, 1) + RENDER_LOCK_SECONDS)


def writer_note(user) -> None:
    """``user`` has just written: for ``PAGE_REFRESH_SECONDS`` their reads are never served a copy rendered
    before it (see the module's docstring, "Re-rendered at most every")."""
    seconds = settings.PAGE_REFRESH_SECONDS
    if not enabled() or seconds <= 0 or not getattr(user, "is_authenticated", False):
        return
    # A second more than the window: a copy is served until its window ends, counted from before its render.
    cache.set(_writer_key(user.pk), 1, timeout=seconds + 1)


def engagements_changed(partner_ids: Iterable[int]) -> None:
    """Engagement data changed (after commit) for these partners: their pages and live counts are stale."""
    tags_bump([ENGAGEMENTS, *(partner_tag(pk) for pk in partner_ids)])


def _may_store() -> bool:
    """A page read on the replica right after a write may show the replica's older rows: it is served but
    not kept, until the replica has had the read-your-writes delay to catch up (core/replica.py)."""
    if not reading_from_replica():
        return True
    bumped_at = cache.get(BUMPED_AT_KEY) or 0
    return time.time() - bumped_at > settings.DATABASE_REPLICA_STICKY_SECONDS


class _PendingBump(threading.local):
    def __init__(self):
        self.callbacks = {}


_pending = _PendingBump()


def data_bump_on_commit(using: str = DEFAULT_DB_ALIAS, tag: str = DATA) -> None:
    """Bump ``tag`` (``data`` unless told) once after the current transaction commits (at once outside
    one): one bump is queued per transaction and tag however many rows it saves (a rolled-back transaction
    drops its queued bump, and the next write queues a new one)."""
    if not enabled():
        return
    connection = connections[using]
    pending = _pending.callbacks.get(tag)
    if pending is not None and any(entry[1] is pending for entry in connection.run_on_commit):
        return

    def bump():
        if _pending.callbacks.get(tag) is bump:
            del _pending.callbacks[tag]
        tags_bump([tag])

    _pending.callbacks[tag] = bump
    transaction.on_commit(bump, using=using)


def bumps_data(app_label: str, model_name: str) -> bool:
    """Whether a save or delete of this model bumps ``data`` (see the module's docstring)."""
    return app_label in WATCHED_APPS and (app_label, model_name) not in ANNOUNCED_MODELS


def bumps_engagements(app_label: str, model_name: str) -> bool:
    """Whether a save or delete of this model bumps ``engagements``: names the lists show (``LISTED_MODELS``)."""
    return (app_label, model_name) in LISTED_MODELS


def visibility_class(user) -> str:
    """What decides what a user may see and do on a page: their permissions (restricted engagements exist
    only for those who may read them; buttons show by permission), never who they are."""
    if not user.is_authenticated:
        return "anonymous"
    permissions = "|".join(sorted(user.get_all_permissions()))
    return hashlib.sha256(f"{user.is_superuser}:{permissions}".encode()).hexdigest()[:24]


@dataclass
class Snapshot:
    """One page's place in the cache for one request. ``entry`` (``(html, extra)``) is what to serve, fresh
    or stale within the bound; without it this request renders the page and calls ``store`` (or
    ``release``), naming the tags the page turned out to depend on."""

    key: str
    versions: dict[str, int]
    entry: tuple[str, dict] | None = None
    stale: bool = False
    locked: bool = False
    depends: set[str] = field(default_factory=set)
    read_at: float = field(default_factory=time.time)  # when the versions were read, before any data

    def store(self, html: str, extra: dict | None = None) -> None:
        if _may_store():
            versions = {tag: self.versions[tag] for tag in self.depends}
            entry = (html, extra or {}, versions, self.read_at)
            cache.set(self.key, entry, timeout=settings.DASHBOARD_CACHE_SECONDS)
        self.release()

    def release(self) -> None:
        """The page was not kept (an error, a 400): let the next reader render it without waiting."""
        if self.locked:
            cache.delete(f"{self.key}:rendering")
            self.locked = False


def _is_fresh(entry, versions: dict[str, int]) -> bool:
    return all(tag in versions and version >= versions[tag] for tag, version in entry[2].items())


def _recently_rendered(entry) -> bool:
    """Whether the copy's versions were read less than ``PAGE_REFRESH_SECONDS`` ago (a copy kept by the code
    before this window has no time: it is not)."""
    read_at = entry[3] if len(entry) > 3 else 0
    return time.time() - read_at < settings.PAGE_REFRESH_SECONDS


def _within_stale_bound(entry, versions: dict[str, int]) -> bool:
    """Whether the first change this entry misses happened less than ``DASHBOARD_STALE_SECONDS`` ago."""
    missed = [_bumped_key(tag, version + 1) for tag, version in entry[2].items() if version < versions.get(tag, 0)]
    found = cache.get_many(missed)
    limit = time.time() - settings.DASHBOARD_STALE_SECONDS
    return len(found) == len(missed) and all(at > limit for at in found.values())


def snapshot_open(
    request, kind: str, *, tags: Iterable[str], extra=(), strict: bool = False, may_lag: bool = False
) -> Snapshot | None:
    """The page's snapshot for this request, or None when nothing may be cached (then render as usual).

    ``tags`` are every tag the page may depend on; their versions are read here, before any data. A
    ``strict`` page is never served stale: a reader waits for the renderer's fresh copy or renders it. With
    ``may_lag``, a copy younger than ``PAGE_REFRESH_SECONDS`` is served as it is (the module's docstring): the
    caller says so only for a reader who may read restricted engagements, so that one made restricted leaves
    a viewer's pages at once (DESIGN, "Restricted means invisible")."""
    if not enabled() or request.method != "GET":
        return None
    query = sorted((name, value) for name in request.GET for value in request.GET.getlist(name))
    parts = (
        request.path,
        tuple(query),
        visibility_class(request.user),
        translation.get_language(),
        timezone.get_current_timezone_name(),
        *extra,
    )
    key = f"page:{kind}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"
    writer = _writer_key(request.user.pk) if request.user.is_authenticated else None
    # The tags' versions, the page's copy and whether this user just wrote, in one round trip (the versions
    # were read first all the same: the data the copy was rendered from was read after the versions it holds).
    versions = tag_versions(tags, with_key=key, also=[writer] if writer else [])
    if versions is None:
        return None
    entry = versions.pop(key, None)
    wrote = versions.pop(writer, None) is not None if writer else False
    snapshot = Snapshot(key=key, versions=versions)
    if entry is not None and _is_fresh(entry, versions):
        snapshot.entry = entry[:2]
        return snapshot
    fragment = request.headers.get("X-Fragment") is not None
    if may_lag and entry is not None and not wrote and not fragment and _recently_rendered(entry):
        snapshot.entry, snapshot.stale = entry[:2], True  # rendered again once older (the docstring says why)
        return snapshot
    snapshot.locked = bool(cache.add(f"{key}:rendering", 1, timeout=RENDER_LOCK_SECONDS))
    if snapshot.locked:
        return snapshot
    may_serve_stale = not strict and not fragment and not wrote  # a writer waits for the new copy
    if entry is not None and may_serve_stale and _within_stale_bound(entry, versions):
        snapshot.entry, snapshot.stale = entry[:2], True
        return snapshot
    # Wait for the renderer's copy; take over if it gave up (an error, a 400) or its lock expired. Never
    # render beside it before RENDER_WAIT_SECONDS: on a busy machine that is what makes a render slow.
    deadline = time.monotonic() + RENDER_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        entry = cache.get(key)
        if entry is not None and _is_fresh(entry, versions):
            snapshot.entry = entry[:2]
            return snapshot
        if cache.add(f"{key}:rendering", 1, timeout=RENDER_LOCK_SECONDS):
            snapshot.locked = True
            return snapshot
    return snapshot


def list_snapshot(request, kind: str, *, extra=(), may_lag: bool = False) -> Snapshot | None:
    """A list's cached results for this request (None: compute them): depends on ``engagements`` and
    ``data``, never served stale past ``PAGE_REFRESH_SECONDS`` (``may_lag``) nor to a user who just wrote,
    keyed also by today's date (the lists' order and views count from it).
    The caller leaves out what depends on the user (the view "mine") and exports, and names ``kind`` with
    a version that changes with what is kept (a new template), so that copies kept by the code before a
    deployment are not served by the code after it."""
    tags = {ENGAGEMENTS, DATA}
    snapshot = snapshot_open(
        request,
        f"list:{kind}",
        tags=tags,
        extra=(timezone.localdate().isoformat(), *extra),
        strict=True,
        may_lag=may_lag,
    )
    if snapshot is not None:
        snapshot.depends = tags
    return snapshot


def with_request_parts(request, html: str, live: str = "") -> str:
    """The cached HTML with this request's CSRF token where the placeholder is, and its live part."""
    if LIVE_PLACEHOLDER in html:
        html = html.replace(LIVE_PLACEHOLDER, live)
    if CSRF_PLACEHOLDER not in html:
        return html
    return html.replace(CSRF_PLACEHOLDER, get_token(request))
