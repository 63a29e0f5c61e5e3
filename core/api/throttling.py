"""Anonymous and per-user request rates, read from settings at request time.

DRF's own throttles copy ``DEFAULT_THROTTLE_RATES`` onto the class when it is imported, so a changed setting
(``API_THROTTLE_ANON`` / ``API_THROTTLE_USER``, or a test's ``override_settings``) would be ignored; these
read ``api_settings`` (which DRF reloads when settings change) for every request.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _RateFromSettings:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(_RateFromSettings, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_RateFromSettings, throttling.UserRateThrottle):
    pass
