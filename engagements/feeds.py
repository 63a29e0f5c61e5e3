"""The calendar feed: its secret address and its iCalendar (RFC 5545) file.

The address is ``/engagements/calendar/feed/<secret>.ics`` plus any of the list's filters. The secret is
the feed's stored ``key`` (16 random characters, looked up by its unique index) followed by an HMAC-SHA256
of the key under the site's ``SECRET_KEY``, compared in constant time. Only the key is stored, so a copy of
the database does not give a working address, and the user can still be shown theirs whenever they like.
Changing ``SECRET_KEY`` ends every feed address (users reset theirs to get a new one).
"""

from __future__ import annotations

import datetime
import hmac

from django.utils import timezone
from django.utils.crypto import salted_hmac
from icalendar import Calendar, Event

from engagements.choices import Status

KEY_LENGTH = 16
_SALT = "engagements.calendar-feed"

# What a feed holds at most: the engagements that end on or after a year ago (planners subscribe for what
# is current and coming; the list and its exports hold the past), the first ``FEED_MAX_EVENTS`` of them by
# start date. A calendar program polls every few minutes to hours; ``FEED_REQUESTS_PER_HOUR`` per feed is
# far above that, and the feed answers 429 beyond it.
FEED_PAST_DAYS = 365
FEED_MAX_EVENTS = 1000
FEED_REQUESTS_PER_HOUR = 120

# RFC 5545 STATUS of an event for each of ours.
_EVENT_STATUS = {
    Status.PLANNED: "TENTATIVE",
    Status.APPROVED: "CONFIRMED",
    Status.IN_PROGRESS: "CONFIRMED",
    Status.COMPLETED: "CONFIRMED",
    Status.CANCELLED: "CANCELLED",
}


def _mac(key: str) -> str:
    return salted_hmac(_SALT, key, algorithm="sha256").hexdigest()[:32]


def secret_for(key: str) -> str:
    """The secret of the feed address for the stored ``key``."""
    return key + _mac(key)


def key_of(secret: str) -> str | None:
    """The stored key that ``secret`` proves, or None when its HMAC does not match (constant-time compare)."""
    key, mac = secret[:KEY_LENGTH], secret[KEY_LENGTH:]
    if len(key) != KEY_LENGTH or not hmac.compare_digest(mac.encode(), _mac(key).encode()):
        return None
    return key


def feed_window_start(today: datetime.date | None = None) -> datetime.date:
    return (today or timezone.localdate()) - datetime.timedelta(days=FEED_PAST_DAYS)


def calendar_ics(engagements, *, name: str, host: str, url_of, description_of) -> bytes:
    """The iCalendar file of ``engagements``: one all-day event each (DTEND is the day after the last day, as
    RFC 5545 wants), with a UID that stays the same for the engagement (``<reference>@<host>``), so a calendar
    program updates its copy instead of adding another."""
    calendar = Calendar()
    calendar.add("prodid", "-//Engagement Tracker//Engagement calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for e in engagements:
        event = Event()
        event.add("uid", f"{e.reference}@{host}")
        event.add("dtstamp", e.updated_at)
        event.add("last-modified", e.updated_at)
        event.add("sequence", getattr(e, "version", 0) or 0)
        event.add("dtstart", e.start_date)
        event.add("dtend", e.end_date + datetime.timedelta(days=1))
        event.add("summary", e.title)
        event.add("description", description_of(e))
        location = ", ".join(part for part in (e.location_name, e.host_country.name) if part)
        event.add("location", location)
        event.add("url", url_of(e))
        event.add("status", _EVENT_STATUS.get(e.status, "CONFIRMED"))
        event.add("categories", [e.get_engagement_type_display()])
        event.add("transp", "TRANSPARENT")  # an engagement does not make the subscriber busy
        calendar.add_component(event)
    return calendar.to_ical()


def feed_request_allowed(secret: str) -> bool:
    """Counts a request to the feed of ``secret`` in the current hour; False beyond the allowance. (Without a
    reachable cache, every request is allowed: the cache degrades to empty, see ``core.cache``.)"""
    from django.core.cache import cache

    bucket = f"calendar-feed:{secret[:KEY_LENGTH]}:{int(timezone.now().timestamp()) // 3600}"
    cache.add(bucket, 0, timeout=3600)
    try:
        count = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        return True
    return count <= FEED_REQUESTS_PER_HOUR
