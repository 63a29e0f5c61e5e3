"""The engagement calendar: month, week and timeline views of the list's filtered engagements, and the iCal
feed of the same filters. Layout in ``engagements.calendars``, the feed file in ``engagements.feeds``."""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from engagements import calendars, feeds, selectors, services
from engagements.calendars import ONE_DAY, add_months
from engagements.filtersets import EngagementFilterSet
from engagements.rules import LONG_MISSION_DAYS
from engagements.views import ADD, filter_form_context

VIEWS = ("month", "week", "timeline")
# The calendar's own parameters; every other one is a filter of the list (engagements/filtersets.py).
CALENDAR_PARAMS = ("layout", "month", "week", "group")
MONTH_LANES = 3  # bars per week row of a month before "+N more"
WEEK_LANES = 12
LONG_LANES = 4  # lanes of long missions above the grid
TIMELINE_MONTHS = 6
TIMELINE_ROWS = 60
TIMELINE_PARTNERS = 40
# The engagements a calendar page reads at most (by start date): far above a month of real use; beyond it
# the page says that it shows only the first ones and offers the list.
READ_LIMIT = 3000
# Dates written in full (screen readers, titles) and months: one format each, in both languages, never the
# abbreviated month names ("Sept.", "déc.").
DAY_FORMAT = "l j F Y"
MONTH_FORMAT = "YEAR_MONTH_FORMAT"


def _month_from(value: str | None, today: datetime.date) -> datetime.date:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return datetime.date(year, month, 1) if 1900 <= year <= 2100 else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def _monday_of(value: str | None, today: datetime.date) -> datetime.date:
    try:
        day = datetime.date.fromisoformat(value or "")
    except ValueError:
        day = today
    if not 1900 <= day.year <= 2100:
        day = today
    return day - datetime.timedelta(days=day.weekday())


def _range_of(view: str, request, today: datetime.date) -> dict:
    """The days a view shows, and its navigation (previous, next, this)."""
    if view == "week":
        monday = _monday_of(request.GET.get("week"), today)
        week = [monday + datetime.timedelta(days=n) for n in range(7)]
        return {
            "first": week[0],
            "last": week[-1],
            "weeks": [week],
            "nav_param": "week",
            "previous": (monday - datetime.timedelta(days=7)).isoformat(),
            "next": (monday + datetime.timedelta(days=7)).isoformat(),
            "current": (today - datetime.timedelta(days=today.weekday())).isoformat(),
            "is_current": monday <= today <= week[-1],
        }
    month = _month_from(request.GET.get("month"), today)
    if view == "month":
        weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
        first, last = weeks[0][0], weeks[-1][-1]
    else:
        weeks, first, last = [], month, add_months(month, TIMELINE_MONTHS) - ONE_DAY
    return {
        "month": month,
        "first": first,
        "last": last,
        "weeks": weeks,
        "nav_param": "month",
        "previous": add_months(month, -1).strftime("%Y-%m"),
        "next": add_months(month, 1).strftime("%Y-%m"),
        "previous_month": add_months(month, -1),
        "next_month": add_months(month, 1),
        "current": today.strftime("%Y-%m"),
        "is_current": month == today.replace(day=1),
    }


def _list_url(filters: dict, *, first: datetime.date, last: datetime.date) -> str:
    """The list of what runs between ``first`` and ``last``, within the calendar's filters."""
    params = dict(filters)
    start_before, end_after = params.get("start_before"), params.get("end_after")
    params["start_before"] = min(last, start_before) if isinstance(start_before, datetime.date) else last
    params["end_after"] = max(first, end_after) if isinstance(end_after, datetime.date) else first
    query = [(k, v) for k, v in params.items() if k not in ("start_before", "end_after")]
    query += [
        ("start_before", params["start_before"].isoformat()),
        ("end_after", params["end_after"].isoformat()),
        ("ordering", "date"),
    ]
    return reverse("engagements:list") + "?" + urlencode(query, doseq=True)


def _filters_given(request, filterset) -> dict:
    """The list filters of this page, as given (for links), with its date filters as dates."""
    params = {}
    for name in request.GET:
        if name in CALENDAR_PARAMS or name in ("ordering", "page", "page_size"):
            continue
        values = [v for v in request.GET.getlist(name) if v]
        if values:
            params[name] = values
    for name in ("start_before", "end_after"):
        if filterset.is_bound and filterset.form.cleaned_data.get(name):
            params[name] = filterset.form.cleaned_data[name]
    return params


def _weeks(weeks, engagements, *, max_lanes, filters, month=None) -> list[dict]:
    rows = []
    for week in weeks:
        row = calendars.row_of(week, engagements, max_lanes=max_lanes)
        rows.append(
            {
                "row": row,
                "days": [{"date": day, "in_month": month is None or day.month == month.month} for day in week],
                "more": [
                    {"column": column, "date": day, "count": count, "url": _list_url(filters, first=day, last=day)}
                    for column, day, count in row.more
                ],
            }
        )
    return rows


def _timeline(engagements, *, first, last, group) -> dict:
    days = calendars.days_between(first, last)
    if group == "partner":
        by_partner = defaultdict(list)
        engagement_by_id = {e.pk: e for e in engagements}
        for participation in selectors.calendar_participations(engagement_ids=engagement_by_id):
            by_partner[participation.partner].append(engagement_by_id[participation.engagement_id])
        partners = sorted(by_partner, key=lambda p: p.name)
        rows = [calendars.row_of(days, by_partner[p], label=p) for p in partners[:TIMELINE_PARTNERS]]
        more = len(partners) - len(rows)
    else:
        rows = [calendars.row_of(days, [e], label=e) for e in engagements[:TIMELINE_ROWS]]
        more = len(engagements) - len(rows)
    return {"rows": rows, "more": more, "columns": len(days), "months": calendars.month_spans(first, last)}


def _links(view, group, span, today, filter_query) -> dict:
    """The calendar's own links (views, previous, next, today, timeline rows), each keeping the filters."""

    def link(**params):
        return "?" + "&".join(part for part in (urlencode(params), filter_query) if part)

    shown = span.get("month") or span["first"]
    week_of = today if span["is_current"] and view != "week" else shown
    if view != "week" and not span["is_current"] and shown.weekday() >= 5:
        week_of = shown + datetime.timedelta(days=7 - shown.weekday())  # a month's first week with weekdays
    timeline_group = {"group": group} if view == "timeline" and group == "partner" else {}
    return {
        "month": link(layout="month", month=shown.strftime("%Y-%m")),
        "week": link(layout="week", week=week_of.isoformat()),
        "timeline": link(layout="timeline", month=shown.strftime("%Y-%m")),
        "previous": link(layout=view, **{span["nav_param"]: span["previous"]}, **timeline_group),
        "next": link(layout=view, **{span["nav_param"]: span["next"]}, **timeline_group),
        "current": link(layout=view, **{span["nav_param"]: span["current"]}, **timeline_group),
        "by_engagement": link(layout="timeline", month=shown.strftime("%Y-%m")),
        "by_partner": link(layout="timeline", month=shown.strftime("%Y-%m"), group="partner"),
    }


def engagement_calendar(request):
    today = timezone.localdate()
    view = request.GET.get("layout") if request.GET.get("layout") in VIEWS else "month"
    group = "partner" if request.GET.get("group") == "partner" else "engagement"
    span = _range_of(view, request, today)
    first, last = span["first"], span["last"]
    filterset = EngagementFilterSet(
        request.GET or None, queryset=selectors.engagements_between(user=request.user, first_day=first, last_day=last)
    )
    valid = not filterset.is_bound or filterset.is_valid()
    # The calendar's own order, whatever ``ordering`` says: by start, the longest first on the same day.
    engagements = list(filterset.qs.order_by("start_date", "-end_date", "id")[:READ_LIMIT]) if valid else []
    filters = _filters_given(request, filterset) if valid else {}
    short, long = calendars.split_long(engagements)
    long_row = calendars.row_of(calendars.days_between(first, last), long, max_lanes=LONG_LANES)
    long_hidden = len(long) - len(long_row.bars)
    context = filter_form_context(
        request, filterset, reset_url=reverse("engagements:calendar") + f"?layout={view}", keep=CALENDAR_PARAMS
    )
    # The filters given (an empty field of the form is no filter), for the calendar's links and the feed.
    filter_query = urlencode(
        [(k, v) for k, values in request.GET.lists() if k not in CALENDAR_PARAMS for v in values if v.strip()]
    )
    context |= {
        "links": _links(view, group, span, today, filter_query),
        "view": view,
        "group": group,
        "span": span,
        "today": today,
        "truncated": len(engagements) == READ_LIMIT,
        "read_limit": READ_LIMIT,
        "long_row": long_row if long and view != "timeline" else None,  # the timeline has rows for them
        "long_hidden": long_hidden,
        "long_days": LONG_MISSION_DAYS,
        "range_list_url": _list_url(filters, first=first, last=last),
        "filter_query": filter_query,
        "day_format": DAY_FORMAT,
        "month_format": MONTH_FORMAT,
        "can_add": request.user.has_perm(ADD),
        "feed_secret": selectors.calendar_feed_secret(user=request.user),
    }
    if view == "timeline":
        context["timeline"] = _timeline(engagements, first=first, last=last, group=group)
        context["today_column"] = (today - first).days + 1 if first <= today <= last else None
    else:
        lanes = MONTH_LANES if view == "month" else WEEK_LANES
        context["weeks"] = _weeks(span["weeks"], short, max_lanes=lanes, filters=filters, month=span.get("month"))
        context["weekdays"] = [(WEEKDAYS if view == "week" else WEEKDAYS_ABBR)[i] for i in range(7)]
    if context["feed_secret"]:
        feed_url = reverse("engagements:calendar_feed", kwargs={"secret": context["feed_secret"]})
        context["feed_url"] = request.build_absolute_uri(feed_url) + (f"?{filter_query}" if filter_query else "")
    return render(request, "engagements/engagement_calendar.html", context, status=200 if valid else 400)


@require_POST
def calendar_feed_reset(request):
    """A new secret feed address for the signed-in user (the old one stops at once); back to the calendar."""
    services.calendar_feed_reset(user=request.user)
    messages.success(request, _("Your calendar feed has a new address. The previous one no longer works."))
    query = request.GET.urlencode()
    return redirect(reverse("engagements:calendar") + (f"?{query}" if query else "") + "#subscribe")


@login_not_required
@require_safe
def calendar_feed(request, secret):
    """The iCal feed of the calendar's filters for the owner of ``secret``: what that user may read, nothing
    more; 404 for a wrong or reset secret or a deactivated user; 429 beyond the feed's hourly allowance."""
    user = selectors.calendar_feed_owner(secret=secret)
    if user is None:
        raise Http404(_("No calendar feed at this address."))
    if not feeds.feed_request_allowed(secret):
        response = HttpResponse(_("Too many requests for this feed: try again later."), status=429)
        response["Retry-After"] = "3600"
        return response
    since = feeds.feed_window_start()
    filterset = EngagementFilterSet(request.GET or None, queryset=selectors.engagements_in_feed(user=user, since=since))
    if filterset.is_bound and not filterset.is_valid():
        lines = [f"{name}: {' '.join(errors)}" for name, errors in filterset.form.errors.items()]
        return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")
    engagements = filterset.qs.order_by("start_date", "id")[: feeds.FEED_MAX_EVENTS]
    body = feeds.calendar_ics(
        engagements,
        name=_("Engagements"),
        host=request.get_host().split(":")[0],
        url_of=lambda e: request.build_absolute_uri(reverse("engagements:detail", args=[e.pk])),
        description_of=lambda e: "\n".join(
            part
            for part in (
                f"{e.reference} · {e.get_engagement_type_display()} · {e.get_status_display()}",
                e.description,
            )
            if part
        ),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="engagements.ics"'
    response["Cache-Control"] = "private, no-store"
    return response
