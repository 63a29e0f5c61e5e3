"""Counting the engagements and partners of each quarter for the overview, as snapshots written by runs.

The overview shows ten years of engagements per quarter by type and the partners engaged in a quarter.
Counted live, that is a grouped aggregate over every engagement (about 300 ms on a million of them) on
every visit; as a snapshot it is a read of a few hundred rows. A run recounts every quarter it scores,
in the same transaction as the scores, so the counts are as fresh as the scores beside them and a failed
run leaves the earlier counts in place. The definitions are the dashboard's: engagements counted in the
quarter they start, cancelled and deleted ones left out; restricted ones counted apart so that a viewer's
figures can leave them out.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncQuarter
from django.utils import timezone

from assessments.models import AssessmentRun, QuarterActivity, QuarterActivityCount
from assessments.periods import Quarter
from engagements.choices import Sensitivity, Status
from engagements.models import Engagement, Participation


@dataclass
class QuarterCounts:
    partners_engaged: int = 0
    partners_engaged_unrestricted: int = 0
    # (engagement type, restricted) -> engagements
    engagements: dict[tuple[str, bool], int] = field(default_factory=dict)


def quarter_of(value) -> Quarter:
    """The quarter of a TruncQuarter value (a date on PostgreSQL, possibly a datetime elsewhere)."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    return Quarter.of(value)


def counted_engagements():
    """The engagements the overview counts: live and not cancelled."""
    return Engagement.objects.live().exclude(status=Status.CANCELLED)


def activity_count(quarters: list[Quarter]) -> dict[Quarter, QuarterCounts]:
    """Count the given quarters from today's data (two grouped queries, whatever the number of quarters)."""
    if not quarters:
        return {}
    wanted = set(quarters)
    first, last = min(quarters), max(quarters)
    in_range = counted_engagements().filter(start_date__gte=first.start, start_date__lte=last.end)
    counts = {q: QuarterCounts() for q in quarters}
    by_type = (
        in_range.annotate(quarter_start=TruncQuarter("start_date"))
        .order_by()
        .values("quarter_start", "engagement_type", "sensitivity")
        .annotate(n=Count("pk"))
    )
    for row in by_type:
        quarter = quarter_of(row["quarter_start"])
        if quarter in wanted:
            key = (row["engagement_type"], row["sensitivity"] == Sensitivity.RESTRICTED)
            counts[quarter].engagements[key] = counts[quarter].engagements.get(key, 0) + row["n"]
    partners = (
        Participation.objects.filter(engagement__in=in_range.values("pk"))
        .annotate(quarter_start=TruncQuarter("engagement__start_date"))
        .order_by()
        .values("quarter_start")
        .annotate(
            every=Count("partner_id", distinct=True),
            unrestricted=Count("partner_id", distinct=True, filter=~Q(engagement__sensitivity=Sensitivity.RESTRICTED)),
        )
    )
    for row in partners:
        quarter = quarter_of(row["quarter_start"])
        if quarter in wanted:
            counts[quarter].partners_engaged = row["every"]
            counts[quarter].partners_engaged_unrestricted = row["unrestricted"]
    return counts


def activity_store(*, run: AssessmentRun | None, counts: dict[Quarter, QuarterCounts]) -> None:
    """Replace the snapshots of the counted quarters. Must run inside the caller's transaction."""
    if not counts:
        return
    periods = [q.start for q in counts]
    now = timezone.now()
    QuarterActivityCount.objects.filter(period__in=periods).delete()
    QuarterActivity.objects.filter(period__in=periods).delete()
    QuarterActivity.objects.bulk_create(
        QuarterActivity(
            period=q.start,
            partners_engaged=c.partners_engaged,
            partners_engaged_unrestricted=c.partners_engaged_unrestricted,
            run=run,
            computed_at=now,
        )
        for q, c in counts.items()
    )
    QuarterActivityCount.objects.bulk_create(
        QuarterActivityCount(period=q.start, engagement_type=kind, restricted=restricted, engagements=n)
        for q, c in counts.items()
        for (kind, restricted), n in c.engagements.items()
    )
