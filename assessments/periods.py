"""Calendar quarters, the unit every score is computed for: ``2025-Q3`` runs from 1 July to 30 September.

A quarter is written ``YYYY-Qn`` everywhere users and integrators see it, and stored as its first day.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

FIRST_YEAR = 1900
LAST_YEAR = 2100
_LABEL = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


class PeriodError(ValueError):
    """A period string that is not a quarter we can score; the message says what to write instead."""


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1..4

    @classmethod
    def parse(cls, value: str | Quarter) -> Quarter:
        if isinstance(value, Quarter):
            return value
        match = _LABEL.match(str(value or ""))
        if not match:
            raise PeriodError(
                _("“%(value)s” is not a quarter: write it as YYYY-Qn, for example 2025-Q3.") % {"value": value}
            )
        year = int(match.group(1))
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise PeriodError(
                _("%(value)s is out of range: quarters from %(first)s to %(last)s.")
                % {"value": value, "first": FIRST_YEAR, "last": LAST_YEAR}
            )
        return cls(year, int(match.group(2)))

    @classmethod
    def of(cls, day: datetime.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def current(cls) -> Quarter:
        return cls.of(timezone.localdate())

    @property
    def start(self) -> datetime.date:
        return datetime.date(self.year, 3 * (self.number - 1) + 1, 1)

    @property
    def end(self) -> datetime.date:
        return self.shift(1).start - datetime.timedelta(days=1)

    @property
    def index(self) -> int:
        return self.year * 4 + self.number - 1

    def shift(self, quarters: int) -> Quarter:
        index = self.index + quarters
        return Quarter(index // 4, index % 4 + 1)

    def window(self, lookback: int) -> list[Quarter]:
        """The ``lookback`` quarters ending with this one, oldest first."""
        return [self.shift(-offset) for offset in range(lookback - 1, -1, -1)]

    def is_provisional(self, today: datetime.date | None = None) -> bool:
        """True while the quarter has not ended (its last day is today or later): its scores can still
        change as engagements of its last days are entered. Derived from the date each time it is asked,
        never stored, so it cannot go stale when the quarter ends without a run."""
        return self.end >= (today or timezone.localdate())

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"


# How pages write a quarter, by language (the first part of the language code); others use Quarter.__str__.
# Only pages: the API, CSV exports and URLs always say 2025-Q3, whatever the reader's language.
QUARTER_DISPLAY = {"fr": "T{number} {year}"}


def quarter_display(value, language: str | None = None) -> str:
    """A quarter as a page shows it in ``language`` (the active one by default): "T4 2026" in French,
    "2026-Q4" in English. ``value`` is a Quarter, a date in the quarter, or a ``YYYY-Qn`` label; anything
    else is returned as text unchanged. The one formatting function for quarters on pages."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.date):
        quarter = Quarter.of(value)
    else:
        try:
            quarter = Quarter.parse(value)
        except PeriodError:
            return str(value)
    fmt = QUARTER_DISPLAY.get((language or get_language() or "").split("-")[0].lower())
    return fmt.format(year=quarter.year, number=quarter.number) if fmt else str(quarter)


def quarter_range(first: Quarter, last: Quarter) -> list[Quarter]:
    return [first.shift(n) for n in range(last.index - first.index + 1)]


def parse_periods(values: Iterable[str], *, limit: int = 400) -> list[Quarter]:
    """Distinct quarters, oldest first, from labels; every bad label is reported at once."""
    quarters, problems = set(), []
    for value in values:
        try:
            quarters.add(Quarter.parse(value))
        except PeriodError as exc:
            problems.append(str(exc))
    if problems:
        raise PeriodError(" ".join(problems))
    if len(quarters) > limit:
        raise PeriodError(_("At most %(limit)s quarters at a time.") % {"limit": limit})
    return sorted(quarters)


def default_periods() -> list[Quarter]:
    """The current and the previous quarter: what the nightly run and a run without periods compute."""
    current = Quarter.current()
    return [current.shift(-1), current]
