"""Engagement references (``ENG-2025-000123``): drawn from a locked yearly counter, or reserved when given."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from engagements.models import Engagement, ReferenceCounter
from engagements.rules import REFERENCE_PATTERN


def reference_allocate(*, year: int, count: int = 1) -> list[str]:
    """Draw ``count`` consecutive reference numbers for ``year``; safe under concurrent creation.

    The year's counter row is locked for the rest of the transaction, so two creations never draw the
    same number; the unique constraint on ``reference`` backs this up.
    """
    with transaction.atomic():
        ReferenceCounter.objects.bulk_create([ReferenceCounter(year=year, last_number=0)], ignore_conflicts=True)
        counter = ReferenceCounter.objects.select_for_update().get(year=year)
        first = counter.last_number + 1
        ReferenceCounter.objects.filter(year=year).update(last_number=F("last_number") + count)
    return [f"ENG-{year}-{number:06d}" for number in range(first, first + count)]


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
