"""Counting the engagements and partners of each quarter for the overview, as snapshots written by runs.

The overview shows ten years of engagements per quarter by type and the partners engaged in a quarter.
Counted live, that is a grouped aggregate over every engagement (about 300 ms on a million of them) on
every visit, and seconds for one region or organization; as a snapshot it is a read of a few hundred rows. A run counts every quarter it scores
that has no snapshot yet or that a write has changed since its last count (the database marks those:
``QuarterActivityChange``), in the same transaction as the scores, so the counts are as fresh as the
scores beside them and a failed run leaves the earlier counts in place. The definitions are the dashboard's: engagements counted in the
quarter they start, cancelled and deleted ones left out; restricted ones counted apart so that a viewer's
figures can leave them out.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.functions import TruncQuarter
from django.utils import timezone

from assessments.models import (
    ActivityScope,
    AssessmentRun,
    PairQuarter,
    QuarterActivity,
    QuarterActivityChange,
    QuarterActivityCount,
)
from assessments.periods import Quarter
from assessments.services.pairs import pairs_store, snapshot_delete
from assessments.sql import scoring_settings
from engagements.choices import SCORED_STATUSES, Sensitivity, Status
from engagements.models import Engagement, Participation
from organizations.choices import MEMBER_STATUSES
from organizations.models import Membership, Organization
from partners.models import PartnerNation


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
    intermediate region and organization that has engagements in them.

    On PostgreSQL, one pass: a single statement reads the quarters' engagements and their participations
    once and counts every scope from them (``_count_in_one_pass``). Elsewhere, grouped queries per scope
    (ten, whatever the number of quarters: ``activity_count_by_scope``), which give the same figures and
    are what the tests compare the single pass against.
    """
    if not quarters:
        return {}
    if connection.vendor == "postgresql":
        return _count_in_one_pass(quarters)
    return activity_count_by_scope(quarters)


# Up to this many quarters, each engagement's participations are read through the index on their engagement
# (the quarter's tens of thousands of rows); beyond, all participations are hashed once (what the planner
# picks by itself, and faster for years of engagements). For one quarter the planner would hash the two
# million participations too: 0.5 s where the index takes 0.05 s (bench/README.md).
INDEXED_QUARTERS = 4


def _one_pass_sql(*, indexed: bool, pairs: bool = False) -> str:
    """The single statement behind ``_count_in_one_pass``, with the tables' names filled in.

    ``counted`` (materialised once) holds each counted engagement starting in the range with each of its
    partners (one row with no partner for an engagement without any); ``scoped`` repeats those rows once per
    scope the partner is in on the engagement's start date (every engagement for everyone). Per scope and
    quarter, the engagements by type and restriction are then counted from the distinct (scope, engagement)
    pairs, and the partners engaged (and those with an unrestricted engagement) from the (scope, partner)
    pairs: hashed, where COUNT(DISTINCT ...) sorted every scoped row.

    The scopes are numbered first (``scopes``: 0 for everyone, then every region, subregion, intermediate
    region and organization, a few dozen rows) and each partner's are listed with the days it is in them
    (``member``: regions always, organizations from joining to leaving), so that the 240,000 scoped rows of
    a quarter of a million engagements carry and hash a scope's number instead of its kind and name; the
    names are joined to the few hundred counts at the end (0.92 s -> 0.73 s for one quarter, bench/README.md).

    With ``pairs``, the same statement also writes the cooperation network's pair snapshot of the wanted
    quarters (``paired``, an ``INSERT`` in a data-modifying CTE) from the ``counted`` rows it has read
    anyway: the scored ones (completed or in progress) self-joined on their engagement, as ``pair_rows``
    counts them. The separate ``INSERT ... SELECT`` read the quarter's engagements and participations again.
    """
    tables = {
        "engagement": Engagement._meta.db_table,
        "participation": Participation._meta.db_table,
        "partner": PartnerNation._meta.db_table,
        "membership": Membership._meta.db_table,
        "organization": Organization._meta.db_table,
    }
    columns = "c.period, c.engagement_type, c.restricted, c.engagement_id, c.partner_id"
    if indexed:  # OFFSET 0 keeps the planner from flattening the lateral subquery into a hash join
        participations = f"""LEFT JOIN LATERAL (
            SELECT partner_id FROM {tables["participation"]} WHERE engagement_id = e.id OFFSET 0
        ) p ON TRUE"""  # noqa: S608 (our table names and expressions; values are parameters)
    else:
        participations = f"LEFT JOIN {tables['participation']} p ON p.engagement_id = e.id"
    quote = connection.ops.quote_name
    paired = ""
    if pairs:
        columns_of_pairs = ", ".join(
            quote(PairQuarter._meta.get_field(name).column)
            for name in ("partner", "other", "period", "restricted", "engagements")
        )
        paired = f"""paired AS (
        INSERT INTO {quote(PairQuarter._meta.db_table)} ({columns_of_pairs})
        SELECT a.partner_id, b.partner_id, a.period, a.restricted, COUNT(*)
        FROM counted a JOIN counted b ON b.engagement_id = a.engagement_id AND b.partner_id > a.partner_id
        WHERE a.scored AND a.period = ANY(%s::date[])
        GROUP BY a.partner_id, b.partner_id, a.period, a.restricted
    ), """  # noqa: S608 (our table names and expressions; values are parameters)
    kinds = (ActivityScope.REGION, ActivityScope.SUBREGION, ActivityScope.INTERMEDIATE_REGION)
    named = "\n        UNION ".join(
        f"SELECT '{kind.value}' AS kind, {column} AS name FROM {tables['partner']} WHERE {column} <> ''"  # noqa: S608 (our names)
        for kind, column in zip(kinds, ("region", "subregion", "intermediate_region"), strict=True)
    )
    in_region = " OR ".join(
        f"(s.kind = '{kind.value}' AND s.name = n.{column})"
        for kind, column in zip(kinds, ("region", "subregion", "intermediate_region"), strict=True)
    )
    return f"""
    WITH counted AS MATERIALIZED (
        SELECT e.id AS engagement_id, e.start_date, DATE_TRUNC('quarter', e.start_date)::date AS period,
               e.engagement_type, e.sensitivity = %s AS restricted, e.status = ANY(%s) AS scored, p.partner_id
        FROM {tables["engagement"]} e
        {participations}
        WHERE e.deleted_at IS NULL AND e.status <> %s AND e.start_date >= %s AND e.start_date <= %s
    ), {paired}scopes AS MATERIALIZED (
        SELECT (ROW_NUMBER() OVER ())::int AS scope_no, kind::text AS kind, name::text AS name FROM (
        {named}
        UNION SELECT '{ActivityScope.ORGANIZATION.value}', acronym FROM {tables["organization"]}
        ) named
        UNION ALL SELECT 0, '{ActivityScope.EVERYTHING.value}', ''
    ), member AS MATERIALIZED (
        SELECT n.id AS partner_id, s.scope_no, NULL::date AS joined, NULL::date AS until
        FROM {tables["partner"]} n JOIN scopes s ON {in_region}
        UNION ALL
        SELECT m.partner_id, s.scope_no, m.joined, m.{quote("left")}
        FROM {tables["membership"]} m JOIN {tables["organization"]} o ON o.id = m.organization_id
        JOIN scopes s ON s.kind = '{ActivityScope.ORGANIZATION.value}' AND s.name = o.acronym
        WHERE m.status = ANY(%s)
    ), scoped AS (
        SELECT 0 AS scope_no, {columns} FROM counted c
        UNION ALL
        SELECT m.scope_no, {columns} FROM counted c
        JOIN member m ON m.partner_id = c.partner_id
             AND (m.joined IS NULL OR m.joined <= c.start_date) AND (m.until IS NULL OR m.until > c.start_date)
    ), by_engagement AS (
        SELECT scope_no, period, engagement_type, restricted, COUNT(*) AS n FROM (
            SELECT DISTINCT scope_no, engagement_id, period, engagement_type, restricted FROM scoped
        ) once GROUP BY scope_no, period, engagement_type, restricted
    ), by_partner AS (
        SELECT scope_no, period, COUNT(*) AS n, COUNT(*) FILTER (WHERE unrestricted) AS unrestricted FROM (
            SELECT scope_no, period, partner_id, BOOL_OR(NOT restricted) AS unrestricted
            FROM scoped WHERE partner_id IS NOT NULL GROUP BY scope_no, period, partner_id
        ) once GROUP BY scope_no, period
    )
    SELECT s.kind, s.name, b.period, TRUE, b.engagement_type, b.restricted, b.n, 0, 0
    FROM by_engagement b JOIN scopes s ON s.scope_no = b.scope_no
    UNION ALL
    SELECT s.kind, s.name, b.period, FALSE, NULL, NULL, 0, b.n, b.unrestricted
    FROM by_partner b JOIN scopes s ON s.scope_no = b.scope_no
    """  # noqa: S608 (our table names and expressions; values are parameters)


def _count_in_one_pass(quarters: list[Quarter], *, pairs: bool = False) -> dict[CountKey, QuarterCounts]:
    """``activity_count`` on PostgreSQL: one statement over the quarters' rows, every scope at once (the
    grouped queries per scope each joined every participation again: 2 to 4 s apiece on a million
    engagements, bench/README.md). With ``pairs``, the statement also inserts the quarters' partner pairs
    (their earlier rows must be gone: ``activity_store``)."""
    wanted = set(quarters)
    first, last = min(quarters), max(quarters)
    params = [
        Sensitivity.RESTRICTED,
        [str(status) for status in SCORED_STATUSES],
        Status.CANCELLED,
        first.start,
        last.end,
        *([sorted(q.start for q in wanted)] if pairs else []),
        [str(status) for status in MEMBER_STATUSES],
    ]
    counts: dict[CountKey, QuarterCounts] = {(ActivityScope.EVERYTHING, "", q): QuarterCounts() for q in quarters}
    # Sorting the scoped rows (some 240,000 for one quarter of a million engagements) spills to disk with
    # the default 4 MB of work_mem: 0.3 s more.
    with scoring_settings(work_mem="64MB"), connection.cursor() as cursor:
        cursor.execute(_one_pass_sql(indexed=last.index - first.index < INDEXED_QUARTERS, pairs=pairs), params)
        rows = cursor.fetchall()
    for kind, name, period, by_type, engagement_type, restricted, engagements, partners, unrestricted in rows:
        quarter = quarter_of(period)
        if quarter not in wanted:
            continue
        found = counts.setdefault((kind, name, quarter), QuarterCounts())
        if by_type:
            found.engagements[(engagement_type, restricted)] = engagements
        else:
            found.partners_engaged, found.partners_engaged_unrestricted = partners, unrestricted
    return counts


def activity_count_by_scope(quarters: list[Quarter]) -> dict[CountKey, QuarterCounts]:
    """``activity_count`` as grouped queries, two per scope (any database)."""
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


def changed_quarters_take(quarters: Iterable[Quarter]) -> set[Quarter]:
    """Those of ``quarters`` a write may have changed the counts of since they were last counted (their
    ``QuarterActivityChange`` rows, which the database's triggers write), deleting those rows: one
    statement. Must run inside the transaction that then recounts them, before counting: a write committed
    after this statement keeps its rows for the next run, whether or not the count sees it."""
    periods = sorted({quarter.start for quarter in quarters})
    if not periods:
        return set()
    table = connection.ops.quote_name(QuarterActivityChange._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH taken AS (DELETE FROM {table} WHERE period = ANY(%s::date[]) RETURNING period) "  # noqa: S608 (our table name)
            "SELECT DISTINCT period FROM taken",
            [periods],
        )
        return {Quarter.of(period) for (period,) in cursor.fetchall()}


def quarters_to_count(quarters: Iterable[Quarter]) -> list[Quarter]:
    """Those of ``quarters`` whose snapshots a run must (re)count: never counted, or changed since (see
    ``changed_quarters_take``, whose marks this takes). On PostgreSQL only, where triggers mark the changed
    quarters; elsewhere every one of them."""
    quarters = sorted(set(quarters))
    if connection.vendor != "postgresql" or not quarters:
        return quarters
    changed = changed_quarters_take(quarters)
    counted = counted_quarters(quarters)
    return [quarter for quarter in quarters if quarter in changed or quarter not in counted]


def activity_store(*, run: AssessmentRun | None, quarters: Iterable[Quarter]) -> None:
    """Count those of ``quarters`` that need it (``quarters_to_count``: new, or changed by a write since
    their last count) from today's data (``activity_count``) and replace their snapshots, every scope, and
    their partner pairs (the cooperation network's snapshot, ``services/pairs.py``): a quarter with activity
    rows has its pairs counted too. The others keep the snapshots of the run that last counted them, which
    are today's counts. Must run inside the caller's transaction.

    On PostgreSQL, for up to ``INDEXED_QUARTERS`` quarters (a run of one or two quarters), the statement that
    counts the activity also writes the pairs (``_one_pass_sql``); otherwise the pairs are counted apart
    (``pairs_store``), as the hashed plan of a backfill reads them best on its own."""
    quarters = quarters_to_count(quarters)
    if not quarters:
        return
    periods = [quarter.start for quarter in quarters]
    together = connection.vendor == "postgresql" and quarters[-1].index - quarters[0].index < INDEXED_QUARTERS
    if together:
        snapshot_delete(PairQuarter.objects.filter(period__in=periods))
        counts = _count_in_one_pass(quarters, pairs=True)
    else:
        pairs_store(quarters=quarters)
        counts = activity_count(quarters)
    snapshot_delete(QuarterActivityCount.objects.filter(period__in=periods))
    snapshot_delete(QuarterActivity.objects.filter(period__in=periods))
    activity, by_type = activity_rows(counts, run_id_of=lambda _quarter: run.pk if run else None, now=timezone.now())
    QuarterActivity.objects.bulk_create(activity, batch_size=1000)
    QuarterActivityCount.objects.bulk_create(by_type, batch_size=1000)
