"""What a webhook may be: which events exist and which addresses the tracker may call (the one home of both:
the API, the services and the delivery itself ask here)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from webhooks.choices import WebhookEvent


def allowed_hosts() -> list[str]:
    return [host.strip().lower() for host in settings.WEBHOOK_ALLOWED_HOSTS if host.strip()]


def _allowed_networks(hosts: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Entries of WEBHOOK_ALLOWED_HOSTS that are addresses or ranges (``10.20.0.7``, ``10.20.0.0/16``)."""
    networks = []
    for host in hosts:
        try:
            networks.append(ipaddress.ip_network(host.strip("[]"), strict=False))
        except ValueError:
            continue
    return networks


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local (cloud metadata at 169.254.169.254), reserved, multicast or unspecified."""
    return not address.is_global


def _address_listed(address, hosts: list[str]) -> bool:
    return any(address in network for network in _allowed_networks(hosts))


def url_problem(url: str) -> str | None:
    """Why the tracker may not send to ``url``, or None. Only http(s) to a host named in
    ``WEBHOOK_ALLOWED_HOSTS``, or to an address listed there (alone or in a listed range); a private,
    loopback or link-local address never otherwise. An empty list allows no outgoing webhooks at all."""
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
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        # An address is allowed when it, or a range holding it, is listed: a private one never otherwise.
        if _address_listed(literal, hosts):
            return None
        if _is_private(literal):
            return _(
                "%(host)s is a private, loopback or link-local address: the tracker calls such addresses only "
                "when WEBHOOK_ALLOWED_HOSTS lists them (or their range)."
            ) % {"host": host}
    if host not in hosts:
        return _("The host %(host)s is not allowed: WEBHOOK_ALLOWED_HOSTS lists %(hosts)s.") % {
            "host": host,
            "hosts": ", ".join(hosts),
        }
    return None


def resolved_address_problem(url: str) -> str | None:
    """Why the addresses ``url``'s host name resolves to may not be called, or None: an allowed *name* that
    resolves to a private, loopback or link-local address (a DNS entry changed, or pointed inside on purpose)
    is refused unless that address or its range is listed too. Asked before every attempt; a name that does
    not resolve is left to the attempt itself (it fails as "could not reach", and is retried). The connection
    resolves the name again: a DNS answer that changes in between (rebinding) is not caught here."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        ipaddress.ip_address(host)
        return None  # an address, not a name: url_problem judged it
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        return None
    hosts = allowed_hosts()
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if _is_private(address) and not _address_listed(address, hosts):
            return _(
                "%(host)s resolves to %(address)s, a private, loopback or link-local address: list that address "
                "(or its range) in WEBHOOK_ALLOWED_HOSTS to allow it."
            ) % {"host": host, "address": address}
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
