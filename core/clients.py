"""Who is calling: the client's network address, as far as the deployment lets us know it.

A header is only as trustworthy as whoever wrote it. ``X-Forwarded-For`` is a list each proxy appends
the address it saw to; whatever a client sends arrives at its left end. With ``TRUSTED_PROXIES`` = N
(the proxies in front of the app, ``DJANGO_TRUSTED_PROXIES``), the client is the Nth address from the
right: the one our outermost proxy appended. Anything to its left was written by the client and is
ignored. With no proxy, ``REMOTE_ADDR`` is the client and the header is ignored altogether.

API throttling (core/api/throttling.py) and the login lock-out (``AXES_CLIENT_IP_CALLABLE``) both ask
this one function.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _address(value: str) -> str | None:
    """``value`` as a normalised IP address, or None when it is not one (``unknown``, a port, garbage)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The address of the client that sent ``request`` (never one a client can choose)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        # Fewer hops than proxies: a request that did not come through all of them (or a misconfigured
        # count). The nearest sender is all we know; a client's own header must not be believed.
        return remote
    return _address(hops[-proxies]) or remote
