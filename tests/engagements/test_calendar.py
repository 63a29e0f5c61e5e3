"""The engagement calendar: filters, bars drawn once, long missions, week and timeline views, month names,
query counts; and the iCal feed (valid RFC 5545, filtered, per-user visibility, reset, inactive users)."""

from __future__ import annotations

import datetime
import html as html_lib
import re

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from engagements import calendars, feeds, rules, selectors, services
from tests.engagements.factories import EngagementFactory, ParticipationFactory, partner

pytestmark = pytest.mark.django_db

D = datetime.date


def content(response) -> str:
    return html_lib.unescape(response.content.decode())


def grid(html: str) -> str:
    """The month or week grid of the page (not the long-mission lane, not the filters)."""
    start = html.index('<div class="cal-month')
    return html[start : html.index('<p class="legend', start)]


def long_lane(html: str) -> str:
    if '<section class="cal-long"' not in html:
        return ""
    start = html.index('<section class="cal-long"')
    return html[start : html.index("</section>", start)]


def bars_of(html: str, engagement) -> int:
    return len(re.findall(rf'class="cal-bar[^"]*" href="/engagements/{engagement.pk}/"', html))


def with_partners(engagement, *codes):
    for code in codes:
        ParticipationFactory(engagement=engagement, partner=partner(code))
    return engagement


# --- layout -----------------------------------------------------------------------------------------------


def test_the_long_mission_rule():
    assert not rules.is_long_mission(D(2026, 3, 1), D(2026, 3, 31))  # 31 days
    assert rules.is_long_mission(D(2026, 3, 1), D(2026, 4, 1))  # 32 days


def test_bars_are_packed_into_the_lowest_free_lane_and_counted_beyond_the_last():
    week = calendars.days_between(D(2026, 3, 2), D(2026, 3, 8))
    a = EngagementFactory.build(pk=1, start_date=D(2026, 3, 2), end_date=D(2026, 3, 4))
    b = EngagementFactory.build(pk=2, start_date=D(2026, 3, 3), end_date=D(2026, 3, 3))
    c = EngagementFactory.build(pk=3, start_date=D(2026, 3, 5), end_date=D(2026, 3, 20))  # after a: lane 1
    d = EngagementFactory.build(pk=4, start_date=D(2026, 3, 3), end_date=D(2026, 3, 3))  # third on the 3rd
    row = calendars.row_of(week, [a, b, c, d], max_lanes=2)
    lanes = {bar.engagement.pk: (bar.lane, bar.column, bar.span) for bar in row.bars}
    assert lanes == {1: (1, 1, 3), 2: (2, 2, 1), 3: (1, 4, 4)}  # c is cut at Sunday: columns 4-7
    assert row.hidden == {D(2026, 3, 3): 1}
    assert row.more == [(2, D(2026, 3, 3), 1)]


# --- the page ---------------------------------------------------------------------------------------------


def test_a_multi_week_engagement_is_drawn_once_per_week_row(client_for, planner, reference_data):
    # Tuesday 3 March to Thursday 19 March 2026: three week rows, three bars (not 17 day cells).
    e = EngagementFactory(title="Flintlock 2026", start_date=D(2026, 3, 3), end_date=D(2026, 3, 19))
    html = content(client_for(planner).get("/engagements/calendar/", {"month": "2026-03"}))
    month = grid(html)
    assert bars_of(month, e) == 3
    assert month.count("Flintlock 2026</a>") == 1 or month.count("Flintlock 2026<span") == 3
    spans = re.findall(rf'href="/engagements/{e.pk}/" style="grid-column: (\d+) / span (\d+);', month)
    assert spans == [("2", "6"), ("1", "7"), ("1", "4")]  # Tue-Sun, Mon-Sun, Mon-Thu
    assert '<time datetime="2026-03-03">' in month


def test_long_missions_have_their_own_lane(client_for, planner, reference_data):
    rotation = EngagementFactory(
        title="MINUSCA rotation", engagement_type="peacekeeping", start_date=D(2025, 11, 1), end_date=D(2026, 6, 30)
    )
    short = EngagementFactory(title="Short drill", start_date=D(2026, 3, 10), end_date=D(2026, 3, 12))
    html = content(client_for(planner).get("/engagements/calendar/", {"month": "2026-03"}))
    assert bars_of(long_lane(html), rotation) == 1
    assert bars_of(grid(html), rotation) == 0
    assert bars_of(grid(html), short) == 1 and bars_of(long_lane(html), short) == 0
    assert "Long missions (more than 31 days)" in html


def test_calendar_takes_the_list_filters(client_for, planner, reference_data):
    sen = with_partners(
        EngagementFactory(title="With Senegal", start_date=D(2026, 3, 9), end_date=D(2026, 3, 10)), "SEN"
    )
    gha = with_partners(EngagementFactory(title="With Ghana", start_date=D(2026, 3, 9), end_date=D(2026, 3, 10)), "GHA")
    client = client_for(planner)
    html = content(client.get("/engagements/calendar/", {"month": "2026-03", "partner": "SEN"}))
    assert bars_of(grid(html), sen) == 1 and bars_of(grid(html), gha) == 0
    # The list's filter form, with the value chosen, and the navigation keeps the filter.
    assert '<option value="SEN" selected>' in html
    assert "layout=month&month=2026-04&partner=SEN" in html
    assert '<input type="hidden" name="month" value="2026-03">' in html
    both = content(client.get("/engagements/calendar/", {"month": "2026-03", "partner": "SEN,GHA"}))
    assert bars_of(grid(both), sen) == 1 and bars_of(grid(both), gha) == 1


def test_a_filter_not_understood_is_shown_beside_its_field(client_for, planner, reference_data):
    EngagementFactory(title="Anything", start_date=D(2026, 3, 9))
    response = client_for(planner).get("/engagements/calendar/", {"month": "2026-03", "start_after": "notadate"})
    assert response.status_code == 400
    html = content(response)
    assert 'data-for="start_after"' in html and "Anything" not in grid(html)


def test_the_day_overflow_links_to_the_filtered_list_of_that_day(client_for, planner, reference_data):
    for n in range(5):
        with_partners(EngagementFactory(title=f"Busy {n}", start_date=D(2025, 5, 5), end_date=D(2025, 5, 6)), "SEN")
    html = content(client_for(planner).get("/engagements/calendar/", {"month": "2025-05", "partner": "SEN"}))
    assert html.count("+2 more") == 2  # Monday 5 and Tuesday 6 May: five bars, three lanes
    assert "/engagements/?partner=SEN&start_before=2025-05-05&end_after=2025-05-05&ordering=date" in html


def test_week_view(client_for, planner, reference_data):
    e = EngagementFactory(title="Across the weekend", start_date=D(2026, 3, 6), end_date=D(2026, 3, 10))
    client = client_for(planner)
    html = content(client.get("/engagements/calendar/", {"layout": "week", "week": "2026-03-11"}))  # a Wednesday
    assert "Monday 9 March 2026 to Sunday 15 March 2026" in html
    assert re.findall(rf'href="/engagements/{e.pk}/" style="grid-column: (\d+) / span (\d+);', grid(html)) == [
        ("1", "2")
    ]
    assert "layout=week&week=2026-03-02" in html and "layout=week&week=2026-03-16" in html
    # From a month that starts on a Sunday (March 2026), "Week" opens its first week with weekdays.
    month = content(client.get("/engagements/calendar/", {"month": "2026-03"}))
    assert 'href="?layout=week&week=2026-03-02"' in month


@pytest.mark.parametrize("group", ["engagement", "partner"])
def test_timeline_view(client_for, planner, reference_data, group):
    e = with_partners(
        EngagementFactory(title="On the timeline", start_date=D(2026, 4, 1), end_date=D(2026, 4, 30)), "KEN"
    )
    rotation = with_partners(
        EngagementFactory(title="Long rotation", start_date=D(2025, 1, 1), end_date=D(2027, 1, 1)), "KEN"
    )
    html = content(
        client_for(planner).get("/engagements/calendar/", {"layout": "timeline", "month": "2026-03", "group": group})
    )
    timeline = html[html.index('role="table"') :]
    assert long_lane(html) == ""  # the rotation has its own row on the timeline, not a lane above it
    # Six months from March: 184 day columns; April starts at column 32.
    assert "repeat(184, minmax(0, 1fr))" in timeline
    assert f'href="/engagements/{e.pk}/" style="grid-column: 32 / span 30;' in timeline
    assert "March 2026" in timeline and "August 2026" in timeline
    if group == "partner":
        assert "Kenya" in timeline and timeline.count(f'href="/engagements/{rotation.pk}/"') == 1
    else:
        assert "On the timeline" in timeline


@pytest.mark.parametrize(
    ("language", "expected", "never"),
    [
        ("en", ["December 2026", "November 2026", "January 2027"], ["Dec.", "Nov.", "Jan.", "Sept."]),
        ("fr", ["décembre 2026", "novembre 2026", "janvier 2027"], ["déc.", "nov.", "janv."]),
    ],
)
def test_month_names_in_one_format_in_both_languages(client_for, planner, reference_data, language, expected, never):
    client = client_for(planner)
    for view in ("month", "timeline"):
        html = content(
            client.get("/engagements/calendar/", {"month": "2026-12", "layout": view}, HTTP_ACCEPT_LANGUAGE=language)
        )
        body = html[html.index('<nav class="view-tabs"') :]
        assert all(name in body for name in expected[:1]), (view, language)
        assert not any(short in body for short in never), (view, language)
    month = content(client.get("/engagements/calendar/", {"month": "2026-12"}, HTTP_ACCEPT_LANGUAGE=language))
    assert all(name in month for name in expected)


CALENDAR_PAGES = [
    {"month": "2025-05"},
    {"layout": "week", "week": "2025-05-12"},
    {"layout": "timeline", "month": "2025-04"},
    {"layout": "timeline", "month": "2025-04", "group": "partner"},
]


def _queries(client, params) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get("/engagements/calendar/", {**params, "partner": "SEN,GHA"}).status_code == 200
    return len(captured)


def _add_engagements(count: int, offset: int = 0) -> None:
    for n in range(offset, offset + count):
        e = EngagementFactory(start_date=D(2025, 5, 1) + datetime.timedelta(days=n % 28), end_date=D(2025, 5, 29))
        with_partners(e, "SEN", "GHA", "KEN") if n % 2 else with_partners(e, "SEN")
    EngagementFactory(start_date=D(2024, 1, 1) + datetime.timedelta(days=offset), end_date=D(2026, 1, 1))  # long


def test_calendar_queries_do_not_grow(client_for, planner, reference_data, django_assert_max_num_queries):
    client = client_for(planner)
    client.post(reverse("engagements:calendar_feed_reset"))  # the subscribe panel shows an address too
    _add_engagements(4)
    few = [_queries(client, params) for params in CALENDAR_PAGES]
    _add_engagements(120, offset=4)
    many = [_queries(client, params) for params in CALENDAR_PAGES]
    assert many == few
    # 12, the partner filter's look-up of its partners (engagements.filtersets.partners_taking_part: it
    # chooses how their engagements are found), and the unread count of the inbox in the header.
    assert max(many) <= 14


def test_viewers_never_see_restricted_engagements_on_the_calendar(client_for, viewer, analyst, reference_data):
    EngagementFactory(title="Hidden mission", sensitivity="restricted", start_date=D(2026, 3, 2))
    for view in ("month", "week", "timeline"):
        params = {"layout": view, "month": "2026-03", "week": "2026-03-02"}
        assert "Hidden mission" not in content(client_for(viewer).get("/engagements/calendar/", params))
        assert "Hidden mission" in content(client_for(analyst).get("/engagements/calendar/", params))


# --- the feed ---------------------------------------------------------------------------------------------


def feed_path(secret: str, **params) -> str:
    from django.utils.http import urlencode

    return reverse("engagements:calendar_feed", kwargs={"secret": secret}) + (f"?{urlencode(params)}" if params else "")


def events_of(response) -> dict:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(event["summary"]): event for event in calendar.walk("VEVENT")}


def test_the_feed_is_valid_icalendar(client, planner, reference_data):
    today = timezone.localdate()
    e = EngagementFactory(
        title="Drill; phase 2, north",
        description="Line one\nLine two, with a comma; and a semicolon",
        location_name="Thiès",
        start_date=today,
        end_date=today + datetime.timedelta(days=4),
        status="approved",
    )
    secret = services.calendar_feed_reset(user=planner)
    response = client.get(feed_path(secret))  # no session: the secret is the key
    raw = response.content.decode()
    assert all(len(line.encode()) <= 75 for line in raw.split("\r\n"))  # folded at 75 octets
    assert "SUMMARY:Drill\\; phase 2\\, north" in raw  # escaped as RFC 5545 says
    event = events_of(response)["Drill; phase 2, north"]
    assert str(event["uid"]) == f"{e.reference}@testserver"
    assert event["dtstart"].dt == today and not isinstance(event["dtstart"].dt, datetime.datetime)
    assert event["dtend"].dt == today + datetime.timedelta(days=5)  # exclusive: the day after the last
    assert str(event["url"]) == f"http://testserver/engagements/{e.pk}/"
    assert "Line two, with a comma; and a semicolon" in str(event["description"])
    assert str(event["status"]) == "CONFIRMED" and "Thiès" in str(event["location"])
    assert response["Cache-Control"] == "private, no-store"


def test_the_feed_takes_the_list_filters(client, planner, reference_data):
    today = timezone.localdate()
    with_partners(EngagementFactory(title="With Senegal", start_date=today), "SEN")
    with_partners(EngagementFactory(title="With Ghana", start_date=today), "GHA")
    EngagementFactory(title="Long past", start_date=D(2001, 1, 1), end_date=D(2001, 1, 2))
    secret = services.calendar_feed_reset(user=planner)
    assert set(events_of(client.get(feed_path(secret, partner="SEN")))) == {"With Senegal"}
    assert set(events_of(client.get(feed_path(secret)))) == {"With Senegal", "With Ghana"}  # not the long past
    assert client.get(feed_path(secret, start_after="notadate")).status_code == 400


def test_the_feed_shows_what_its_owner_may_read(client, viewer, analyst, reference_data):
    today = timezone.localdate()
    EngagementFactory(title="Open", start_date=today)
    EngagementFactory(title="Restricted", start_date=today, sensitivity="restricted")
    viewer_secret = services.calendar_feed_reset(user=viewer)
    analyst_secret = services.calendar_feed_reset(user=analyst)
    assert set(events_of(client.get(feed_path(viewer_secret)))) == {"Open"}
    assert set(events_of(client.get(feed_path(analyst_secret)))) == {"Open", "Restricted"}


def test_a_reset_secret_stops_at_once_and_so_does_an_inactive_users(client, client_for, planner, reference_data):
    first = services.calendar_feed_reset(user=planner)
    assert client.get(feed_path(first)).status_code == 200
    page = client_for(planner)
    response = page.post(reverse("engagements:calendar_feed_reset") + "?partner=SEN")
    assert response.status_code == 302 and response["Location"].endswith("?partner=SEN#subscribe")
    second = selectors.calendar_feed_secret(user=planner)
    assert second != first
    assert client.get(feed_path(first)).status_code == 404
    assert client.get(feed_path(second)).status_code == 200
    html = content(page.get("/engagements/calendar/", {"partner": "SEN"}))
    assert f"http://testserver/engagements/calendar/feed/{second}.ics?partner=SEN" in html
    planner.is_active = False
    planner.save()
    assert client.get(feed_path(second)).status_code == 404


def test_a_forged_secret_is_refused(client, planner, reference_data):
    secret = services.calendar_feed_reset(user=planner)
    key = secret[: feeds.KEY_LENGTH]
    for forged in (key + "0" * 32, key, secret[:-1] + ("0" if secret[-1] != "0" else "1"), "x" * 48):
        assert client.get(feed_path(forged)).status_code == 404, forged


def test_the_page_offers_to_create_a_feed_address_first(client_for, viewer, reference_data):
    page = client_for(viewer)
    html = content(page.get("/engagements/calendar/"))
    assert "Create my feed address" in html and "/feed/" not in html.replace("/feed/reset/", "")
    assert page.post(reverse("engagements:calendar_feed_reset")).status_code == 302
    assert "Reset the address" in content(page.get("/engagements/calendar/"))


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_the_feed_is_rate_limited(client, planner, reference_data, monkeypatch):
    monkeypatch.setattr(feeds, "FEED_REQUESTS_PER_HOUR", 3)
    secret = services.calendar_feed_reset(user=planner)
    codes = [client.get(feed_path(secret)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_feed_is_capped(client, planner, reference_data, monkeypatch):
    monkeypatch.setattr(feeds, "FEED_MAX_EVENTS", 2)
    today = timezone.localdate()
    for n in range(3):
        EngagementFactory(title=f"Event {n}", start_date=today + datetime.timedelta(days=n))
    secret = services.calendar_feed_reset(user=planner)
    assert set(events_of(client.get(feed_path(secret)))) == {"Event 0", "Event 1"}


def test_the_feed_address_in_the_api(api_for, viewer, client):
    api = api_for(viewer)
    assert api.get("/api/v1/calendar-feed/").json() == {"url": None}
    first = api.post("/api/v1/calendar-feed/").json()["url"]
    assert first.startswith("http://testserver/engagements/calendar/feed/") and first.endswith(".ics")
    assert api.get("/api/v1/calendar-feed/").json() == {"url": first}
    assert client.get(first.removeprefix("http://testserver")).status_code == 200
    second = api.post("/api/v1/calendar-feed/").json()["url"]
    assert second != first
    assert client.get(first.removeprefix("http://testserver")).status_code == 404
