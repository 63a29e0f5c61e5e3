"""Rendered dashboard snapshots kept in the shared cache, invalidated by a generation.

Why: on two cores, eight concurrent readers get a median under 100 ms only if a page costs about 25 ms of
work; the dashboards re-aggregate hundreds of thousands of rows each time. Their content changes only when
data is written or a scoring run moves, so it is rendered once per *generation* and served from Redis.

**The generation.** One counter in the cache, bumped after the commit of every write that can change what a
dashboard shows: any save or delete of a model of the domain apps, the engagement change outbox
(``engagement_data_changed``, which also covers bulk writes and imports) and a scoring run's end
(``assessment_run_finished``). Every key holds the generation it was rendered at, so a bump makes every old
entry unreachable at once (nothing is deleted; old entries expire). Bumping after commit means a reader can
never store data older than the generation it was read under.

**The key** holds everything that changes the output apart from the data: the page and its query string,
the user's *visibility class* (the sorted set of their permissions, which decides whether restricted
engagements exist for them and which buttons show), the language, the time zone, the active scoring model
and the current quarter (the default when no scores exist). Never the user: two analysts share entries, an
analyst and a viewer never do.

**What is cached** is the page's main content (what ``X-Fragment: dashboard`` answers) rendered with a
placeholder where a form's CSRF token goes; the token of the request being served replaces it, and the page
around it (header, the user's name, messages) is rendered for each request.

Without a shared cache (no ``REDIS_URL``: local memory is per process) or with ``DASHBOARD_CACHE_SECONDS``
at 0, nothing is cached. With Redis unreachable the counter cannot be read and every page is computed.
"""

from __future__ import annotations

import hashlib
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.middleware.csrf import get_token
from django.utils import timezone, translation

from core.replica import reading_from_replica

GENERATION_KEY = "dashboards:generation"
BUMPED_AT_KEY = "dashboards:bumped-at"
# Put in the cached HTML where a form's CSRF token goes (never a valid token), replaced on every request.
CSRF_PLACEHOLDER = "csrf-token-of-the-request"
# One reader renders a missing page while the others wait for it (``fragment_get``), this long at most.
RENDER_LOCK_SECONDS, RENDER_WAIT_SECONDS = 30, 10
# The apps whose saves and deletes can change a dashboard, a list or a count.
WATCHED_APPS = frozenset({"partners", "organizations", "engagements", "assessments"})


def enabled() -> bool:
    return settings.DASHBOARD_CACHE_SECONDS > 0


def generation() -> int | None:
    """The current generation, or None when the cache cannot be read (then nothing is cached)."""
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        value = cache.get(GENERATION_KEY)
    return value


def generation_bump() -> None:
    """Make every cached snapshot and count stale (call after commit: see ``generation_bump_on_commit``)."""
    if not enabled():
        return
    cache.set(BUMPED_AT_KEY, time.time(), timeout=None)
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no counter yet (or Redis unreachable): a new one starts above any earlier value
        cache.add(GENERATION_KEY, 1, timeout=None)


def _may_store() -> bool:
    """A page read on the replica right after a write may show the replica's older rows: it is served but
    not kept, until the replica has had the read-your-writes delay to catch up (core/replica.py)."""
    if not reading_from_replica():
        return True
    bumped_at = cache.get(BUMPED_AT_KEY) or 0
    return time.time() - bumped_at > settings.DATABASE_REPLICA_STICKY_SECONDS


class _PendingBump(threading.local):
    callback = None


_pending = _PendingBump()


def generation_bump_on_commit(using: str = DEFAULT_DB_ALIAS) -> None:
    """Bump once after the current transaction commits (at once outside one): one bump is queued per
    transaction however many rows it saves (a rolled-back transaction drops its queued bump, and the next
    write queues a new one)."""
    if not enabled():
        return
    connection = connections[using]
    pending = _pending.callback
    if pending is not None and any(entry[1] is pending for entry in connection.run_on_commit):
        return

    def bump():
        if _pending.callback is bump:
            _pending.callback = None
        generation_bump()

    _pending.callback = bump
    transaction.on_commit(bump, using=using)


def visibility_class(user) -> str:
    """What decides what a user may see and do on a page: their permissions (restricted engagements exist
    only for those who may read them; buttons show by permission), never who they are."""
    if not user.is_authenticated:
        return "anonymous"
    permissions = "|".join(sorted(user.get_all_permissions()))
    return hashlib.sha256(f"{user.is_superuser}:{permissions}".encode()).hexdigest()[:24]


def _key(kind: str, parts: tuple, gen: int) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"{kind}:{gen}:{digest}"


def fragment_key(request, kind: str, *, extra=()) -> str | None:
    """The key of a page's cached main content for this request, or None when nothing may be cached."""
    if not enabled() or request.method != "GET":
        return None
    gen = generation()
    if gen is None:
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
    return _key(f"page:{kind}", parts, gen)


def fragment_get(key: str | None):
    """The cached entry (``(html, extra)``) for ``key``, or None: then this request renders it and must call
    ``fragment_set`` or ``fragment_release``.

    After a write, every reader misses at once; rendering the same page in each of them would cost eight
    times one on two cores. The first one renders (it takes a short lock); the others wait for its copy,
    which is of the current generation (never an older one), and render it themselves only if it has not
    come after ``RENDER_WAIT_SECONDS``."""
    if key is None:
        return None
    entry = cache.get(key)
    if entry is not None or cache.add(f"{key}:rendering", 1, timeout=RENDER_LOCK_SECONDS):
        return entry
    deadline = time.monotonic() + RENDER_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        entry = cache.get(key)
        if entry is not None:
            return entry
    return None


def fragment_set(key: str | None, html: str, extra: dict | None = None) -> None:
    if key is not None and _may_store():
        cache.set(key, (html, extra or {}), timeout=settings.DASHBOARD_CACHE_SECONDS)
    fragment_release(key)


def fragment_release(key: str | None) -> None:
    """The page was not kept (an error, a 400): let the next reader render it without waiting."""
    if key is not None:
        cache.delete(f"{key}:rendering")


def with_request_token(request, html: str) -> str:
    """The cached HTML with this request's CSRF token where the placeholder is."""
    if CSRF_PLACEHOLDER not in html:
        return html
    return html.replace(CSRF_PLACEHOLDER, get_token(request))
