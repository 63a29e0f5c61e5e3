"""Reads of the core app: the health report and the home page's figures."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils.translation import gettext_lazy as _

from core.panels import home_panels
from core.roles import ROLE_LABELS, role_of

_TIMEOUT_SECONDS = 2


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the class name is enough, no connection details
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok", "vendor": connection.vendor}


def _check_broker() -> dict:
    url = settings.CELERY_BROKER_URL
    if not url:
        return {"status": "not_configured", "detail": "tasks run eagerly in-process"}
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=_TIMEOUT_SECONDS, transport_options={"max_retries": 0}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=_TIMEOUT_SECONDS)
            # Redis answers the connection lazily: a round trip proves the broker is really there.
            client = getattr(conn.default_channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()
    except Exception as exc:
        return {"status": "error", "error": type(exc).__name__}
    return {"status": "ok", "transport": url.split(":", 1)[0]}


def _check_cache() -> dict:
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    probe = uuid.uuid4().hex
    try:
        if hasattr(cache, "ping"):  # a cache that hides an outage from the pages, not from us
            cache.ping()
        cache.set("healthz-probe", probe, timeout=10)
        if cache.get("healthz-probe") != probe:
            return {"status": "error", "backend": backend, "error": "read back a different value"}
    except Exception as exc:
        return {"status": "error", "backend": backend, "error": type(exc).__name__}
    return {"status": "ok", "backend": backend}


def _last_worker_heartbeat() -> str | None:
    from core.models import WorkerHeartbeat

    try:
        last = WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
    except Exception:
        return None
    return last.isoformat() if last else None


def health_report() -> dict:
    checks = {"database": _check_database(), "broker": _check_broker(), "cache": _check_cache()}
    healthy = all(check["status"] in {"ok", "not_configured"} for check in checks.values())
    report = {"status": "ok" if healthy else "error", "checks": checks}
    if checks["database"]["status"] == "ok" and settings.CELERY_BROKER_URL:
        report["worker_last_seen"] = _last_worker_heartbeat()
    return report


ROLE_ABILITIES = {
    "viewer": [_("Read engagements, partners, organizations and scores (unclassified engagements only).")],
    "analyst": [
        _("Read every engagement, restricted ones included, and all scores."),
        _("Maintain objectives, indicators and measurements; start assessment runs; acknowledge alerts."),
    ],
    "planner": [
        _("Read every engagement, restricted ones included."),
        _("Create and edit engagements and after-action reports; import spreadsheets."),
    ],
    "admin": [_("Everything, plus scoring models, users and reference data in the admin site.")],
}


def home_context(*, user) -> dict:
    role = role_of(user)
    return {
        "role": role,
        "role_label": ROLE_LABELS.get(role, ""),
        "abilities": ROLE_ABILITIES.get(role, []),
        "home_panels": home_panels(user=user),
    }


def api_tokens_of(*, user):
    """The user's live API tokens (not expired, made under the current password), newest first."""
    from django.utils import timezone

    from core.models import ApiToken

    return ApiToken.objects.filter(
        user=user, expiry__gt=timezone.now(), password_fingerprint__in=ApiToken.fingerprints(user)
    ).order_by("-created", "-id")
