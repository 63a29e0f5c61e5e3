"""Anonymous and per-user request rates, read from settings at request time, keyed on the real client.

DRF's own throttles copy ``DEFAULT_THROTTLE_RATES`` onto the class when it is imported, so a changed setting
(``API_THROTTLE_ANON`` / ``API_THROTTLE_USER``, or a test's ``override_settings``) would be ignored; these
read ``api_settings`` (which DRF reloads when settings change) for every request.

DRF identifies an anonymous client by the whole ``X-Forwarded-For`` header when ``NUM_PROXIES`` is unset,
so a client that sends a new header with each request is never throttled; these ask ``core.clients``, which
believes only what the configured proxies wrote.

Each throttle that counted a request leaves its state on the request (``rate_limit``: limit, remaining,
seconds until the whole allowance is back); ``core.middleware.RateLimitHeadersMiddleware`` writes the tightest
one into the answer as ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``.
"""

import math
from typing import NamedTuple

from rest_framework import throttling
from rest_framework.settings import api_settings

from core.clients import client_ip


class RateLimitState(NamedTuple):
    limit: int
    remaining: int
    reset: int  # seconds until the whole allowance is available again


class _FromSettings:
    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if self.rate is not None and getattr(self, "key", None) is not None:
            remaining = max(self.num_requests - len(self.history), 0)
            # The whole allowance is back when the newest request counted leaves the window.
            reset = math.ceil(self.duration - (self.now - self.history[0])) if self.history else 0
            state = RateLimitState(self.num_requests, remaining, max(reset, 0))
            holder = getattr(request, "_request", request)
            previous = getattr(holder, "rate_limit", None)
            if previous is None or (state.remaining, -state.reset) < (previous.remaining, -previous.reset):
                holder.rate_limit = state
        return allowed

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request)


class AnonRateThrottle(_FromSettings, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_FromSettings, throttling.UserRateThrottle):
    pass
