"""What a webhook may be: which events exist and which addresses the tracker may call (the one home of both:
the API, the services and the delivery itself ask here)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from webhooks.choices import WebhookEvent


def allowed_hosts() -> list[str]:
    return [host.lower() for host in settings.WEBHOOK_ALLOWED_HOSTS]


def url_problem(url: str) -> str | None:
    """Why the tracker may not send to ``url``, or None. Only http(s) to a host named in
    ``WEBHOOK_ALLOWED_HOSTS``; an empty list allows no outgoing webhooks at all."""
    hosts = allowed_hosts()
    if not hosts:
        return _(
            "Outgoing webhooks are disabled on this server: WEBHOOK_ALLOWED_HOSTS is empty. Its administrator "
            "must list the receiving host names there first."
        )
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return _("Enter a valid URL.")
    if parts.scheme not in ("http", "https") or not host:
        return _("Enter an http:// or https:// address with a host name.")
    if parts.username or parts.password:
        return _("Leave the user name and password out of the address; deliveries are signed instead.")
    if host not in hosts:
        return _("The host %(host)s is not allowed: WEBHOOK_ALLOWED_HOSTS lists %(hosts)s.") % {
            "host": host,
            "hosts": ", ".join(hosts),
        }
    return None


def events_problem(events) -> str | None:
    """Why ``events`` is not a list of known event names, or None."""
    if not isinstance(events, list) or not events:
        return _("Give a list of one or more events.")
    unknown = sorted({str(e) for e in events} - set(WebhookEvent.values))
    if unknown or not all(isinstance(e, str) for e in events):
        return _("Unknown events: %(unknown)s. Choose from %(known)s.") % {
            "unknown": ", ".join(unknown) or _("(not a name)"),
            "known": ", ".join(WebhookEvent.values),
        }
    return None
