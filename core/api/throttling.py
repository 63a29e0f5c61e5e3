"""Anonymous and per-user request rates, read from settings at request time, keyed on the real client.

DRF's own throttles copy ``DEFAULT_THROTTLE_RATES`` onto the class when it is imported, so a changed setting
(``API_THROTTLE_ANON`` / ``API_THROTTLE_USER``, or a test's ``override_settings``) would be ignored; these
read ``api_settings`` (which DRF reloads when settings change) for every request.

DRF identifies an anonymous client by the whole ``X-Forwarded-For`` header when ``NUM_PROXIES`` is unset,
so a client that sends a new header with each request is never throttled; these ask ``core.clients``, which
believes only what the configured proxies wrote.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings

from core.clients import client_ip


class _FromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request)


class AnonRateThrottle(_FromSettings, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_FromSettings, throttling.UserRateThrottle):
    pass
