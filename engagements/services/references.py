"""Engagement references (``ENG-2025-000123``): drawn from a locked yearly counter, or reserved when given."""

from __future__ import annotations

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
    return {
        year: [f"ENG-{year}-{number:06d}" for number in range(last[year] - count + 1, last[year] + 1)]
        for year, count in counts.items()
    }


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
