"""The calendar's layout: which bar goes in which row and columns of the month, week and timeline grids.

Pure functions of the engagements already read (no query here): a multi-day engagement is one bar across
the days it covers, cut only where a week row ends, as calendar programs draw it. Bars are packed into lanes
(the lowest free row), so an engagement keeps its lane for the whole week. Long missions
(``rules.is_long_mission``) get their own lanes above the grid instead of filling every day they cover.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from engagements.rules import is_long_mission

ONE_DAY = datetime.timedelta(days=1)


@dataclass
class Bar:
    """One engagement drawn from ``first`` to ``last`` (the part of it inside the grid row)."""

    engagement: object
    first: datetime.date
    last: datetime.date
    column: int  # the grid column of ``first`` (1-based)
    span: int  # days drawn
    lane: int = 0  # the grid row among the bars (1-based)

    @property
    def starts_before(self) -> bool:
        return self.engagement.start_date < self.first

    @property
    def ends_after(self) -> bool:
        return self.engagement.end_date > self.last


@dataclass
class Row:
    """A row of the grid (a week, a lane of long missions, a timeline row): its days, bars and overflow."""

    days: list[datetime.date]
    bars: list[Bar]
    lanes: int
    hidden: dict[datetime.date, int] = field(default_factory=dict)  # day -> bars not drawn for want of lanes
    label: object = None

    @property
    def more(self) -> list[tuple[int, datetime.date, int]]:
        """(column, day, count) of the days that have bars not drawn."""
        return [(i + 1, day, self.hidden[day]) for i, day in enumerate(self.days) if self.hidden.get(day)]


def split_long(engagements: Iterable) -> tuple[list, list]:
    """(short engagements, long missions)."""
    short, long = [], []
    for e in engagements:
        (long if is_long_mission(e.start_date, e.end_date) else short).append(e)
    return short, long


def pack(bars: list[Bar], *, max_lanes: int | None = None) -> int:
    """Give each bar the lowest lane free over its days (longest first among those starting together, so a
    long bar keeps the top); a bar that finds none of the ``max_lanes`` free gets lane 0 (not drawn).
    Returns the number of lanes used."""
    ends: list[datetime.date] = []  # per lane, the last day taken
    for bar in sorted(bars, key=lambda b: (b.first, -b.span, b.engagement.start_date, b.engagement.pk)):
        for index, end in enumerate(ends):
            if end < bar.first:
                ends[index] = bar.last
                bar.lane = index + 1
                break
        else:
            if max_lanes is None or len(ends) < max_lanes:
                ends.append(bar.last)
                bar.lane = len(ends)
            else:
                bar.lane = 0
    bars.sort(key=lambda b: (b.lane, b.first))
    return len(ends)


def row_of(days: Sequence[datetime.date], engagements: Iterable, *, max_lanes: int | None = None, label=None) -> Row:
    """The row of ``days`` (consecutive): one bar per engagement that overlaps them, packed into lanes; beyond
    ``max_lanes`` bars are not drawn but counted on each day they cover (the "+N more" of that day)."""
    first_day, last_day = days[0], days[-1]
    bars = []
    for e in engagements:
        if e.start_date > last_day or e.end_date < first_day:
            continue
        first, last = max(e.start_date, first_day), min(e.end_date, last_day)
        bars.append(Bar(e, first, last, column=(first - first_day).days + 1, span=(last - first).days + 1))
    lanes = pack(bars, max_lanes=max_lanes)
    hidden: dict[datetime.date, int] = {}
    for bar in bars:
        if bar.lane == 0:
            for offset in range(bar.span):
                day = bar.first + datetime.timedelta(days=offset)
                hidden[day] = hidden.get(day, 0) + 1
    bars = [bar for bar in bars if bar.lane]
    return Row(days=list(days), bars=bars, lanes=lanes, hidden=hidden, label=label)


def days_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The first day of the month ``months`` after ``day``'s."""
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_spans(first: datetime.date, last: datetime.date) -> list[dict]:
    """The months from ``first`` to ``last`` as (first day, grid column, days): the timeline's header."""
    spans, cursor = [], first
    while cursor <= last:
        following = min(add_months(cursor, 1) - ONE_DAY, last)
        spans.append({"date": cursor, "column": (cursor - first).days + 1, "span": (following - cursor).days + 1})
        cursor = following + ONE_DAY
    return spans
