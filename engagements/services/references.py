"""Engagement references (``ENG-2025-000123``): drawn from a locked yearly counter, or reserved when given."""

from __future__ import annotations

import bisect

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from engagements.models import Engagement, ReferenceCounter
from engagements.rules import REFERENCE_PATTERN


def reference_allocate(*, year: int, count: int = 1) -> list[str]:
    """Draw ``count`` consecutive reference numbers for ``year``; safe under concurrent creation.

    The year's counter row is locked for the rest of the transaction, so two creations never draw the
    same number; the unique constraint on ``reference`` backs this up.
    """
    return references_allocate({year: count}).get(year, [])


def references_allocate(counts: dict[int, int]) -> dict[int, list[str]]:
    """``reference_allocate`` for several years at once (a batch of an import): on PostgreSQL one statement,
    which locks the years' counter rows in the order of the years (two writers never deadlock), instead of
    five per year (an import's writing thread runs its statements between them: bench/README.md)."""
    return {
        year: [_reference(year, number) for number in numbers] for year, numbers in _numbers_allocate(counts).items()
    }


def _numbers_allocate(counts: dict[int, int]) -> dict[int, range]:
    """The numbers behind ``references_allocate``: for each year of ``counts``, ``count`` consecutive ones."""
    counts = {year: count for year, count in sorted(counts.items()) if count > 0}
    if not counts:
        return {}
    if connection.vendor != "postgresql":
        last = {}
        with transaction.atomic():
            for year, count in counts.items():
                ReferenceCounter.objects.bulk_create(
                    [ReferenceCounter(year=year, last_number=0)], ignore_conflicts=True
                )
                counter = ReferenceCounter.objects.select_for_update().get(year=year)
                ReferenceCounter.objects.filter(year=year).update(last_number=F("last_number") + count)
                last[year] = counter.last_number + count
    else:
        table = connection.ops.quote_name(ReferenceCounter._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (year, last_number) "  # noqa: S608 (our table's name)
                "SELECT * FROM unnest(%s::integer[], %s::integer[]) ORDER BY 1 "
                f"ON CONFLICT (year) DO UPDATE SET last_number = {table}.last_number + EXCLUDED.last_number "
                "RETURNING year, last_number",
                [list(counts), list(counts.values())],
            )
            last = dict(cursor.fetchall())
    return {year: range(last[year] - count + 1, last[year] + 1) for year, count in counts.items()}


def _reference(year: int, number: int) -> str:
    return f"ENG-{year}-{number:06d}"


def reference_problem(reference: str) -> str | None:
    """Why a reference given from outside (an import) cannot be used; None if it can."""
    if not REFERENCE_PATTERN.match(reference or ""):
        return _("A reference looks like ENG-2025-000123.")
    if Engagement.objects.filter(reference=reference).exists():
        return _("Reference %(reference)s is already used.") % {"reference": reference}
    return None


def reference_reserve(*, reference: str) -> None:
    """Keep the year's counter past a reference given from outside (an import), so it is never drawn again."""
    match = REFERENCE_PATTERN.match(reference)
    year, number = int(match.group(1)), int(match.group(2))
    with transaction.atomic():
        ReferenceCounter.objects.bulk_create([ReferenceCounter(year=year, last_number=0)], ignore_conflicts=True)
        ReferenceCounter.objects.select_for_update().filter(year=year, last_number__lt=number).update(
            last_number=number
        )


class ReferenceNumbers:
    """Reference numbers for many bulk creations in one transaction (an import's batches): drawn by year well
    ahead of need (``AHEAD`` times what a batch asks: an import of 100,000 rows over a few years draws twice,
    instead of once per batch, each draw waiting for the import's writing thread), and the ones not used
    given back by ``give_back`` before the commit, so that a committed import leaves no gap in the
    numbering. The years' counter rows stay locked by the transaction from its first draw, as with
    ``references_allocate``: nobody else draws that year's numbers meanwhile. A reference given from outside
    that falls among the numbers drawn ahead is taken out of them (``reserve``)."""

    AHEAD = 16

    def __init__(self):
        self.ready: dict[int, list[int]] = {}  # by year, ascending: drawn and not handed out
        self.last: dict[int, int] = {}  # by year: the counter's value after this transaction's last draw

    def take(self, counts: dict[int, int]) -> dict[int, list[str]]:
        """``count`` references for each year of ``counts``, as ``references_allocate`` gives them."""
        wanted = {}
        for year, count in counts.items():
            short = count - len(self.ready.get(year, ()))
            if short > 0:
                wanted[year] = max(short, self.AHEAD * count)
        for year, numbers in _numbers_allocate(wanted).items():
            self.ready.setdefault(year, []).extend(numbers)
            self.last[year] = numbers[-1]
        taken = {}
        for year, count in counts.items():
            if count > 0:
                numbers, self.ready[year] = self.ready[year][:count], self.ready[year][count:]
                taken[year] = [_reference(year, number) for number in numbers]
        return taken

    def reserve(self, reference: str) -> None:
        """``reference_reserve``, and the number no longer handed out if it was drawn ahead."""
        match = REFERENCE_PATTERN.match(reference)
        year, number = int(match.group(1)), int(match.group(2))
        ready = self.ready.get(year, [])
        at = bisect.bisect_left(ready, number)  # ascending: a file of named references stays linear
        if at < len(ready) and ready[at] == number:
            del ready[at]
        reference_reserve(reference=reference)

    def give_back(self) -> None:
        """Return the numbers drawn and not handed out: each year's counter goes back by those at its top
        (all of them, unless a reference given from outside took one in between). A counter this transaction
        moved past its last draw (a reference given from outside, higher) keeps its value."""
        for year, numbers in self.ready.items():
            top = self.last[year]
            unused = 0
            while unused < len(numbers) and numbers[-1 - unused] == top - unused:
                unused += 1
            if unused:
                ReferenceCounter.objects.filter(year=year, last_number=top).update(last_number=top - unused)
            self.ready[year] = []
