"""Counting the engagements and partners of each quarter for the overview, as snapshots written by runs.

The overview shows ten years of engagements per quarter by type and the partners engaged in a quarter.
Counted live, that is a grouped aggregate over every engagement (about 300 ms on a million of them) on
every visit, and seconds for one region or organization; as a snapshot it is a read of a few hundred rows. A run
brings every quarter it scores up to date in the same transaction as the scores, so the counts are as fresh
as the scores beside them and a failed run leaves the earlier counts in place: it counts from scratch a
quarter with no snapshot yet or marked by the database (``QuarterActivityChange``: a change of who is in a
scope, a statement of many engagements), and adds to the others the deltas the database wrote for each
engagement a write changed (``QuarterActivityDelta``, ``activity_deltas_apply``). The definitions are the dashboard's: engagements counted in the
quarter they start, cancelled and deleted ones left out; restricted ones counted apart so that a viewer's
figures can leave them out.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
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
    QuarterActivityDelta,
)
from assessments.periods import Quarter
from assessments.services.pairs import pairs_store, snapshot_delete
from assessments.sql import scoring_settings
from engagements.choices import SCORED_STATUSES, Sensitivity, Status
from engagements.models import Engagement, Participation
from organizations.choices import MEMBER_STATUSES
from organizations.models import Membership, Organization
from partners.models import PartnerNation

logger = logging.getLogger(__name__)


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


# Up to this many quarters (a run of one or two), the activity and the partner pairs are counted together, beside
# the run's scores when they can be (``activity_count_start``), and the pairs written as a diff; a backfill's
# blocks count and replace the pairs apart (``pairs_store``), as the hashed plan reads them best on its own.
INDEXED_QUARTERS = 4


# Scope n (from 1) is bit n % 63 of word n / 63 of a partner's span (``_scope_masks_sql``): a word is a bigint,
# which PostgreSQL ORs and hashes at once; a partner's scopes take one word below 63 scopes, whatever their
# number above. A row ``b`` with ``word`` and ``bits`` is in scope ``s`` when:
IN_SCOPE = "s.scope_no > 0 AND s.scope_no / 63 = b.word AND (b.bits >> (s.scope_no %% 63)) & 1 = 1"


def _scope_masks_sql() -> str:
    """The common table expressions that put partners in scopes, the one home of that rule on PostgreSQL
    (``_one_pass_sql`` counts with them, ``_deltas_sql`` finds the scopes of the partners its deltas touch):
    ``scopes`` numbers them (0 for everyone, then every region, subregion, intermediate region and
    organization); ``member`` lists each partner's with the days it is in them (regions always, an
    organization from joining to leaving, in a member status: one parameter, ``MEMBER_STATUSES``);
    ``masks`` cuts each partner's history at those days and gives each span the set of its scopes as bits
    (``IN_SCOPE``). A partner is in the scopes of the span with ``since <= day < until``."""
    tables = {
        "partner": PartnerNation._meta.db_table,
        "membership": Membership._meta.db_table,
        "organization": Organization._meta.db_table,
    }
    quote = connection.ops.quote_name
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
    scopes AS MATERIALIZED (
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
    ), edges AS (
        SELECT partner_id, joined AS day FROM member WHERE joined IS NOT NULL
        UNION SELECT partner_id, until FROM member WHERE until IS NOT NULL
        UNION SELECT partner_id, '-infinity'::date FROM member
    ), spans AS (
        SELECT partner_id, day AS since,
               LEAD(day, 1, 'infinity'::date) OVER (PARTITION BY partner_id ORDER BY day) AS until
        FROM edges
    ), masks AS MATERIALIZED (
        SELECT sp.partner_id, sp.since, sp.until, m.scope_no / 63 AS word,
               BIT_OR(1::bigint << (m.scope_no %% 63)) AS bits
        FROM spans sp JOIN member m ON m.partner_id = sp.partner_id
             AND (m.joined IS NULL OR m.joined <= sp.since) AND (m.until IS NULL OR m.until > sp.since)
        GROUP BY sp.partner_id, sp.since, sp.until, m.scope_no / 63
    )"""  # noqa: S608 (our table names and expressions; values are parameters)


def _one_pass_sql() -> str:
    """The single statement behind ``_count_in_one_pass``, with the tables' names filled in.

    ``counted`` (materialised once) holds each counted engagement starting in the range with each of its
    partners, unnested from its row (``Engagement.partner_ids``, which ``engagement_start`` includes: the
    quarter's engagements are read from that index alone, with no participation probed), and one row with no
    partner for an engagement without any.

    The scopes are numbered (``scopes``: 0 for everyone, then every region, subregion, intermediate region and
    organization, a few dozen rows) and each partner's are listed with the days it is in them (``member``:
    regions always, organizations from joining to leaving). A partner's scopes change only on the days it
    joins or leaves an organization, so its history is cut at those days (``spans``) and each span gets the
    set of its scopes as bits (``masks``: scope n is bit n % 63 of the bigint word n / 63, one word below 63
    scopes). Each counted row takes the bits of its partner's span on the engagement's start date
    (``marked``), an engagement the OR of its partners' bits, and the engagements are counted by (type,
    restricted, bits) before the bits are spread over the scopes they name: a few thousand groups, where
    repeating each row once per scope of its partner made 240,000 rows to hash for one quarter of a million
    engagements (0.53 s for the statement; bench/README.md, "Sixth pass"). The partners engaged per scope are
    counted the same way, from each (partner, bits) once. Everyone (scope 0) is counted from the rows
    themselves: each engagement once (its first partner's row, or its row without partners), each partner
    once.
    """
    engagement = Engagement._meta.db_table
    in_scope = IN_SCOPE
    return f"""
    WITH counted AS MATERIALIZED (
        SELECT e.id AS engagement_id, e.start_date, DATE_TRUNC('quarter', e.start_date)::date AS period,
               e.engagement_type, e.sensitivity = %s AS restricted, e.status = ANY(%s) AS scored, p.partner_id,
               p.n IS NULL OR p.n = 1 AS lead
        FROM {engagement} e LEFT JOIN LATERAL UNNEST(e.partner_ids) WITH ORDINALITY AS p(partner_id, n) ON TRUE
        WHERE e.deleted_at IS NULL AND e.status <> %s AND e.start_date >= %s AND e.start_date <= %s
    ), {_scope_masks_sql()}, marked AS MATERIALIZED (
        SELECT c.engagement_id, c.period, c.engagement_type, c.restricted, c.partner_id, k.word, k.bits
        FROM counted c
        JOIN masks k ON k.partner_id = c.partner_id AND k.since <= c.start_date AND c.start_date < k.until
    ), by_engagement AS (
        SELECT period, engagement_type, restricted, word, bits, COUNT(*) AS n FROM (
            SELECT period, engagement_type, restricted, word, BIT_OR(bits) AS bits FROM marked
            GROUP BY engagement_id, period, engagement_type, restricted, word
        ) once GROUP BY period, engagement_type, restricted, word, bits
    ), by_partner AS (
        SELECT s.scope_no, b.period, b.partner_id, BOOL_OR(b.unrestricted) AS unrestricted FROM (
            SELECT period, partner_id, word, bits, BOOL_OR(NOT restricted) AS unrestricted FROM marked
            GROUP BY period, partner_id, word, bits
        ) b JOIN scopes s ON {in_scope}
        GROUP BY s.scope_no, b.period, b.partner_id
    )
    SELECT s.kind, s.name, b.period, TRUE, b.engagement_type, b.restricted, SUM(b.n)::bigint, 0, 0
    FROM by_engagement b JOIN scopes s ON {in_scope}
    GROUP BY s.kind, s.name, b.period, b.engagement_type, b.restricted
    UNION ALL
    SELECT '{ActivityScope.EVERYTHING.value}', '', period, TRUE, engagement_type, restricted, COUNT(*), 0, 0
    FROM counted WHERE lead GROUP BY period, engagement_type, restricted
    UNION ALL
    SELECT s.kind, s.name, b.period, FALSE, NULL, NULL, 0, COUNT(*), COUNT(*) FILTER (WHERE b.unrestricted)
    FROM by_partner b JOIN scopes s ON s.scope_no = b.scope_no
    GROUP BY s.kind, s.name, b.period
    UNION ALL
    SELECT '{ActivityScope.EVERYTHING.value}', '', period, FALSE, NULL, NULL, 0, COUNT(*),
           COUNT(*) FILTER (WHERE unrestricted)
    FROM (
        SELECT period, partner_id, BOOL_OR(NOT restricted) AS unrestricted FROM counted
        WHERE partner_id IS NOT NULL GROUP BY period, partner_id
    ) once GROUP BY period
    """  # noqa: S608 (our table names and expressions; values are parameters)


def _count_in_one_pass(quarters: list[Quarter]) -> dict[CountKey, QuarterCounts]:
    """``activity_count`` on PostgreSQL: one statement over the quarters' rows, every scope at once (the
    grouped queries per scope each joined every participation again: 2 to 4 s apiece on a million
    engagements, bench/README.md)."""
    wanted = set(quarters)
    first, last = min(quarters), max(quarters)
    params = [
        Sensitivity.RESTRICTED,
        [str(status) for status in SCORED_STATUSES],
        Status.CANCELLED,
        first.start,
        last.end,
        [str(status) for status in MEMBER_STATUSES],
    ]
    counts: dict[CountKey, QuarterCounts] = {(ActivityScope.EVERYTHING, "", q): QuarterCounts() for q in quarters}
    # Hashing a backfill block's engagements (hundreds of thousands) spills to disk with the default 4 MB of
    # work_mem.
    with scoring_settings(work_mem="64MB"), connection.cursor() as cursor:
        cursor.execute(_one_pass_sql(), params)
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


def _pairs_differ_sql() -> str:
    """What differs between the pair snapshot of some quarters and their partner pairs today, as rows
    (id of the stored row or null, partner, other, period, restricted, engagements or null): a pair gone
    (no partner), one whose count moved (both), a new one (no id). Today's pairs are those of the counted
    engagements (completed or in progress, live) starting in the quarters, as ``pair_rows`` counts them:
    each engagement's partners paired with each other from its row (``partner_ids``, read from
    ``engagement_start``), per quarter and restriction."""
    quote = connection.ops.quote_name
    engagement = quote(Engagement._meta.db_table)
    table = quote(PairQuarter._meta.db_table)
    key = " AND ".join(f"f.{column} = k.{column}" for column in ("partner_id", "other_id", "period", "restricted"))
    return f"""
    WITH fresh AS (
        SELECT a.partner_id, b.partner_id AS other_id, DATE_TRUNC('quarter', e.start_date)::date AS period,
               e.sensitivity = %s AS restricted, COUNT(*) AS engagements
        FROM {engagement} e
        CROSS JOIN LATERAL UNNEST(e.partner_ids) AS a(partner_id)
        CROSS JOIN LATERAL UNNEST(e.partner_ids) AS b(partner_id)
        WHERE b.partner_id > a.partner_id AND e.deleted_at IS NULL AND e.status = ANY(%s)
              AND e.start_date >= %s AND e.start_date <= %s
        GROUP BY 1, 2, 3, 4
    ), kept AS (
        SELECT id, partner_id, other_id, period, restricted, engagements FROM {table} WHERE period = ANY(%s::date[])
    )
    SELECT k.id, f.partner_id, f.other_id, f.period, f.restricted, f.engagements
    FROM (SELECT * FROM fresh WHERE period = ANY(%s::date[])) f FULL JOIN kept k ON {key}
    WHERE k.id IS NULL OR f.partner_id IS NULL OR k.engagements <> f.engagements
    """  # noqa: S608 (our table names; values are parameters)


PairDiffer = tuple  # (stored id or None, partner, other, period, restricted, engagements or None)


# Two PostgreSQL snapshots (``pg_snapshot`` as text): one taken before a count's first statement and one after
# its last. A delta whose transaction the first shows committed was seen by every statement of the count; one
# the second does not show, by none (``deltas_settle``).
Seen = tuple[str, str]


def _snapshot() -> str:
    """The snapshot a statement of this connection starts with now (read committed: each its own); "" on
    other databases, which keep no deltas."""
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text")
        return cursor.fetchone()[0]


def _count_with_pairs(
    quarters: list[Quarter],
) -> tuple[dict[CountKey, QuarterCounts], list[PairDiffer], Seen]:
    """The quarters' activity counts from today's data, and how their pair snapshot differs from today's
    pairs (``_pairs_differ_sql``): reading only, two statements, between two snapshots (``Seen``). The pair
    snapshot of a quarter is written by runs of that quarter alone, which never run at once (the scoring and
    quarter locks), so the rows it compares with are still there when the run writes the difference
    (``_pairs_write``)."""
    before = _snapshot()
    counts = _count_in_one_pass(quarters)
    first, last = min(quarters), max(quarters)
    periods = sorted(quarter.start for quarter in quarters)  # not those between them (a run of Q2 and Q4)
    params = [Sensitivity.RESTRICTED, [str(status) for status in SCORED_STATUSES], first.start, last.end]
    with scoring_settings(work_mem="64MB"), connection.cursor() as cursor:
        cursor.execute(_pairs_differ_sql(), [*params, periods, periods])
        differ = cursor.fetchall()
    return counts, differ, (before, _snapshot())


def deltas_settle(quarters: Iterable[Quarter], seen: Seen) -> None:
    """After counting ``quarters`` from scratch between the snapshots ``seen``, in the run's transaction:
    delete their deltas (``QuarterActivityDelta``) that the count saw, and keep those it did not see for the
    next run to add. A delta written while the count ran (committed after the first snapshot, before the
    second) may have been seen by one of its statements and not the other: it is deleted too, and its quarter
    marked to be counted again from scratch by the next run. Deltas of this transaction (a test's, or a run
    inside another transaction) were seen: the counts ran in it."""
    periods = sorted({quarter.start for quarter in quarters})
    if not periods or connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    delta, change = quote(QuarterActivityDelta._meta.db_table), quote(QuarterActivityChange._meta.db_table)
    mine = "COALESCE(xid = pg_current_xact_id_if_assigned(), FALSE)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {delta} WHERE period = ANY(%s::date[]) "  # noqa: S608 (our table names)
            f"AND (pg_visible_in_snapshot(xid, %s::pg_snapshot) OR {mine}) "
            f"RETURNING period, pg_visible_in_snapshot(xid, %s::pg_snapshot) OR {mine} AS sure) "
            f"INSERT INTO {change} (period) SELECT DISTINCT period FROM gone WHERE NOT sure",
            [periods, seen[1], seen[0]],
        )


def _pairs_write(differ: list[PairDiffer]) -> None:
    """Write what differs in a pair snapshot (``_count_with_pairs``): delete the pairs gone and update the
    counts that moved, by primary key, and insert the new pairs. After a write in a quarter of a million
    engagements that is a few rows, where deleting and inserting its 4,300 pairs (and checking their two
    foreign keys at the commit) took a third of the count (bench/README.md, "Sixth pass")."""
    gone = [row[0] for row in differ if row[1] is None]
    moved = [(row[0], row[5]) for row in differ if row[0] is not None and row[1] is not None]
    added = [row for row in differ if row[0] is None]
    if gone:
        snapshot_delete(PairQuarter.objects.filter(pk__in=gone))
    if moved:
        table = connection.ops.quote_name(PairQuarter._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} t SET engagements = v.engagements "  # noqa: S608 (our table name)
                "FROM UNNEST(%s::bigint[], %s::integer[]) AS v(id, engagements) WHERE t.id = v.id",
                [[pk for pk, _n in moved], [n for _pk, n in moved]],
            )
    if added:
        PairQuarter.objects.bulk_create(
            [
                PairQuarter(partner_id=partner, other_id=other, period=period, restricted=restricted, engagements=n)
                for _pk, partner, other, period, restricted, n in added
            ],
            batch_size=2000,
        )


class ActivityCounting:
    """A run's activity counts and partner pairs for some quarters, being counted from scratch: in a thread on
    a database connection of its own while the run computes its scores on the run's connection (``start``),
    or at once (``at_once``); and the quarters whose snapshots take their deltas instead (``deltas``).
    ``result()`` waits for the counts; ``join()`` only waits (a run that failed meanwhile)."""

    def __init__(self, quarters: list[Quarter], *, together: bool = False, deltas: Iterable[Quarter] = ()):
        self.quarters = quarters
        self.deltas = sorted(deltas)
        # Counted here with the pairs' difference (``_count_with_pairs``); otherwise ``activity_store`` counts.
        self.together = together
        self._result: tuple[dict[CountKey, QuarterCounts], list[PairDiffer], Seen] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def at_once(cls, quarters: list[Quarter], *, deltas: Iterable[Quarter] = ()) -> ActivityCounting:
        counting = cls(quarters, together=True, deltas=deltas)
        counting._result = _count_with_pairs(quarters)
        return counting

    @classmethod
    def start(cls, quarters: list[Quarter], *, deltas: Iterable[Quarter] = ()) -> ActivityCounting:
        counting = cls(quarters, together=True, deltas=deltas)
        counting._thread = threading.Thread(target=counting._count, name="activity-count", daemon=True)
        counting._thread.start()
        return counting

    def _count(self) -> None:
        try:
            self._result = _count_with_pairs(self.quarters)
        except BaseException as exc:  # handed to the run by result()
            self._error = exc
        finally:
            connection.close()  # this thread's own connection

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def result(self) -> tuple[dict[CountKey, QuarterCounts], list[PairDiffer], Seen]:
        self.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def activity_count_start(quarters: Iterable[Quarter], *, beside: bool = True) -> ActivityCounting | None:
    """Take the marks of the quarters a run must count from scratch (``quarters_to_count``, in the run's
    transaction, which must be open) and start counting their activity and pairs: for a run of up to
    ``INDEXED_QUARTERS`` quarters on PostgreSQL, in a thread on a connection of its own, so that the count (one
    process) runs while the run's partner sums take the other cores, instead of after them with a core idle;
    when the run's transaction is inside another (a test's, whose rows another connection cannot see), or
    with ``beside=False`` (nothing to do meanwhile), at once. For more quarters than that, ``activity_store``
    counts them. The run's other quarters, counted before and not marked, take their deltas
    (``activity_deltas_apply``). None when there is nothing to count.

    The thread's statements start after the marks were taken, so they see every write whose mark this run
    took; a write committed since keeps its mark for the next run, whether or not they saw it."""
    quarters = sorted(set(quarters))
    full = quarters_to_count(quarters)
    deltas = sorted(set(quarters) - set(full)) if connection.vendor == "postgresql" else []
    if not full:
        return ActivityCounting([], deltas=deltas) if deltas else None
    if connection.vendor != "postgresql" or full[-1].index - full[0].index >= INDEXED_QUARTERS:
        return ActivityCounting(full, deltas=deltas)
    if not beside or connection.savepoint_ids or not connection.in_atomic_block:
        return ActivityCounting.at_once(full, deltas=deltas)
    return ActivityCounting.start(full, deltas=deltas)


def activity_store(
    *, run: AssessmentRun | None, quarters: Iterable[Quarter] = (), counting: ActivityCounting | None = None
) -> None:
    """Count those of ``quarters`` that need it (``quarters_to_count``: new, or marked by a write that changed
    what puts partners in scopes, or by a statement of many engagements) from today's data, or take what
    ``counting`` (``activity_count_start``) counted, and replace their snapshots, every scope, and their
    partner pairs (the cooperation network's snapshot, ``services/pairs.py``): a quarter with activity rows
    has its pairs counted too. The others add the deltas written since their last count
    (``activity_deltas_apply``), which makes them today's counts. Must run inside the caller's transaction
    (the one that took the marks).

    For up to ``INDEXED_QUARTERS`` quarters on PostgreSQL (a run of one or two quarters), only the pairs that
    differ are written (``_pairs_write``); otherwise they are counted apart and replaced (``pairs_store``), as
    the hashed plan of a backfill reads them best on its own."""
    if counting is None:
        counting = activity_count_start(quarters, beside=False)
        if counting is None:
            return
    now = timezone.now()
    if counting.quarters:
        _counted_store(counting, run=run, now=now)
    if counting.deltas:
        activity_deltas_apply(counting.deltas, run=run, now=now)


def _counted_store(counting: ActivityCounting, *, run: AssessmentRun | None, now) -> None:
    """Replace the snapshots of the quarters ``counting`` counted from scratch, and settle their deltas."""
    quarters = counting.quarters
    periods = [quarter.start for quarter in quarters]
    if counting.together:
        counts, differ, seen = counting.result()
        _pairs_write(differ)
    else:
        before = _snapshot()
        pairs_store(quarters=quarters)
        counts = activity_count(quarters)
        seen = (before, _snapshot())
    deltas_settle(quarters, seen)
    snapshot_delete(QuarterActivityCount.objects.filter(period__in=periods))
    snapshot_delete(QuarterActivity.objects.filter(period__in=periods))
    activity, by_type = activity_rows(counts, run_id_of=lambda _quarter: run.pk if run else None, now=now)
    QuarterActivity.objects.bulk_create(activity, batch_size=1000)
    QuarterActivityCount.objects.bulk_create(by_type, batch_size=1000)


# --- Deltas --------------------------------------------------------------------------------------------------

EVERYONE = (ActivityScope.EVERYTHING.value, "")
Scope = tuple[str, str]


@dataclass(frozen=True)
class Delta:
    """An engagement's part in a quarter's counts before (-1) or after (+1) a write (``QuarterActivityDelta``)."""

    sign: int
    engagement_type: str
    restricted: bool
    scored: bool
    start_date: datetime.date
    partner_ids: tuple[int, ...]


class PartnerScopes:
    """The scopes each partner a quarter's deltas touch is in on each day they ask about (everyone included),
    as ``_deltas_sql`` reads them from ``_scope_masks_sql``."""

    def __init__(self) -> None:
        self._scopes: dict[tuple[int, datetime.date], set[Scope]] = defaultdict(set)

    def add(self, partner_id: int, day: datetime.date, scope: Scope) -> None:
        self._scopes[(partner_id, day)].add(scope)

    def on(self, partner_id: int, day: datetime.date) -> set[Scope]:
        return {EVERYONE, *self._scopes.get((partner_id, day), ())}


class DeltasDisagree(Exception):
    """Adding a quarter's deltas would leave a count below zero: its snapshot and deltas disagree."""


def _deltas_sql() -> str:
    """Take the deltas of some quarters (delete them, returning them: rows 0) and, in the same statement (one
    snapshot, so that what it reads is what the deltas lead to), count the engagements of each partner the
    deltas touch in their quarter today, by start date and restriction, from ``engagement_start`` alone
    (rows 1; with no delta, not read at all), and name the scopes each of those partners is in on each of those start dates and on the
    deltas' (rows 2, from ``_scope_masks_sql``)."""
    quote = connection.ops.quote_name
    delta, engagement = quote(QuarterActivityDelta._meta.db_table), quote(Engagement._meta.db_table)
    in_scope = IN_SCOPE
    return f"""
    WITH taken AS (
        DELETE FROM {delta} WHERE period = ANY(%s::date[])
        RETURNING period, sign, engagement_type, restricted, scored, start_date, partner_ids
    ), touched AS (
        SELECT DISTINCT t.period, p.partner_id FROM taken t CROSS JOIN LATERAL UNNEST(t.partner_ids) AS p(partner_id)
    ), engaged AS (
        SELECT period, restricted, start_date, partner_id, COUNT(*) AS n FROM (
            SELECT t.period, e.sensitivity = %s AS restricted, e.start_date, p.partner_id
            FROM {engagement} e CROSS JOIN LATERAL UNNEST(e.partner_ids) AS p(partner_id)
            JOIN touched t ON t.partner_id = p.partner_id AND t.period = DATE_TRUNC('quarter', e.start_date)::date
            WHERE e.deleted_at IS NULL AND e.status <> %s AND e.start_date >= %s AND e.start_date <= %s
                  AND EXISTS (SELECT 1 FROM touched) AND e.partner_ids && (SELECT ARRAY_AGG(partner_id) FROM touched)
        ) found GROUP BY period, restricted, start_date, partner_id
    ), {_scope_masks_sql()}, days AS (
        SELECT p.partner_id, t.start_date FROM taken t CROSS JOIN LATERAL UNNEST(t.partner_ids) AS p(partner_id)
        UNION SELECT partner_id, start_date FROM engaged
    )
    SELECT 0, period, sign, engagement_type, restricted, scored, start_date, partner_ids, 0, NULL, NULL FROM taken
    UNION ALL
    SELECT 1, period, 0, NULL, restricted, NULL, start_date, ARRAY[partner_id], n, NULL, NULL FROM engaged
    UNION ALL
    SELECT 2, NULL, 0, NULL, NULL, NULL, d.start_date, ARRAY[d.partner_id], 0, s.kind, s.name
    FROM days d JOIN masks b ON b.partner_id = d.partner_id AND b.since <= d.start_date AND d.start_date < b.until
    JOIN scopes s ON {in_scope}
    """  # noqa: S608 (our table names; values are parameters)


def activity_deltas_apply(quarters: Iterable[Quarter], *, run: AssessmentRun | None, now=None) -> None:
    """Add the deltas written since the last count of ``quarters`` (each counted before, and not marked) to
    their activity snapshots and partner pairs, in the caller's transaction: after a planner's save, a few
    rows, where counting the quarter again read all of its engagements (bench/README.md).

    The engagement counts and the pairs add up: each delta adds or takes one engagement from each scope it is
    in and from each pair of its partners. The partners engaged do not: for each partner a delta touches, its
    engagements in the quarter are counted today, per scope, and the deltas taken away give the counts
    before; the scope gains a partner engaged where it had none before and has some now, and loses one the
    other way. A quarter whose deltas would leave a count below zero (a snapshot written by something else
    than a run) is counted again from scratch instead."""
    quarters = sorted(set(quarters))
    if not quarters or connection.vendor != "postgresql":
        return
    now = now or timezone.now()
    params = [
        [q.start for q in quarters],
        Sensitivity.RESTRICTED,
        Status.CANCELLED,
        quarters[0].start,
        quarters[-1].end,
        [str(status) for status in MEMBER_STATUSES],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_deltas_sql(), params)
        rows = cursor.fetchall()
    deltas: dict[Quarter, list[Delta]] = defaultdict(list)
    engaged: dict[Quarter, list[tuple[int, datetime.date, bool, int]]] = defaultdict(list)
    scopes = PartnerScopes()
    for part, period, sign, engagement_type, restricted, scored, start_date, partner_ids, n, kind, name in rows:
        if part == 0:
            deltas[quarter_of(period)].append(
                Delta(sign, engagement_type, restricted, scored, start_date, tuple(sorted(set(partner_ids))))
            )
        elif part == 1:
            engaged[quarter_of(period)].append((partner_ids[0], start_date, restricted, n))
        else:
            scopes.add(partner_ids[0], start_date, (kind, name))
    if not deltas:
        return
    for quarter, found in sorted(deltas.items()):
        try:
            with transaction.atomic():
                _deltas_add(quarter, found, engaged[quarter], scopes, run=run, now=now)
        except DeltasDisagree:
            logger.warning("The activity snapshot of %s disagrees with its deltas; counting it again.", quarter)
            _counted_store(ActivityCounting.at_once([quarter]), run=run, now=now)


def _deltas_add(
    quarter: Quarter,
    deltas: list[Delta],
    engaged: list[tuple[int, datetime.date, bool, int]],
    scopes: PartnerScopes,
    *,
    run: AssessmentRun | None,
    now,
) -> None:
    # Engagements per (scope, type, restricted), and pairs: added up.
    engagements: Counter = Counter()
    pairs: Counter = Counter()
    for delta in deltas:
        touched = {EVERYONE}.union(*(scopes.on(pid, delta.start_date) for pid in delta.partner_ids))
        for scope in touched:
            engagements[(*scope, delta.engagement_type, delta.restricted)] += delta.sign
        if delta.scored:
            for partner, other in itertools.combinations(delta.partner_ids, 2):
                pairs[(partner, other, delta.restricted)] += delta.sign
    # Partners engaged per scope: each touched partner's engagements per scope today, and before.
    today = _engaged_per_scope(engaged, scopes)
    added = _engaged_per_scope(
        ((pid, delta.start_date, delta.restricted, delta.sign) for delta in deltas for pid in delta.partner_ids),
        scopes,
    )
    partners: Counter = Counter()  # (scope, unrestricted only) -> partners engaged gained
    for key in set(today) | set(added):
        before = today[key] - added[key]
        if before < 0:
            raise DeltasDisagree(quarter)
        _partner_id, scope, unrestricted = key
        partners[(scope, unrestricted)] += (today[key] > 0) - (before > 0)
    by_scope: dict[Scope, list[int]] = defaultdict(lambda: [0, 0])
    for (scope, unrestricted), n in partners.items():
        by_scope[scope][int(unrestricted)] += n

    period = quarter.start
    run_id = run.pk if run else None
    _add_to(
        QuarterActivityCount.objects.filter(period=period),
        key_of=lambda row: (row.scope_kind, row.scope_name, row.engagement_type, row.restricted),
        values=("engagements",),
        changes={key: (n,) for key, n in engagements.items() if n},
        new=lambda key, totals: QuarterActivityCount(
            scope_kind=key[0],
            scope_name=key[1],
            period=period,
            engagement_type=key[2],
            restricted=key[3],
            engagements=totals[0],
        ),
    )
    _add_to(
        QuarterActivity.objects.filter(period=period),
        key_of=lambda row: (row.scope_kind, row.scope_name),
        values=("partners_engaged", "partners_engaged_unrestricted"),
        changes={scope: tuple(amounts) for scope, amounts in by_scope.items() if any(amounts)},
        new=lambda scope, totals: QuarterActivity(
            scope_kind=scope[0],
            scope_name=scope[1],
            period=period,
            partners_engaged=totals[0],
            partners_engaged_unrestricted=totals[1],
            run_id=run_id,
            computed_at=now,
        ),
        kept=lambda scope: scope == EVERYONE,  # a counted quarter always has everyone's row
    )
    QuarterActivity.objects.filter(period=period).update(run_id=run_id, computed_at=now)
    _add_to(
        PairQuarter.objects.filter(
            period=period,
            partner_id__in={partner for partner, _other, _restricted in pairs},
            other_id__in={other for _partner, other, _restricted in pairs},
        ),
        key_of=lambda row: (row.partner_id, row.other_id, row.restricted),
        values=("engagements",),
        changes={key: (n,) for key, n in pairs.items() if n},
        new=lambda key, totals: PairQuarter(
            partner_id=key[0], other_id=key[1], period=period, restricted=key[2], engagements=totals[0]
        ),
    )


def _engaged_per_scope(entries: Iterable[tuple[int, datetime.date, bool, int]], scopes: PartnerScopes) -> Counter:
    """Engagements per (partner, scope, unrestricted only) from (partner, start date, restricted, engagements)
    entries: a partner's engagements count in every scope it is in on their start date."""
    counts: Counter = Counter()
    for partner_id, day, restricted, n in entries:
        for scope in scopes.on(partner_id, day):
            counts[(partner_id, scope, False)] += n
            if not restricted:
                counts[(partner_id, scope, True)] += n
    return counts


def _add_to(queryset, *, key_of, values: tuple[str, ...], changes: dict, new, kept=lambda key: False) -> None:
    """Add ``changes`` (key -> amounts, one per field of ``values``) to the rows of ``queryset`` with those keys
    (``key_of(row)``): update them, delete those whose first value falls to zero (unless ``kept(key)``), and
    create those missing (``new(key, totals)``). A total below zero means the snapshot disagrees."""
    if not changes:
        return
    rows = {key_of(row): row for row in queryset}
    created, updated, gone = [], [], []
    for key, amounts in changes.items():
        row = rows.get(key)
        totals = tuple(
            (getattr(row, value) if row is not None else 0) + amount
            for value, amount in zip(values, amounts, strict=True)
        )
        if min(totals) < 0:
            raise DeltasDisagree(key)
        if row is None:
            created.append(new(key, totals))
        elif totals[0] == 0 and not kept(key):
            gone.append(row.pk)
        else:
            for value, total in zip(values, totals, strict=True):
                setattr(row, value, total)
            updated.append(row)
    snapshot_delete(queryset.model.objects.filter(pk__in=gone))
    queryset.model.objects.bulk_update(updated, list(values))
    queryset.model.objects.bulk_create(created)
