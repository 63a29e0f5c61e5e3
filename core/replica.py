"""Reads on a streaming replica: which requests may read there, and read-your-writes.

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` database and this module routes to it the
reads of the dashboards, score and list pages and API lists named in ``DATABASE_REPLICA_VIEWS`` (GET and
HEAD only). Everything else reads and writes on the primary (``default``):

- every other request, every background task and management command (nothing sets the request's choice);
- the models of apps outside ``REPLICA_APPS`` (sessions, users and groups, tokens, audit, axes), so that a
  login or a role change is seen at once;
- any read after the request wrote anything (the router sees the write and switches the rest of the
  request to the primary), and any read inside a transaction on the primary;
- every request of a browser for ``DATABASE_REPLICA_STICKY_SECONDS`` after one of its requests wrote or
  was a POST/PUT/PATCH/DELETE: a cookie stamp ("read your writes"), so a planner who saves an engagement
  sees it on the next page even if the replica is a second behind.

Without ``DATABASE_REPLICA_URL`` (the embedded mode, most deployments), there is no ``replica`` database
and the router and middleware do nothing.
"""

from __future__ import annotations

import contextvars
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
# Apps whose tables the replica may serve: domain data, not sessions, users, tokens or the audit trail.
REPLICA_APPS = frozenset({"assessments", "engagements", "organizations", "partners"})
STICKY_COOKIE = "et_primary_until"
SAFE_METHODS = ("GET", "HEAD")


class _RequestRoute:
    __slots__ = ("use_replica", "wrote")

    def __init__(self, use_replica: bool):
        self.use_replica = use_replica
        self.wrote = False


_route: contextvars.ContextVar[_RequestRoute | None] = contextvars.ContextVar("db_request_route", default=None)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def reading_from_replica() -> bool:
    """Whether this request's reads of domain data currently go to the replica."""
    route = _route.get()
    return bool(route and route.use_replica)


class ReplicaRouter:
    """Reads of ``REPLICA_APPS`` models go to the replica while the request allows it; writes to the
    primary, and a write ends the replica reads of its request."""

    def db_for_read(self, model, **hints):
        route = _route.get()
        if (
            route is not None
            and route.use_replica
            and model._meta.app_label in REPLICA_APPS
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        route = _route.get()
        if route is not None:
            route.use_replica = False
            route.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's data: objects from either relate

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS  # the replica replays the primary's migrations itself


class ReplicaMiddleware:
    """Chooses where the request's reads go (``process_view``, once the view is known) and stamps the
    browser after a write."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        route = _RequestRoute(use_replica=False)
        token = _route.set(route)
        try:
            response = self.get_response(request)
        finally:
            _route.reset(token)
        if replica_configured() and (route.wrote or request.method not in SAFE_METHODS):
            seconds = settings.DATABASE_REPLICA_STICKY_SECONDS
            response.set_cookie(
                STICKY_COOKIE,
                str(int(time.time()) + seconds),
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        route = _route.get()
        if route is None or not replica_configured() or request.method not in SAFE_METHODS:
            return None
        match = request.resolver_match
        if match is None or match.view_name not in settings.DATABASE_REPLICA_VIEWS:
            return None
        route.use_replica = not _recently_wrote(request)
        return None


def _recently_wrote(request) -> bool:
    try:
        until = int(request.COOKIES.get(STICKY_COOKIE, "0"))
    except ValueError:
        return False
    return until >= int(time.time())
