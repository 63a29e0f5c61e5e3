"""Calendar feed addresses: issuing and resetting a user's secret (``engagements.feeds`` says how it works)."""

from __future__ import annotations

import secrets

from django.db import transaction

from engagements.feeds import KEY_LENGTH, secret_for
from engagements.models import CalendarFeed


@transaction.atomic
def calendar_feed_reset(*, user) -> str:
    """Give ``user`` a new feed secret (the first, or one replacing the old, which stops working at once)."""
    key = secrets.token_urlsafe(KEY_LENGTH)[:KEY_LENGTH]
    CalendarFeed.objects.update_or_create(user=user, defaults={"key": key})
    return secret_for(key)
