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
import threading
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


# Up to this many quarters (a run of one or two), the activity and the partner pairs are counted together, beside
# the run's scores when they can be (``activity_count_start``), and the pairs written as a diff; a backfill's
# blocks count and replace the pairs apart (``pairs_store``), as the hashed plan reads them best on its own.
INDEXED_QUARTERS = 4


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
    tables = {
        "engagement": Engagement._meta.db_table,
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
    # Scope n (from 1) is bit n % 63 of word n / 63: a word is a bigint, which PostgreSQL ORs and hashes at
    # once; a partner's scopes take one word below 63 scopes, whatever their number above.
    in_scope = "s.scope_no > 0 AND s.scope_no / 63 = b.word AND (b.bits >> (s.scope_no %% 63)) & 1 = 1"
    return f"""
    WITH counted AS MATERIALIZED (
        SELECT e.id AS engagement_id, e.start_date, DATE_TRUNC('quarter', e.start_date)::date AS period,
               e.engagement_type, e.sensitivity = %s AS restricted, e.status = ANY(%s) AS scored, p.partner_id,
               p.n IS NULL OR p.n = 1 AS lead
        FROM {tables["engagement"]} e LEFT JOIN LATERAL UNNEST(e.partner_ids) WITH ORDINALITY AS p(partner_id, n) ON TRUE
        WHERE e.deleted_at IS NULL AND e.status <> %s AND e.start_date >= %s AND e.start_date <= %s
    ), scopes AS MATERIALIZED (
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
    ), marked AS MATERIALIZED (
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


def _count_with_pairs(quarters: list[Quarter]) -> tuple[dict[CountKey, QuarterCounts], list[PairDiffer]]:
    """The quarters' activity counts from today's data, and how their pair snapshot differs from today's
    pairs (``_pairs_differ_sql``): reading only, two statements. The pair snapshot of a quarter is written by
    runs of that quarter alone, which never run at once (the scoring and quarter locks), so the rows it
    compares with are still there when the run writes the difference (``_pairs_write``)."""
    counts = _count_in_one_pass(quarters)
    first, last = min(quarters), max(quarters)
    periods = sorted(quarter.start for quarter in quarters)  # not those between them (a run of Q2 and Q4)
    params = [Sensitivity.RESTRICTED, [str(status) for status in SCORED_STATUSES], first.start, last.end]
    with scoring_settings(work_mem="64MB"), connection.cursor() as cursor:
        cursor.execute(_pairs_differ_sql(), [*params, periods, periods])
        differ = cursor.fetchall()
    return counts, differ


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
    """A run's activity counts and partner pairs for some quarters, being counted: in a thread on a database
    connection of its own while the run computes its scores on the run's connection (``start``), or at once
    (``at_once``). ``result()`` waits for them; ``join()`` only waits (a run that failed meanwhile)."""

    def __init__(self, quarters: list[Quarter], *, together: bool = False):
        self.quarters = quarters
        # Counted here with the pairs' difference (``_count_with_pairs``); otherwise ``activity_store`` counts.
        self.together = together
        self._result: tuple[dict[CountKey, QuarterCounts], list[PairDiffer]] | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def at_once(cls, quarters: list[Quarter]) -> ActivityCounting:
        counting = cls(quarters, together=True)
        counting._result = _count_with_pairs(quarters)
        return counting

    @classmethod
    def start(cls, quarters: list[Quarter]) -> ActivityCounting:
        counting = cls(quarters, together=True)
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

    def result(self) -> tuple[dict[CountKey, QuarterCounts], list[PairDiffer]]:
        self.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def activity_count_start(quarters: Iterable[Quarter], *, beside: bool = True) -> ActivityCounting | None:
    """Take the marks of the quarters a run must count (``quarters_to_count``, in the run's transaction,
    which must be open) and start counting their activity and pairs: for a run of up to ``INDEXED_QUARTERS``
    quarters on PostgreSQL, in a thread on a connection of its own, so that the count (one process) runs
    while the run's partner sums take the other cores, instead of after them with a core idle; when the
    run's transaction is inside another (a test's, whose rows another connection cannot see), or with
    ``beside=False`` (nothing to do meanwhile), at once. None when there is nothing to count; for more
    quarters than that, ``activity_store`` counts them.

    The thread's statements start after the marks were taken, so they see every write whose mark this run
    took; a write committed since keeps its mark for the next run, whether or not they saw it."""
    quarters = quarters_to_count(quarters)
    if not quarters or connection.vendor != "postgresql":
        return ActivityCounting(quarters) if quarters else None
    if quarters[-1].index - quarters[0].index >= INDEXED_QUARTERS:
        return ActivityCounting(quarters)
    if not beside or connection.savepoint_ids or not connection.in_atomic_block:
        return ActivityCounting.at_once(quarters)
    return ActivityCounting.start(quarters)


def activity_store(
    *, run: AssessmentRun | None, quarters: Iterable[Quarter] = (), counting: ActivityCounting | None = None
) -> None:
    """Count those of ``quarters`` that need it (``quarters_to_count``: new, or changed by a write since
    their last count) from today's data, or take what ``counting`` (``activity_count_start``) counted, and
    replace their snapshots, every scope, and their partner pairs (the cooperation network's snapshot,
    ``services/pairs.py``): a quarter with activity rows has its pairs counted too. The others keep the
    snapshots of the run that last counted them, which are today's counts. Must run inside the caller's
    transaction (the one that took the marks).

    For up to ``INDEXED_QUARTERS`` quarters on PostgreSQL (a run of one or two quarters), only the pairs that
    differ are written (``_pairs_write``); otherwise they are counted apart and replaced (``pairs_store``), as
    the hashed plan of a backfill reads them best on its own."""
    if counting is None:
        counting = activity_count_start(quarters, beside=False)
        if counting is None:
            return
    quarters = counting.quarters
    periods = [quarter.start for quarter in quarters]
    if counting.together:
        counts, differ = counting.result()
        _pairs_write(differ)
    else:
        pairs_store(quarters=quarters)
        counts = activity_count(quarters)
    snapshot_delete(QuarterActivityCount.objects.filter(period__in=periods))
    snapshot_delete(QuarterActivity.objects.filter(period__in=periods))
    activity, by_type = activity_rows(counts, run_id_of=lambda _quarter: run.pk if run else None, now=timezone.now())
    QuarterActivity.objects.bulk_create(activity, batch_size=1000)
    QuarterActivityCount.objects.bulk_create(by_type, batch_size=1000)
