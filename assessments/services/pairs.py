"""Counting who took part with whom, per quarter, for the cooperation network, as snapshots written by runs.

The network of a region over eight quarters pairs up the participants of every engagement in it: on a
million engagements that is a self-join of the participations, seconds per visit. A run counts the pairs of
every quarter it counts the activity of (``services/activity.py``), in the same transaction, with one
``INSERT ... SELECT`` (the rows never travel through Python), so the counts are as fresh as the scores and
a failed run leaves the earlier counts in place. Quarters no run has counted yet are paired live, with the
same query, by the network's reader.

The definitions: an engagement counts as the scores count it (completed or in progress, not deleted), in
the quarter it starts, for every pair of its participants whatever their roles (a host takes part as a
participant row too); restricted engagements are counted apart, so a viewer's network can leave them out.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import TruncQuarter

from assessments.models import PairQuarter
from assessments.periods import Quarter, quarter_range
from engagements.choices import SCORED_STATUSES, Sensitivity
from engagements.models import Participation


def pair_rows(*, first_day: datetime.date, last_day: datetime.date) -> QuerySet:
    """Per pair of partners (the smaller id first), quarter and restriction, how many counted engagements
    starting from ``first_day`` to ``last_day`` both took part in: ``partner``, ``other``, ``quarter_start``,
    ``restricted``, ``engagements``. One grouped query."""
    return (
        Participation.objects.filter(
            engagement__deleted_at__isnull=True,
            engagement__status__in=SCORED_STATUSES,
            engagement__start_date__gte=first_day,
            engagement__start_date__lte=last_day,
        )
        .annotate(other=F("engagement__participations__partner_id"))
        .filter(other__gt=F("partner_id"))
        .annotate(
            quarter_start=TruncQuarter("engagement__start_date"),
            restricted=ExpressionWrapper(Q(engagement__sensitivity=Sensitivity.RESTRICTED), BooleanField()),
        )
        .order_by()
        .values("partner_id", "other", "quarter_start", "restricted")
        .annotate(engagements=Count("engagement_id"))
    )


def quarter_blocks(quarters: Iterable[Quarter]) -> list[tuple[Quarter, Quarter]]:
    """Runs of consecutive quarters, so a backfill of forty quarters is one query, not forty."""
    blocks: list[list[Quarter]] = []
    for quarter in sorted(set(quarters)):
        if blocks and blocks[-1][1].shift(1) == quarter:
            blocks[-1][1] = quarter
        else:
            blocks.append([quarter, quarter])
    return [(first, last) for first, last in blocks]


def snapshot_delete(queryset: QuerySet) -> int:
    """Delete a snapshot's rows in one ``DELETE`` statement. ``QuerySet.delete`` selects every row first and
    deletes them in batches whenever any receiver listens to ``post_delete`` (the page cache's does, for
    every model): 44 statements and 0.26 s for one quarter's pairs on a million engagements. Nothing refers to
    these rows, and the run's end makes the cached pages stale itself (``assessment_run_finished``)."""
    return queryset._raw_delete(queryset.db)


def pairs_store(*, quarters: Iterable[Quarter]) -> None:
    """Recount the pairs of ``quarters`` from today's data, replacing their rows. Must run inside the
    caller's transaction (the run's, beside the scores and the activity counts)."""
    blocks = quarter_blocks(quarters)
    if not blocks:
        return
    snapshot_delete(
        PairQuarter.objects.filter(period__in=[q.start for first, last in blocks for q in quarter_range(first, last)])
    )
    table = connection.ops.quote_name(PairQuarter._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(PairQuarter._meta.get_field(name).column)
        for name in ("partner", "other", "period", "restricted", "engagements")
    )
    with connection.cursor() as cursor:
        for first, last in blocks:
            sql, params = pair_rows(first_day=first.start, last_day=last.end).query.sql_with_params()
            cursor.execute(f"INSERT INTO {table} ({columns}) {sql}", params)
