"""Rules of the core app, each asked by every path (account page, API, services)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Live tokens one user may hold at once: enough for every system an integrator runs, few enough that a
# stolen password cannot mint an endless supply.
API_TOKENS_PER_USER = 20


def api_token_lifetime(expires_in_days: int | None) -> datetime.timedelta:
    """How long a new token lives: ``expires_in_days``, or API_TOKEN_DAYS when not given; never more than
    API_TOKEN_MAX_DAYS. Out of range is bad input, reported on the ``expires_in_days`` field."""
    if expires_in_days is None:
        return datetime.timedelta(days=settings.API_TOKEN_DAYS)
    maximum = settings.API_TOKEN_MAX_DAYS
    if not 1 <= expires_in_days <= maximum:
        raise ValidationError(
            {"expires_in_days": _("Choose a lifetime from 1 to %(maximum)d days.") % {"maximum": maximum}}
        )
    return datetime.timedelta(days=expires_in_days)


def api_token_room_check(*, live_tokens: int) -> None:
    """A user may hold up to API_TOKENS_PER_USER live tokens; past that, old ones must be revoked first."""
    if live_tokens >= API_TOKENS_PER_USER:
        raise ValidationError(
            _("You already have %(count)d active tokens: revoke one you no longer use first.")
            % {"count": API_TOKENS_PER_USER}
        )


def unit_parent_refusal(*, unit, parent) -> str | None:
    """A unit's parent may not be the unit itself nor one of the units below it (the tree would loop)."""
    if parent is None or unit is None or unit.pk is None:
        return None
    cursor, seen = parent, set()
    while cursor is not None and cursor.pk not in seen:
        if cursor.pk == unit.pk:
            return _("A unit cannot be placed below itself or below one of its own sub-units.")
        seen.add(cursor.pk)
        cursor = cursor.parent
    return None
