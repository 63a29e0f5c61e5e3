"""The scoring model (DESIGN.md, "The scoring model (version 1)") as set-based SQL.

For partner P and quarter Q ending on day E, the engagements counted are those P takes part in, completed
or in progress, not deleted, whose dates overlap the look-back window (the ``lookback_quarters`` quarters
ending with Q). Each counts with the recency weight w = 0.5 ^ (age / half_life_days), age = max(0, E -
end_date) in days, computed in the database. One aggregate query per quarter gives every partner's sums
(weights, rating points, multilateral weight, quarters overlapped); one more gives the indicators' mean
progress. The components and ``overall`` then follow from those sums by the formulas below, in
``components_from`` — the same function the explanation uses, so a score and its explanation agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Greatest, Least, Ln, Power
from django.db.models.lookups import GreaterThan, LessThan

from assessments.choices import (
    COMPONENTS,
    CONFIDENCE_HIGH_MIN_ENGAGEMENTS,
    CONFIDENCE_HIGH_MIN_REPORTS,
    CONFIDENCE_LOW_MIN_ENGAGEMENTS,
    Confidence,
)
from assessments.models import Indicator, Measurement, ScoringModel
from assessments.periods import Quarter
from assessments.sql import DaysBetween, as_float, scoring_settings
from engagements.choices import SCORED_STATUSES
from engagements.models import Engagement, Participation

MULTILATERAL_MIN_PARTNERS = 3


@dataclass
class ScoreInputs:
    """What a partner's components are computed from, for one quarter: the sums the SQL returns."""

    partner_id: int
    engagement_count: int = 0
    weight_sum: float = 0.0
    rated_count: int = 0  # counted engagements with an after-action report: the score's ``report_count``
    rated_weight_sum: float = 0.0
    interoperability_points: float = 0.0  # sum of w * (rating - 1) / 4 * 100 over rated engagements
    capacity_points: float = 0.0
    trust_points: float = 0.0
    multilateral_weight_sum: float = 0.0
    quarters_overlapped: int = 0
    indicator_count: int = 0
    objectives_progress: float | None = None  # mean progress in [0, 1] of the measured indicators


@dataclass
class ComputedScore:
    partner_id: int
    quarter: Quarter
    components: dict[str, float | None]
    overall: float | None
    engagement_count: int
    inputs: ScoreInputs
    weights_used: dict[str, float] = field(default_factory=dict)

    @property
    def report_count(self) -> int:
        return self.inputs.rated_count

    @property
    def confidence(self) -> str:
        return confidence_of(engagement_count=self.engagement_count, report_count=self.report_count)


def confidence_of(*, engagement_count: int, report_count: int) -> str:
    """How far a score can be trusted (DESIGN.md, "Second edition": Scores): ``low`` with fewer than 3
    counted engagements or no after-action report, ``high`` with 8 or more engagements and 3 or more reports,
    ``medium`` otherwise. The only home of the rule: runs store its result, pages and the API read it."""
    if engagement_count < CONFIDENCE_LOW_MIN_ENGAGEMENTS or report_count == 0:
        return Confidence.LOW
    if engagement_count >= CONFIDENCE_HIGH_MIN_ENGAGEMENTS and report_count >= CONFIDENCE_HIGH_MIN_REPORTS:
        return Confidence.HIGH
    return Confidence.MEDIUM


WEIGHT_CUTOFF_HALF_LIVES = 500  # an engagement this many half-lives old weighs 0 (0.5 ** 500 is about 3e-151)
# An after-action rating of 1-5 as points of 0-100: (rating - 1) / 4 * 100.
RATING_POINTS_PER_STEP = 100.0 / 4
RATED_COMPONENTS = ("interoperability", "capacity", "trust")


# --- one engagement's contribution ---------------------------------------------------------------------------
# The formula for one engagement, in Python: the explanation and the methodology's worked example use it, and
# the SQL below computes the same sums set-based (tests/assessments/test_formula.py holds them equal).


def recency_weight(age_days: float, model: ScoringModel) -> float:
    """w = 0.5 ^ (age / half_life_days); 0 past WEIGHT_CUTOFF_HALF_LIVES half-lives."""
    if age_days > WEIGHT_CUTOFF_HALF_LIVES * model.half_life_days:
        return 0.0
    return 0.5 ** (age_days / model.half_life_days)


def rating_points(rating: int) -> float:
    return (rating - 1) * RATING_POINTS_PER_STEP


def is_multilateral(*, participant_count: int, under_framework: bool) -> bool:
    """Multilateral: MULTILATERAL_MIN_PARTNERS or more partners, or run under an organization's framework."""
    return participant_count >= MULTILATERAL_MIN_PARTNERS or under_framework


@dataclass(frozen=True)
class Contribution:
    """What one counted engagement adds to a partner's sums for a quarter."""

    weight: float
    multilateral: bool
    # Points (0-100) per rated component, or None without an after-action report.
    points: dict[str, float] | None

    def enters(self, component: str) -> bool:
        """Whether this engagement is among the inputs of ``component`` (objectives are indicators)."""
        if component in RATED_COMPONENTS:
            return self.points is not None
        if component == "multilateral":
            return self.multilateral
        return component in ("activity", "continuity")


def engagement_contribution(
    *, age_days: float, participant_count: int, under_framework: bool, ratings: dict | None, model: ScoringModel
) -> Contribution:
    """One engagement's contribution under ``model``: its recency weight, whether it is multilateral, and
    its rating points. ``ratings`` maps interoperability, capacity and trust to 1-5, or is None."""
    return Contribution(
        weight=recency_weight(age_days, model),
        multilateral=is_multilateral(participant_count=participant_count, under_framework=under_framework),
        points={name: rating_points(ratings[name]) for name in RATED_COMPONENTS} if ratings else None,
    )


def inputs_add(inputs: ScoreInputs, contribution: Contribution) -> None:
    """Add one engagement's contribution to a partner's sums (the quarters it overlaps are added apart:
    continuity counts quarters, not engagements)."""
    weight = contribution.weight
    inputs.engagement_count += 1
    inputs.weight_sum += weight
    if contribution.multilateral:
        inputs.multilateral_weight_sum += weight
    if contribution.points is not None:
        inputs.rated_count += 1
        inputs.rated_weight_sum += weight
        inputs.interoperability_points += weight * contribution.points["interoperability"]
        inputs.capacity_points += weight * contribution.points["capacity"]
        inputs.trust_points += weight * contribution.points["trust"]


def _percent(value: float | None) -> float | None:
    """A score in [0, 100]: the formulas stay within it exactly, floating-point sums can stray by an ulp
    (100 * w / w is 100.00000000000001 for some w)."""
    return None if value is None else min(100.0, max(0.0, value))


def components_from(inputs: ScoreInputs, model: ScoringModel) -> tuple[dict[str, float | None], float | None, dict]:
    """The seven components (0-100, None when empty) and ``overall`` from a partner's sums.

    Returns (components, overall, weights_used) where weights_used are the model's weights renormalised
    over the non-null components.
    """
    w = inputs.weight_sum
    rated = inputs.rated_weight_sum
    components: dict[str, float | None] = {
        "activity": 100.0 * (1.0 - math.exp(-w / model.activity_scale)),
        "interoperability": inputs.interoperability_points / rated if inputs.rated_count and rated > 0 else None,
        "capacity": inputs.capacity_points / rated if inputs.rated_count and rated > 0 else None,
        "trust": inputs.trust_points / rated if inputs.rated_count and rated > 0 else None,
        "continuity": 100.0 * inputs.quarters_overlapped / model.lookback_quarters,
        "multilateral": 100.0 * inputs.multilateral_weight_sum / w if inputs.engagement_count and w > 0 else None,
        "objectives": 100.0 * inputs.objectives_progress if inputs.objectives_progress is not None else None,
    }
    components = {name: _percent(value) for name, value in components.items()}
    weights = {name: float(model.weights.get(name, 0.0)) for name in COMPONENTS}
    present = {name: weights[name] for name, value in components.items() if value is not None}
    total = sum(present.values())
    if total <= 0:
        return components, None, {}
    overall = _percent(sum(present[name] * components[name] for name in present) / total)
    return components, overall, {name: weight / total for name, weight in present.items()}


# --- the SQL ------------------------------------------------------------------------------------------------


def window_of(quarter: Quarter, model: ScoringModel) -> list[Quarter]:
    return quarter.window(model.lookback_quarters)


def counted_q(*, quarter: Quarter, model: ScoringModel, prefix: str = "engagement__") -> Q:
    """The engagements a quarter's scores count (completed or in progress, not deleted, overlapping the
    look-back window), as a condition on the engagement's fields under ``prefix`` ("" on engagements)."""
    window = window_of(quarter, model)
    return Q(
        **{
            f"{prefix}status__in": SCORED_STATUSES,
            f"{prefix}deleted_at__isnull": True,
            f"{prefix}start_date__lte": quarter.end,
            f"{prefix}end_date__gte": window[0].start,
        }
    )


def age_sql(*, quarter: Quarter, prefix: str = "engagement__"):
    """An engagement's age at the quarter's end in days (0 while it lasts), for its fields under ``prefix``."""
    return Case(
        When(**{f"{prefix}end_date__gte": quarter.end}, then=Value(0.0)),
        default=DaysBetween(Value(quarter.end, output_field=DateField()), F(f"{prefix}end_date")),
        output_field=FloatField(),
    )


def weight_sql(*, quarter: Quarter, model: ScoringModel, prefix: str = "engagement__"):
    """``recency_weight`` in SQL for the engagement's fields under ``prefix``: w = 0.5 ^ (age /
    half_life_days), age = max(0, quarter end - end_date) in days.

    Past WEIGHT_CUTOFF_HALF_LIVES the weight is 0: 0.5 ** 1075 is below the smallest double, which
    PostgreSQL reports as an underflow error instead of rounding to 0 (a one-day half-life over a
    40-quarter window reaches it), and products of such weights would underflow in turn."""
    age = age_sql(quarter=quarter, prefix=prefix)
    return Case(
        When(GreaterThan(age, Value(float(WEIGHT_CUTOFF_HALF_LIVES * model.half_life_days))), then=Value(0.0)),
        default=Power(as_float(Value(0.5)), age / as_float(Value(model.half_life_days))),
        output_field=FloatField(),
    )


def counted_participations(
    *, quarter: Quarter, model: ScoringModel, partner_ids: Iterable[int] | None = None
) -> QuerySet[Participation]:
    """Participations in counted engagements for the quarter's window, with ``age_days``, ``weight`` (SQL) and
    ``participant_count`` as aliases ready to aggregate or annotate. The engagement's number of partners and
    whether it runs under a framework are read from its row (``partner_count``, ``under_framework``, kept by
    every write path: engagements.services.shape), as the one-pass sums read them: a subquery counting each
    engagement's participations and two probes per row were most of a computed partner page (bench/README.md)."""
    rows = Participation.objects.filter(counted_q(quarter=quarter, model=model)).order_by()
    if partner_ids:
        rows = rows.filter(partner_id__in=list(partner_ids))
    return rows.alias(
        age_days=age_sql(quarter=quarter),
        participant_count=F("engagement__partner_count"),
        weight=weight_sql(quarter=quarter, model=model),
    )


def multilateral_q(prefix: str = "engagement__") -> Q:
    """The engagement counts as multilateral (``is_multilateral``), from its row: at least
    ``MULTILATERAL_MIN_PARTNERS`` partners, or under a framework."""
    return Q(**{f"{prefix}partner_count__gte": MULTILATERAL_MIN_PARTNERS}) | Q(**{f"{prefix}under_framework": True})


def _rating_points(name: str, prefix: str = "engagement__"):
    """rating_points in SQL, from the report's rating kept on the engagement row (``Engagement.report_*``,
    engagements.services.shape: every write of a report keeps it), so that no run reads the reports."""
    return (as_float(F(f"{prefix}report_{name}")) - 1.0) * RATING_POINTS_PER_STEP


def rated_q(prefix: str = "engagement__") -> Q:
    """The engagement has an after-action report: its stored ratings are set (null without a report)."""
    return Q(**{f"{prefix}report_{RATED_COMPONENTS[0]}__isnull": False})


def _engagement_sums(*, quarter: Quarter, model: ScoringModel, partner_ids) -> dict[int, ScoreInputs]:
    """Every partner's sums for ``quarter``: one aggregate query (a window function on PostgreSQL for every
    partner, grouped subqueries otherwise)."""
    if partner_ids or connection.vendor != "postgresql":
        rows = _sums_by_subqueries(quarter=quarter, model=model, partner_ids=partner_ids)
    else:
        rows = _sums_in_one_pass(quarter=quarter, model=model)
    sums = {}
    for row in rows:
        sums[row["partner_id"]] = ScoreInputs(
            partner_id=row["partner_id"],
            engagement_count=row["engagement_count"],
            weight_sum=float(row["weight_sum"] or 0.0),
            rated_count=row["rated_count"],
            rated_weight_sum=float(row["rated_weight_sum"] or 0.0),
            interoperability_points=float(row["interoperability_points"] or 0.0),
            capacity_points=float(row["capacity_points"] or 0.0),
            trust_points=float(row["trust_points"] or 0.0),
            multilateral_weight_sum=float(row["multilateral_weight_sum"] or 0.0),
            quarters_overlapped=int(row["quarters_overlapped"] or 0),
        )
    return sums


def _sums_in_one_pass(*, quarter: Quarter, model: ScoringModel) -> list[dict]:
    """``_engagement_sums`` for every partner on PostgreSQL, from the window's engagements alone: each row
    holds its partners (``Engagement.partner_ids``), its number of partners, whether it runs under a framework
    and its report's ratings (``partner_count``, ``under_framework``, ``report_*``, kept by every write path:
    engagements.services.shape), and the ``engagement_scoring`` index holds them all, so the statement reads
    the window's range of that index, unnests each engagement's partners, and sums per partner, in parallel.
    The floor query joins the same engagements to the two million participations (bench/README.md, "Sixth
    pass": 0.7 times the floor's time on a million engagements).

    What an engagement adds (its weight, whether it is rated or multilateral, its rating points, the window's
    quarters it overlaps) is computed in the subquery that unnests its partners, so once per partner of it; a
    subquery with a set-returning function in its select list is not flattened, so the aggregates above read
    those values instead of each evaluating its own copy of the expressions (the weight's ``POWER`` six times
    per row when they did: bench/README.md, "Fifth pass").
    """
    window = window_of(quarter, model)
    one, zero = Value(1), Value(0)
    multilateral = multilateral_q(prefix="")
    engagements = (
        Engagement.objects.filter(counted_q(quarter=quarter, model=model, prefix=""))
        .order_by()
        .annotate(
            partner_id=Func(F("partner_ids"), function="UNNEST", output_field=IntegerField()),
            w=weight_sql(quarter=quarter, model=model, prefix=""),
            rated=Case(When(rated_q(prefix=""), then=one), default=zero),
            multilateral=Case(When(multilateral, then=one), default=zero),
            **{name: _rating_points(name, prefix="") for name in RATED_COMPONENTS},
            # The window's quarters the engagement overlaps, one bit each: one BIT_OR per partner instead of
            # a MAX per quarter (the bits are distinct, so their sum is their OR).
            quarter_bits=sum(
                (
                    Case(When(Q(start_date__lte=q.end, end_date__gte=q.start), then=Value(1 << index)), default=zero)
                    for index, q in enumerate(window)
                ),
                start=zero,
            ),
        )
        .values("partner_id", "w", "rated", "multilateral", *RATED_COMPONENTS, "quarter_bits")
    )
    inner, params = engagements.query.sql_with_params()
    points = {f"{name}_points": f"SUM(e.w * e.{name}) FILTER (WHERE e.rated = 1)" for name in RATED_COMPONENTS}
    sql = f"""
        SELECT e.partner_id, COUNT(*) AS engagement_count, SUM(e.w) AS weight_sum,
               COUNT(*) FILTER (WHERE e.rated = 1) AS rated_count,
               SUM(e.w) FILTER (WHERE e.rated = 1) AS rated_weight_sum,
               {", ".join(f"{expression} AS {name}" for name, expression in points.items())},
               SUM(e.w) FILTER (WHERE e.multilateral = 1) AS multilateral_weight_sum,
               BIT_OR(e.quarter_bits) AS quarters_mask
        FROM ({inner}) e
        GROUP BY e.partner_id
    """  # noqa: S608 (our expressions; values are parameters)
    # Each parallel worker sums its share of the rows and the leader adds three partial sums per partner: the
    # planner's own choice sent every unnested row (360,000 on a million engagements) to the leader to sum,
    # 0.75 to 0.8 times the floor query's time against 0.67 (bench/README.md, "Sixth pass").
    with scoring_settings(work_mem="64MB", parallel_tuple_cost="1"), connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["quarters_overlapped"] = int(row.pop("quarters_mask") or 0).bit_count()
    return rows


def _sums_by_subqueries(*, quarter: Quarter, model: ScoringModel, partner_ids) -> list[dict]:
    rated = rated_q()
    quarters_overlapped = None
    for q in window_of(quarter, model):
        overlaps = Max(
            Case(
                When(Q(engagement__start_date__lte=q.end, engagement__end_date__gte=q.start), then=Value(1)),
                default=Value(0),
            )
        )
        quarters_overlapped = overlaps if quarters_overlapped is None else quarters_overlapped + overlaps
    rows = (
        counted_participations(quarter=quarter, model=model, partner_ids=partner_ids)
        .values("partner_id")
        .annotate(
            # A partner takes part in an engagement once (participation_unique_partner), so its rows count
            # its engagements without DISTINCT, which would make PostgreSQL sort every row of the window by
            # partner instead of hashing them (3 to 5 s of a 10 s run on a million engagements).
            engagement_count=Count("engagement_id"),
            weight_sum=Sum("weight"),
            # report_count of the stored score: engagements with an after-action report, like engagement_count.
            rated_count=Count("engagement_id", filter=rated),
            rated_weight_sum=Sum("weight", filter=rated),
            interoperability_points=Sum(F("weight") * _rating_points("interoperability"), filter=rated),
            capacity_points=Sum(F("weight") * _rating_points("capacity"), filter=rated),
            trust_points=Sum(F("weight") * _rating_points("trust"), filter=rated),
            multilateral_weight_sum=Sum("weight", filter=multilateral_q()),
            quarters_overlapped=quarters_overlapped,
        )
    )
    # Hashed in one batch, no sort on disk; on the database the rows are read from
    # (a dashboard's explanation reads on the replica when there is one: core/replica.py).
    with scoring_settings(using=rows.db, work_mem="64MB"):
        return list(rows)


def indicators_with_progress(*, on, partner_ids=None) -> QuerySet[Indicator]:
    """Indicators annotated with their latest measurement on or before ``on`` (``latest_value``,
    ``latest_date``) and its ``progress`` in [0, 1]; all three are null when nothing was measured yet."""
    latest = Measurement.objects.filter(indicator=OuterRef("pk"), date__lte=on).order_by("-date", "-id")
    rows = Indicator.objects.order_by()
    if partner_ids:
        rows = rows.filter(objective__partner_id__in=list(partner_ids))
    gained, span = F("latest_value") - F("baseline_value"), F("target_value") - F("baseline_value")
    ratio = gained / span
    # A ratio below 1e-12 is no progress. Deciding it by logarithms, before dividing, keeps PostgreSQL from
    # the underflow error a quotient too small for a double raises (a hair above the baseline, a target
    # far away); both differences are non-zero where this is asked.
    negligible = LessThan(Ln(Abs(gained)) - Ln(Abs(span)), Value(math.log(1e-12), output_field=FloatField()))
    clipped = Greatest(
        Least(ratio, Value(1.0, output_field=FloatField())),
        Value(0.0, output_field=FloatField()),
        output_field=FloatField(),
    )
    rising = Q(target_value__gt=F("baseline_value"))
    falling = Q(target_value__lt=F("baseline_value"))
    one, zero = Value(1.0, output_field=FloatField()), Value(0.0, output_field=FloatField())
    return rows.annotate(
        latest_value=Subquery(latest.values("value")[:1], output_field=FloatField()),
        latest_date=Subquery(latest.values("date")[:1], output_field=DateField()),
    ).annotate(
        # PostgreSQL's LEAST/GREATEST skip nulls, so "not measured" is kept null explicitly. Values at or
        # beyond the target or the baseline are settled before dividing: with a target a hair from the
        # baseline, the ratio would overflow (an error in PostgreSQL, failing the whole run).
        progress=Case(
            When(latest_value__isnull=True, then=Value(None)),
            When(rising & Q(latest_value__gte=F("target_value")), then=one),
            When(rising & Q(latest_value__lte=F("baseline_value")), then=zero),
            When(falling & Q(latest_value__lte=F("target_value")), then=one),
            When(falling & Q(latest_value__gte=F("baseline_value")), then=zero),
            When(negligible, then=zero),
            default=clipped,
            output_field=FloatField(),
        )
    )


def measured_indicators(*, on, partner_ids=None) -> QuerySet[Indicator]:
    """Indicators with a measurement on or before ``on``: the ones the objectives component counts."""
    return indicators_with_progress(on=on, partner_ids=partner_ids).filter(latest_value__isnull=False)


def _objective_progress(*, quarter: Quarter, partner_ids) -> dict[int, tuple[int, float]]:
    rows = (
        measured_indicators(on=quarter.end, partner_ids=partner_ids)
        .values("objective__partner_id")
        .annotate(indicator_count=Count("id"), progress_mean=Avg("progress"))
    )
    return {row["objective__partner_id"]: (row["indicator_count"], float(row["progress_mean"])) for row in rows}


def scores_compute(
    *, quarter: Quarter, model: ScoringModel, partner_ids: Iterable[int] | None = None
) -> dict[int, ComputedScore]:
    """Every partner's score for ``quarter`` (two queries, whatever the number of engagements).

    Partners with no counted engagement in the window and no indicator measured by the quarter's end
    get no score at all: there is nothing to judge them by.
    """
    partner_ids = list(partner_ids) if partner_ids else None
    sums = _engagement_sums(quarter=quarter, model=model, partner_ids=partner_ids)
    for partner_id, (count, progress) in _objective_progress(quarter=quarter, partner_ids=partner_ids).items():
        inputs = sums.setdefault(partner_id, ScoreInputs(partner_id=partner_id))
        inputs.indicator_count, inputs.objectives_progress = count, progress
    scores = {}
    for partner_id, inputs in sums.items():
        components, overall, weights_used = components_from(inputs, model)
        scores[partner_id] = ComputedScore(
            partner_id=partner_id,
            quarter=quarter,
            components=components,
            overall=overall,
            engagement_count=inputs.engagement_count,
            inputs=inputs,
            weights_used=weights_used,
        )
    return scores
