"""Counting the engagements and partners of each quarter for the overview, as snapshots written by runs.

The overview shows ten years of engagements per quarter by type and the partners engaged in a quarter.
Counted live, that is a grouped aggregate over every engagement (about 300 ms on a million of them) on
every visit, and seconds for one region or organization; as a snapshot it is a read of a few hundred rows. A run recounts every quarter it scores,
in the same transaction as the scores, so the counts are as fresh as the scores beside them and a failed
run leaves the earlier counts in place. The definitions are the dashboard's: engagements counted in the
quarter they start, cancelled and deleted ones left out; restricted ones counted apart so that a viewer's
figures can leave them out.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q
from django.db.models.functions import TruncQuarter
from django.utils import timezone

from assessments.models import ActivityScope, AssessmentRun, QuarterActivity, QuarterActivityCount
from assessments.periods import Quarter
from assessments.services.pairs import pairs_store
from engagements.choices import Sensitivity, Status
from engagements.models import Engagement, Participation
from organizations.choices import MEMBER_STATUSES


@dataclass
class QuarterCounts:
    partners_engaged: int = 0
    partners_engaged_unrestricted: int = 0
    # (engagement type, restricted) -> engagements
    engagements: dict[tuple[str, bool], int] = field(default_factory=dict)


# (scope kind, scope name, quarter): the scope kind is "" for everyone, with an empty name.
CountKey = tuple[str, str, Quarter]


def quarter_of(value) -> Quarter:
    """The quarter of a TruncQuarter value (a date on PostgreSQL, possibly a datetime elsewhere)."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    return Quarter.of(value)


def counted_engagements():
    """The engagements the overview counts: live and not cancelled."""
    return Engagement.objects.live().exclude(status=Status.CANCELLED)


def _member_on_start_date() -> Q:
    """A participation's partner is a member of the organization on the day the engagement starts."""
    return Q(
        Q(partner__memberships__joined__isnull=True) | Q(partner__memberships__joined__lte=F("engagement__start_date")),
        Q(partner__memberships__left__isnull=True) | Q(partner__memberships__left__gt=F("engagement__start_date")),
        partner__memberships__status__in=MEMBER_STATUSES,
    )


# How each scope finds an engagement's partners in it: (participations filter, the scope's name field).
SCOPE_COLUMNS = {
    ActivityScope.REGION: (~Q(partner__region=""), "partner__region"),
    ActivityScope.SUBREGION: (~Q(partner__subregion=""), "partner__subregion"),
    ActivityScope.INTERMEDIATE_REGION: (~Q(partner__intermediate_region=""), "partner__intermediate_region"),
    ActivityScope.ORGANIZATION: (_member_on_start_date(), "partner__memberships__organization__acronym"),
}


def counted_quarters(quarters: Iterable[Quarter]) -> set[Quarter]:
    """Those of ``quarters`` a run has counted (it counts every scope of a quarter at once)."""
    periods = QuarterActivity.objects.filter(
        scope_kind=ActivityScope.EVERYTHING, period__in=[q.start for q in quarters]
    ).values_list("period", flat=True)
    return {Quarter.of(period) for period in periods}


def activity_count(quarters: list[Quarter]) -> dict[CountKey, QuarterCounts]:
    """Count the given quarters from today's data, for everyone and for every region, subregion,
    intermediate region and organization that has engagements in them: grouped queries (ten, whatever the
    number of quarters)."""
    if not quarters:
        return {}
    wanted = set(quarters)
    first, last = min(quarters), max(quarters)
    in_range = counted_engagements().filter(start_date__gte=first.start, start_date__lte=last.end)
    counts: dict[CountKey, QuarterCounts] = {(ActivityScope.EVERYTHING, "", q): QuarterCounts() for q in quarters}

    def add_engagements(kind, name, quarter_start, engagement_type, sensitivity, n):
        quarter = quarter_of(quarter_start)
        if quarter in wanted:
            key = (engagement_type, sensitivity == Sensitivity.RESTRICTED)
            found = counts.setdefault((kind, name, quarter), QuarterCounts())
            found.engagements[key] = found.engagements.get(key, 0) + n

    def add_partners(kind, name, row):
        quarter = quarter_of(row["quarter_start"])
        if quarter in wanted:
            found = counts.setdefault((kind, name, quarter), QuarterCounts())
            found.partners_engaged = row["every"]
            found.partners_engaged_unrestricted = row["unrestricted"]

    partner_counts = {
        "every": Count("partner_id", distinct=True),
        "unrestricted": Count("partner_id", distinct=True, filter=~Q(engagement__sensitivity=Sensitivity.RESTRICTED)),
    }
    for row in (
        in_range.annotate(quarter_start=TruncQuarter("start_date"))
        .order_by()
        .values("quarter_start", "engagement_type", "sensitivity")
        .annotate(n=Count("pk"))
    ):
        add_engagements(
            ActivityScope.EVERYTHING, "", row["quarter_start"], row["engagement_type"], row["sensitivity"], row["n"]
        )
    # Joined, not "engagement IN (subquery)": for one quarter PostgreSQL then starts from the engagements'
    # date index instead of hashing all the participations (1.3 s -> 0.2 s on a million engagements).
    participations = (
        Participation.objects.filter(
            engagement__deleted_at__isnull=True,
            engagement__start_date__gte=first.start,
            engagement__start_date__lte=last.end,
        )
        .exclude(engagement__status=Status.CANCELLED)
        .annotate(quarter_start=TruncQuarter("engagement__start_date"))
    )
    for row in participations.order_by().values("quarter_start").annotate(**partner_counts):
        add_partners(ActivityScope.EVERYTHING, "", row)
    for kind, (condition, column) in SCOPE_COLUMNS.items():
        scoped = participations.filter(condition).order_by()
        for quarter_start, name, engagement_type, sensitivity, n in scoped.values_list(
            "quarter_start", column, "engagement__engagement_type", "engagement__sensitivity"
        ).annotate(n=Count("engagement_id", distinct=True)):
            add_engagements(kind, name, quarter_start, engagement_type, sensitivity, n)
        for row in scoped.values("quarter_start", column).annotate(**partner_counts):
            add_partners(kind, row[column], row)
    return counts


def activity_rows(
    counts: dict[CountKey, QuarterCounts],
    *,
    run_id_of: Callable[[Quarter], Any],
    now,
    models: tuple[type, type] = (QuarterActivity, QuarterActivityCount),
) -> tuple[list[QuarterActivity], list[QuarterActivityCount]]:
    """The snapshot rows of ``counts`` (unsaved); ``run_id_of(quarter)`` names the run that counted it.
    ``models`` lets a migration build them with its historical models."""
    activity_model, count_model = models
    activity = [
        activity_model(
            scope_kind=kind,
            scope_name=name,
            period=quarter.start,
            partners_engaged=c.partners_engaged,
            partners_engaged_unrestricted=c.partners_engaged_unrestricted,
            run_id=run_id_of(quarter),
            computed_at=now,
        )
        for (kind, name, quarter), c in counts.items()
    ]
    by_type = [
        count_model(
            scope_kind=kind,
            scope_name=name,
            period=quarter.start,
            engagement_type=engagement_type,
            restricted=restricted,
            engagements=n,
        )
        for (kind, name, quarter), c in counts.items()
        for (engagement_type, restricted), n in c.engagements.items()
    ]
    return activity, by_type


def activity_store(*, run: AssessmentRun | None, counts: dict[CountKey, QuarterCounts]) -> None:
    """Replace the snapshots of the counted quarters, every scope, and recount their partner pairs (the
    cooperation network's snapshot, ``services/pairs.py``): a quarter with activity rows has its pairs
    counted too. Must run inside the caller's transaction."""
    if not counts:
        return
    periods = sorted({quarter.start for _kind, _name, quarter in counts})
    pairs_store(quarters={quarter for _kind, _name, quarter in counts})
    QuarterActivityCount.objects.filter(period__in=periods).delete()
    QuarterActivity.objects.filter(period__in=periods).delete()
    activity, by_type = activity_rows(counts, run_id_of=lambda _quarter: run.pk if run else None, now=timezone.now())
    QuarterActivity.objects.bulk_create(activity, batch_size=1000)
    QuarterActivityCount.objects.bulk_create(by_type, batch_size=1000)
