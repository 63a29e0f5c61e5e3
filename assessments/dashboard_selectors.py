"""Reads of the analyst dashboards: the overview, a partner's assessment, organization and region pages.

Dashboards read the stored score snapshots (``PartnerScore``), never recompute from engagements; only the
tiles and the bars that count engagements query engagements, with one grouped aggregate each. Every
function here runs a fixed number of queries, whatever the number of engagements or scores.

A *scope* narrows a page to a region, a subregion or an organization's members. Scores use the members on
the last day of each score's quarter (as the organization means do); engagement counts use the members on
the day each engagement started.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import uuid
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, Exists, F, Func, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject, TruncQuarter
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assessments.choices import (
    COMPONENTS,
    CONFIDENCE_HIGH_MIN_ENGAGEMENTS,
    CONFIDENCE_HIGH_MIN_REPORTS,
    CONFIDENCE_LOW_MIN_ENGAGEMENTS,
    Component,
    RunStatus,
    score_labels,
)
from assessments.models import (
    ActivityScope,
    Alert,
    AssessmentRun,
    DraftStatus,
    PartnerScore,
    QuarterActivity,
    QuarterActivityCount,
    ScoringModel,
    ScoringModelDraft,
)
from assessments.periods import PeriodError, Quarter, quarter_range
from assessments.selectors import (
    alert_list,
    alert_member_of_on_period_end,
    indicator_list,
    member_of_on_period_end,
    objective_list,
    organization_scores,
    region_scores,
    score_explanation,
    score_list,
)
from assessments.services.activity import counted_quarters, quarter_of
from assessments.services.runs import scoring_model_active, stale_quarters
from assessments.services.scoring import (
    RATED_COMPONENTS,
    ScoreInputs,
    components_from,
    confidence_of,
    engagement_contribution,
    inputs_add,
    window_of,
)
from assessments.whatif_selectors import scoring_model_recomputing
from engagements.choices import SCORED_STATUSES, EngagementType, Status
from engagements.models import Engagement, Participation, PartnerChange, may_read_restricted, readable_by
from organizations.choices import MEMBER_STATUSES
from organizations.models import Membership
from partners.models import PartnerNation
from partners.selectors import REGION_LEVELS

# The longest trend drawn: ten years of quarters.
TREND_QUARTERS = 40
MOVERS = 5
ALERTS_SHOWN = 10
# Score buckets of the choropleth: [lower, upper) except the last, which includes 100.
SCORE_BUCKETS = [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]


SCOPE_FIELDS = ("region", "subregion", "intermediate_region", "organization")


@dataclass(frozen=True)
class Scope:
    """Which partners a dashboard looks at: all of them, or a UN M49 region, subregion or intermediate
    region (Western Africa), or an organization's members."""

    region: str = ""
    subregion: str = ""
    organization: str = ""
    intermediate_region: str = ""

    @property
    def is_everything(self) -> bool:
        return not (self.region or self.subregion or self.intermediate_region or self.organization)

    @property
    def label(self) -> str:
        """The scope as a heading says it: "ECOWAS, Africa / Western Africa"."""
        places = " / ".join(name for name in (self.region, self.subregion, self.intermediate_region) if name)
        return ", ".join(part for part in (self.organization, places) if part)

    @property
    def snapshot(self) -> tuple[str, str] | None:
        """(scope kind, name) of the run snapshots that hold this scope's activity; None for a mix of a
        region, subregion and organization, which is counted live."""
        given = [
            (kind, name)
            for kind, name in (
                (ActivityScope.REGION, self.region),
                (ActivityScope.SUBREGION, self.subregion),
                (ActivityScope.INTERMEDIATE_REGION, self.intermediate_region),
                (ActivityScope.ORGANIZATION, self.organization),
            )
            if name
        ]
        if not given:
            return ActivityScope.EVERYTHING, ""
        return given[0] if len(given) == 1 else None

    def _partner_q(self, prefix: str) -> Q:
        q = Q()
        if self.region:
            q &= Q(**{f"{prefix}region__iexact": self.region})
        if self.subregion:
            q &= Q(**{f"{prefix}subregion__iexact": self.subregion})
        if self.intermediate_region:
            q &= Q(**{f"{prefix}intermediate_region__iexact": self.intermediate_region})
        return q

    def partners(self, queryset: QuerySet[PartnerNation]) -> QuerySet[PartnerNation]:
        """The partners of the region, subregion and intermediate region (organizations are dated: ask
        their memberships on a day)."""
        return queryset.filter(self._partner_q(""))

    def scores(self, queryset: QuerySet[PartnerScore]) -> QuerySet[PartnerScore]:
        queryset = queryset.filter(self._partner_q("partner__"))
        if self.organization:
            queryset = queryset.filter(member_of_on_period_end(self.organization))
        return queryset

    def alerts(self, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        queryset = queryset.filter(self._partner_q("partner__"))
        if self.organization:
            queryset = queryset.filter(alert_member_of_on_period_end(self.organization))
        return queryset

    def participations(self, queryset: QuerySet[Participation], *, start_date_ref) -> QuerySet[Participation]:
        """Participations whose partner is in scope; organization membership on ``start_date_ref``."""
        queryset = queryset.filter(self._partner_q("partner__"))
        if self.organization:
            member = (
                Membership.objects.filter(
                    partner=OuterRef("partner"),
                    organization__acronym__iexact=self.organization,
                    status__in=MEMBER_STATUSES,
                )
                .filter(Q(joined__isnull=True) | Q(joined__lte=start_date_ref))
                .filter(Q(left__isnull=True) | Q(left__gt=start_date_ref))
            )
            queryset = queryset.filter(Exists(member))
        return queryset

    def engagements(self, queryset: QuerySet[Engagement]) -> QuerySet[Engagement]:
        if self.is_everything:
            return queryset
        taking_part = self.participations(
            Participation.objects.filter(engagement=OuterRef("pk")), start_date_ref=OuterRef(OuterRef("start_date"))
        )
        return queryset.filter(Exists(taking_part))


# --- scores -------------------------------------------------------------------------------------------------


def quarter_scores(*, scope: Scope, quarter: Quarter, model: ScoringModel | None = None) -> QuerySet[PartnerScore]:
    """The scores of the partners in scope for one quarter, with partner, model and run joined."""
    return scope.scores(score_list(scoring_model=model).filter(period=quarter.start))


def score_movers(*, scope: Scope, quarter: Quarter, model: ScoringModel | None = None) -> dict:
    """The partners whose overall score rose and fell most since the previous quarter (two queries).

    Low-confidence scores stay in the lists, marked as such (the page shows each mover's confidence):
    leaving them out would hide the drops that also raise alerts. The methodology page says so."""
    scores = quarter_scores(scope=scope, quarter=quarter, model=model)
    return {
        "risers": list(scores.filter(delta_overall__gt=0).order_by("-delta_overall", "partner__name")[:MOVERS]),
        "fallers": list(scores.filter(delta_overall__lt=0).order_by("delta_overall", "partner__name")[:MOVERS]),
    }


def scope_means(*, scope: Scope, quarter: Quarter, model: ScoringModel | None = None) -> dict:
    """Mean overall and component scores of the partners in scope for the quarter, and how many there are."""
    return quarter_scores(scope=scope, quarter=quarter, model=model).aggregate(
        partners_scored=Count("pk"), **{name: Avg(name) for name in ["overall", *COMPONENTS]}
    )


def score_trend(
    *, scope: Scope, last: Quarter, model: ScoringModel | None = None, quarters: int = TREND_QUARTERS
) -> list[dict]:
    """Per quarter up to ``last`` (at most ``quarters`` of them, oldest first), the mean overall and component
    scores of the partners in scope and how many were scored. Quarters without scores are left out."""
    first = last.shift(-(quarters - 1))
    rows = (
        scope.scores(score_list(scoring_model=model).filter(period__gte=first.start, period__lte=last.start))
        .order_by()
        .values("period")
        .annotate(partners_scored=Count("pk"), **{name: Avg(name) for name in ["overall", *COMPONENTS]})
        .order_by("period")
    )
    return [{**row, "quarter": Quarter.of(row["period"])} for row in rows]


def partner_trend(*, partner: PartnerNation, model: ScoringModel | None = None) -> list[PartnerScore]:
    """The partner's scores, oldest quarter first."""
    return list(score_list(scoring_model=model).filter(partner=partner).order_by("period"))


def open_alerts(*, scope: Scope, quarter: Quarter, model: ScoringModel | None = None) -> QuerySet[Alert]:
    """Alerts not yet acknowledged, of the quarter shown and the ones before it, newest first."""
    model = model or scoring_model_active()
    return scope.alerts(
        Alert.objects.filter(scoring_model=model, acknowledged_at__isnull=True, period__lte=quarter.start)
        .select_related("partner")
        .order_by("-period", "delta_overall", "partner__name")
    )


def alert_workspace(
    *, scope: Scope, quarter: Quarter | None = None, acknowledged: bool | None = None, model: ScoringModel | None = None
) -> QuerySet[Alert]:
    """The alerts workspace's rows: the model's alerts (``selectors.alert_list``: open first, newest quarter,
    steepest drop) narrowed like the overview (``scope``), to one quarter and to open or acknowledged ones."""
    rows = scope.alerts(alert_list(scoring_model=model))
    if quarter is not None:
        rows = rows.filter(period=quarter.start)
    if acknowledged is not None:
        rows = rows.filter(acknowledged_at__isnull=not acknowledged)
    return rows


# --- engagement counts --------------------------------------------------------------------------------------


def _counted_engagements(*, user, scope: Scope) -> QuerySet[Engagement]:
    """Engagements the user may see, cancelled ones left out, narrowed to those with a partner in scope."""
    return scope.engagements(Engagement.objects.visible_to(user).exclude(status=Status.CANCELLED))


def engagement_activity(*, user, scope: Scope, first: Quarter, last: Quarter) -> dict:
    """Engagements starting in each quarter from ``first`` to ``last``, by type.

    Returns ``quarters`` (labels), ``series`` (one per type that occurs: value, label, counts per quarter)
    and ``totals`` per quarter. The user's visibility rules apply: a viewer's counts never include
    restricted engagements. The quarters a run has counted are read from its snapshots
    (``QuarterActivityCount``, for everyone or for one region, subregion or organization); the others,
    and a mix of scopes, are counted live with one grouped query. At most three queries.
    """
    quarters = quarter_range(first, last) if first <= last else []
    index = {q: i for i, q in enumerate(quarters)}
    counts: dict[str, list[int]] = {}

    def add(quarter: Quarter, kind: str, n: int) -> None:
        counts.setdefault(kind, [0] * len(quarters))[index[quarter]] += n

    missing = quarters
    if scope.snapshot is not None and quarters:
        counted = counted_quarters(quarters)
        stored = _scope_rows(QuarterActivityCount.objects, scope).filter(period__in=[q.start for q in counted])
        if not may_read_restricted(user):
            stored = stored.filter(restricted=False)
        for period, kind, n in stored.values_list("period", "engagement_type", "engagements"):
            add(Quarter.of(period), kind, n)
        missing = [q for q in quarters if q not in counted]
    if missing:
        rows = (
            _counted_engagements(user=user, scope=scope)
            .filter(start_date__gte=missing[0].start, start_date__lte=missing[-1].end)
            .annotate(quarter_start=TruncQuarter("start_date"))
            .order_by()
            .values("quarter_start", "engagement_type")
            .annotate(n=Count("pk"))
        )
        wanted = set(missing)
        for row in rows:
            quarter = quarter_of(row["quarter_start"])
            if quarter in wanted:
                add(quarter, row["engagement_type"], row["n"])
    series = [
        {"type": value, "label": str(label), "counts": counts[value]}
        for value, label in EngagementType.choices
        if value in counts
    ]
    totals = [sum(s["counts"][i] for s in series) for i in range(len(quarters))]
    # ``live``: some quarter was counted from today's engagements (a cached page then depends on them).
    return {"quarters": [str(q) for q in quarters], "series": series, "totals": totals, "live": bool(missing)}


def _scope_rows(manager, scope: Scope):
    kind, name = scope.snapshot
    return manager.filter(scope_kind=kind, scope_name__iexact=name)


def partners_engaged(*, user, scope: Scope, quarter: Quarter) -> int:
    """Distinct partners in scope taking part in engagements that start in the quarter: a run's snapshot
    when it has counted the quarter (a scope without a row had none), else one live query."""
    if scope.snapshot is not None and counted_quarters([quarter]):
        stored = _scope_rows(QuarterActivity.objects, scope).filter(period=quarter.start).first()
        if stored is None:
            return 0
        return stored.partners_engaged if may_read_restricted(user) else stored.partners_engaged_unrestricted
    engagements = Engagement.objects.visible_to(user).exclude(status=Status.CANCELLED)
    rows = Participation.objects.filter(
        engagement__in=engagements.filter(start_date__gte=quarter.start, start_date__lte=quarter.end).values("pk")
    )
    rows = scope.participations(rows, start_date_ref=OuterRef("engagement__start_date"))
    return rows.values("partner_id").distinct().count()


# --- freshness ----------------------------------------------------------------------------------------------


def freshness_of_scores(scores: QuerySet[PartnerScore], model: ScoringModel | None = None) -> dict:
    """When the scores shown (``scores``, the rows the page shows) were computed, by which run and model
    (``model``, the active one by default, when none is stored): it changes only when a run ends, so it is
    kept with a cached page. One query, two without ``model``."""
    latest = scores.order_by("-computed_at").select_related("run", "scoring_model").first()
    return {
        "computed_at": latest.computed_at if latest else None,
        "run": latest.run if latest else None,
        "scoring_model": latest.scoring_model if latest else (model or scoring_model_active()),
    }


@functools.lru_cache(maxsize=1024)
def _freshness_statement(readable: Q, partner_ids: tuple[int, ...] | None) -> tuple[str, tuple]:
    """``freshness_pending``'s statement and its parameters, compiled once per process for each visibility
    condition and set of partners: building and compiling it took 2 ms of Python, a fifth of a cached
    page's work; running it takes a quarter of a millisecond."""
    pending = PartnerChange.objects.filter(processed_at__isnull=True).filter(readable)
    if partner_ids is not None:
        pending = pending.filter(partner_id__in=partner_ids)
    # Aggregates written as plain functions: one row from the subquery, no GROUP BY.
    summary = JSONObject(
        n=Func(F("pk"), function="COUNT"),
        first_day=Func(F("first_day"), function="MIN"),
        last_day=Func(F("last_day"), function="MAX"),
    )
    runs = AssessmentRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).order_by("created_at")
    active_model = (
        ScoringModel.objects.filter(is_active=True)
        .annotate(
            pending_summary=Subquery(pending.order_by().annotate(summary=summary).values("summary")),
            active_runs=ArraySubquery(
                runs.values(run=JSONObject(id="id", status="status", trigger="trigger", periods="periods"))[:5]
            ),
            recomputing_id=Subquery(ScoringModelDraft.objects.filter(status=DraftStatus.ACTIVATING).values("pk")[:1]),
        )
        .order_by("pk")[:1]
    )
    return active_model.query.sql_with_params()


def _json(value):
    """A JSON value read by a raw query: PostgreSQL's json arrives as text."""
    return json.loads(value) if isinstance(value, str) else value


def freshness_pending(*, user, partner_ids: list[int] | None = None) -> dict:
    """What waits to be scored: pending changes (of ``partner_ids`` only when given), queued and running
    runs, a model being recomputed. It changes with every save, so it is read for each request, outside a
    cached page. Changes to restricted engagements are not counted for a ``user`` who may not read them (a
    count and its quarters would tell that one was changed).

    One query, on every dashboard request (a cached one included): the active model's row with the pending
    changes' summary, the first five active runs and the id of a model being activated beside it (the
    activation's draft itself is read only when there is one)."""
    sql, params = _freshness_statement(
        readable_by(user, via="engagement__"), tuple(partner_ids) if partner_ids is not None else None
    )
    model = next(iter(ScoringModel.objects.raw(sql, params)), None)
    if model is None:
        model = scoring_model_active()  # raises what a page without an active model shows
    pending_summary = _json(model.pending_summary)
    active_runs = [{**run, "id": uuid.UUID(run["id"])} for run in map(_json, model.active_runs)]
    pending_quarters = []
    if pending_summary["n"]:
        pending_quarters = stale_quarters(
            first_day=datetime.date.fromisoformat(pending_summary["first_day"]),
            last_day=datetime.date.fromisoformat(pending_summary["last_day"]),
            lookback=model.lookback_quarters,
        )
    return {
        "active_model": model,
        "pending_changes": pending_summary["n"],
        "pending_quarters": [str(q) for q in pending_quarters],
        "active_runs": active_runs,
        "is_stale": bool(pending_summary["n"] or active_runs),
        # A newly activated model whose scores are still being computed: the page shows the active one's.
        "recomputing": scoring_model_recomputing() if model.recomputing_id is not None else None,
    }


def freshness_merge(of_scores: dict, pending: dict) -> dict:
    """The freshness line's context: the scores' part (kept with a cached page) and the pending part."""
    return {**of_scores, **pending}


def quarters_to_recompute(*, quarter: Quarter, partner_ids: list[int] | None = None) -> list[Quarter]:
    """What "Recompute now" computes: the quarter shown and every quarter that pending changes affect
    (for ``partner_ids`` only when given; those stop at the current quarter)."""
    pending = PartnerChange.objects.filter(processed_at__isnull=True)
    if partner_ids:
        pending = pending.filter(partner_id__in=partner_ids)
    span = pending.aggregate(first_day=Min("first_day"), last_day=Max("last_day"))
    quarters = {quarter}
    if span["first_day"]:
        lookback = scoring_model_active().lookback_quarters
        quarters |= set(stale_quarters(first_day=span["first_day"], last_day=span["last_day"], lookback=lookback))
    return sorted(quarters)


# --- regions and organizations ------------------------------------------------------------------------------


def region_by_slug(slug: str) -> tuple[str, str] | None:
    """(level, name) for a slug such as ``sub-saharan-africa`` or ``western-africa``, the level one of
    ``partners.selectors.REGION_LEVELS``; None if there is none."""
    rows = PartnerNation.objects.exclude(region="").order_by().values_list(*REGION_LEVELS).distinct()
    names: dict[str, set[str]] = {kind: set() for kind in REGION_LEVELS}
    for row in rows:
        for kind, name in zip(REGION_LEVELS, row, strict=True):
            if name:
                names[kind].add(name)
    for kind in REGION_LEVELS:
        for name in sorted(names[kind]):
            if slugify(name) == slug:
                return kind, name
    return None


def members_on_quarter_end(*, acronym: str, quarter: Quarter) -> list[PartnerNation]:
    """The organization's members on the quarter's last day (suspended members count)."""
    ids = Membership.objects.members_on(quarter.end).filter(organization__acronym__iexact=acronym).values("partner_id")
    return list(PartnerNation.objects.filter(pk__in=ids).order_by("name"))


def partners_of_region(*, kind: str, name: str) -> list[PartnerNation]:
    return list(PartnerNation.objects.filter(**{f"{kind}__iexact": name}).order_by("name"))


def scope_partners(*, scope: Scope, quarter: Quarter) -> list[PartnerNation]:
    """Every partner in the scope (an organization's members on the quarter's last day), scored or not: the
    countries the overview's map draws as in the view (one query)."""
    partners = PartnerNation.objects.filter(scope._partner_q(""))
    if scope.organization:
        members = Membership.objects.members_on(quarter.end).filter(organization__acronym__iexact=scope.organization)
        partners = partners.filter(pk__in=members.values("partner_id"))
    return list(partners.only("pk", "iso3", "name", "iso_numeric", "latitude", "longitude").order_by("name"))


# --- the overview -------------------------------------------------------------------------------------------


def overview_data(*, user, scope: Scope, quarter: Quarter, periods: list[Quarter], model: ScoringModel) -> dict:
    """What the overview shows for a scope and quarter, besides the scores table: the mean-score trend,
    engagements per quarter by type, open alerts, risers and fallers, and region and organization means."""
    oldest = periods[-1] if periods else quarter.shift(-7)
    first = max(min(oldest, quarter.shift(-1)), quarter.shift(-(TREND_QUARTERS - 1)))
    return {
        "trend": score_trend(scope=scope, last=quarter, model=model),
        "activity": engagement_activity(user=user, scope=scope, first=first, last=quarter),
        "alerts": open_alerts(scope=scope, quarter=quarter, model=model),
        "movers": score_movers(scope=scope, quarter=quarter, model=model),
        "region_scores": region_scores(quarter=quarter, scoring_model=model),
        "organization_scores": organization_scores(quarter=quarter, scoring_model=model),
    }


def overview_tiles(*, user, scope: Scope, quarter: Quarter, data: dict) -> dict:
    """The overview's headline figures, each with its change against the previous quarter."""
    by_quarter = {row["quarter"]: row for row in data["trend"]}
    this_row, last_row = by_quarter.get(quarter), by_quarter.get(quarter.shift(-1))
    totals = data["activity"]["totals"]
    engagements_now = totals[-1] if totals else 0
    engagements_before = totals[-2] if len(totals) > 1 else None
    mean_now = this_row["overall"] if this_row else None
    mean_before = last_row["overall"] if last_row else None
    return {
        "engagements": engagements_now,
        "engagements_change": None if engagements_before is None else engagements_now - engagements_before,
        "partners_engaged": partners_engaged(user=user, scope=scope, quarter=quarter),
        "mean_overall": mean_now,
        "mean_overall_change": None if mean_now is None or mean_before is None else mean_now - mean_before,
        "partners_scored": this_row["partners_scored"] if this_row else 0,
        "open_alerts": data["alerts"].count(),
    }


# --- a partner's assessment ---------------------------------------------------------------------------------


def partner_assessment(*, partner, quarter: Quarter, trend: list[PartnerScore], user, model: ScoringModel) -> dict:
    """What a partner's assessment shows for one quarter: its score history (newest first), the stored score,
    the explanation, each component with its weights and inputs, the components beside the region's means,
    and the objectives with their indicators' progress on the quarter's last day."""
    stored = next((s for s in trend if s.quarter == quarter), None)
    explanation = score_explanation(partner=partner, quarter=quarter, user=user, scoring_model=model)
    region_means = (
        scope_means(scope=Scope(region=partner.region), quarter=quarter, model=model) if partner.region else None
    )
    indicators = list(
        indicator_list(on=quarter.end).filter(objective__partner=partner).order_by("objective_id", "name")
    )
    objectives = list(objective_list(on=quarter.end).filter(partner=partner))
    for objective in objectives:
        objective.indicator_rows = [i for i in indicators if i.objective_id == objective.pk]
    return {
        "history": trend[::-1],
        "stored": stored,
        "explanation": explanation,
        "region_means": region_means,
        "indicators": indicators,
        "objectives": objectives,
        "component_rows": [
            {
                "name": name,
                "label": label,
                "value": explanation["components"][name],
                "weight": explanation["scoring_model"]["weights"].get(name),
                "weight_used": explanation["weights_used"].get(name),
                "inputs": explanation["inputs"][name],
            }
            for name, label in Component.choices
        ],
        "comparison": [
            {
                "name": name,
                "label": label,
                "partner": getattr(stored, name) if stored else None,
                "region": region_means[name] if region_means else None,
            }
            for name, label in score_labels()
        ],
    }


# --- partners compared -------------------------------------------------------------------------------------

# How many partners one comparison holds: fewer says nothing, more no longer fits side by side.
COMPARE_MIN_PARTNERS = 2
COMPARE_MAX_PARTNERS = 6
# The overall-score trend drawn for each compared partner.
COMPARE_TREND_QUARTERS = 8


def comparison_request_clean(
    *, codes: list[str], period: str | None, model: ScoringModel | None = None
) -> tuple[list[PartnerNation], Quarter]:
    """The partners (in the order given, each once) and the quarter of a comparison, from ISO alpha-3 codes
    and an optional ``YYYY-Qn`` (the latest scored quarter by default). The one home of the comparison's
    limits, asked by the page's form and the API's serializer alike; raises ``ValidationError`` with every
    field's message at once (``partners``, ``period``). Two queries at most."""
    errors: dict[str, list[str]] = {}
    wanted = list(dict.fromkeys(code.strip().upper() for code in codes if code.strip()))
    partners: list[PartnerNation] = []
    if not COMPARE_MIN_PARTNERS <= len(wanted) <= COMPARE_MAX_PARTNERS:
        errors["partners"] = [
            _("Choose from %(min)s to %(max)s partners (ISO alpha-3 codes such as GHA, SEN); %(count)s given.")
            % {"min": COMPARE_MIN_PARTNERS, "max": COMPARE_MAX_PARTNERS, "count": len(wanted)}
        ]
    else:
        found = {p.iso3: p for p in PartnerNation.objects.filter(iso3__in=wanted)}
        unknown = [code for code in wanted if code not in found]
        if unknown:
            errors["partners"] = [
                ngettext(
                    "Unknown country code: %(codes)s. Use ISO alpha-3 codes such as GHA.",
                    "Unknown country codes: %(codes)s. Use ISO alpha-3 codes such as GHA.",
                    len(unknown),
                )
                % {"codes": ", ".join(unknown)}
            ]
        partners = [found[code] for code in wanted if code in found]
    quarter = None
    if period:
        try:
            quarter = Quarter.parse(period)
        except PeriodError as exc:
            errors["period"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    if quarter is None:
        latest = score_list(scoring_model=model).order_by("-period").values_list("period", flat=True).first()
        quarter = Quarter.of(latest) if latest else Quarter.current()
    return partners, quarter


def partner_comparison(
    *, user, partners: list[PartnerNation], quarter: Quarter, model: ScoringModel | None = None
) -> dict:
    """Partners side by side for a quarter: each one's stored score row (None when it has none), each one's
    overall score over the ``COMPARE_TREND_QUARTERS`` quarters ending with it, and the engagements at least
    two of them share. Shared engagements are those the scores count (completed or in progress, dates
    overlapping the quarter's look-back window) that ``user`` may see: for a viewer a restricted one does
    not exist, so it is never listed, though the scores include it as they do for everyone. Each lists
    which of the chosen partners took part. At most four queries, whatever the number of partners or
    engagements.
    """
    model = model or scoring_model_active()
    ids = [p.pk for p in partners]
    trend_quarters = quarter.window(COMPARE_TREND_QUARTERS)
    rows = score_list(scoring_model=model).filter(
        partner_id__in=ids, period__gte=trend_quarters[0].start, period__lte=quarter.start
    )
    by_key = {(row.partner_id, row.quarter): row for row in rows}
    window = window_of(quarter, model)
    position = {pk: n for n, pk in enumerate(ids)}
    chosen = Participation.objects.filter(partner_id__in=ids).select_related("partner")
    shared = (
        Engagement.objects.visible_to(user)
        .filter(status__in=SCORED_STATUSES, start_date__lte=quarter.end, end_date__gte=window[0].start)
        .annotate(chosen_count=Count("participations", filter=Q(participations__partner_id__in=ids), distinct=True))
        .filter(chosen_count__gte=COMPARE_MIN_PARTNERS)
        .prefetch_related(Prefetch("participations", queryset=chosen, to_attr="chosen_participations"))
        .order_by("-start_date", "reference")
    )
    return {
        "quarter": quarter,
        "scoring_model": model,
        "window": window,
        "partners": [
            {
                "partner": p,
                "score": by_key.get((p.pk, quarter)),
                "trend": [getattr(by_key.get((p.pk, q)), "overall", None) for q in trend_quarters],
            }
            for p in partners
        ],
        "trend_quarters": trend_quarters,
        "trend_rows": [
            {"quarter": q, "values": [getattr(by_key.get((p.pk, q)), "overall", None) for p in partners]}
            for q in trend_quarters
        ],
        "shared": [
            {
                "engagement": e,
                "partners": sorted((part.partner for part in e.chosen_participations), key=lambda p: position[p.pk]),
            }
            for e in shared
        ],
    }


def comparison_rows(comparison: dict) -> list[dict]:
    """The components table of a comparison: one row per measure (overall, the seven components, the
    engagement and report counts, confidence, provisional), one value per partner (None without a score)."""
    scores = [row["score"] for row in comparison["partners"]]
    measures = [
        *[(name, label, "score") for name, label in score_labels()],
        ("engagement_count", _("Engagements"), "count"),
        ("report_count", _("After-action reports"), "count"),
        ("confidence", _("Confidence"), "confidence"),
        ("provisional", _("Provisional"), "provisional"),
    ]
    return [
        {
            "name": name,
            "label": label,
            "kind": kind,
            "values": [None if s is None else getattr(s, name) for s in scores],
            "cells": [{"score": s, "value": None if s is None else getattr(s, name)} for s in scores],
        }
        for name, label, kind in measures
    ]


# --- the methodology page -----------------------------------------------------------------------------------

# A made-up partner for the worked example: the engagements of its look-back window, as (label, age in days,
# participating partners, under an organization, ratings (interoperability, capacity, trust) or None).
EXAMPLE_ENGAGEMENTS = [
    ("A", 0, 4, True, (4, 3, 5)),
    ("B", 120, 2, False, (3, 3, 4)),
    ("C", 400, 2, False, None),
    ("D", 610, 5, True, (5, 4, 4)),
]
EXAMPLE_QUARTERS_OVERLAPPED = 5
EXAMPLE_INDICATOR_PROGRESS = [0.25, 0.8]


def worked_example(model: ScoringModel) -> dict:
    """The scoring model applied, step by step, to a made-up partner, with the functions that compute real
    scores (``engagement_contribution``, ``components_from``), so the page can never disagree with the code."""
    rows = []
    inputs = ScoreInputs(partner_id=0)
    for label, age, partners, framework, ratings in EXAMPLE_ENGAGEMENTS:
        contribution = engagement_contribution(
            age_days=age,
            participant_count=partners,
            under_framework=framework,
            ratings=dict(zip(RATED_COMPONENTS, ratings, strict=True)) if ratings else None,
            model=model,
        )
        inputs_add(inputs, contribution)
        rows.append(
            {
                "label": label,
                "age": age,
                "partners": partners,
                "framework": framework,
                "multilateral": contribution.multilateral,
                "ratings": ratings,
                "weight": contribution.weight,
            }
        )
    quarters = min(EXAMPLE_QUARTERS_OVERLAPPED, model.lookback_quarters)
    inputs.quarters_overlapped = quarters
    inputs.indicator_count = len(EXAMPLE_INDICATOR_PROGRESS)
    inputs.objectives_progress = sum(EXAMPLE_INDICATOR_PROGRESS) / len(EXAMPLE_INDICATOR_PROGRESS)
    components, overall, weights_used = components_from(inputs, model)
    return {
        "engagements": rows,
        "inputs": inputs,
        "quarters_overlapped": quarters,
        "indicator_progress": EXAMPLE_INDICATOR_PROGRESS,
        "components": components,
        "overall": overall,
        "weights_used": weights_used,
        "activity_exponent": inputs.weight_sum / model.activity_scale,
        "activity_factor": math.exp(-inputs.weight_sum / model.activity_scale),
    }


def scoring_models() -> QuerySet[ScoringModel]:
    return ScoringModel.objects.annotate(score_count=Count("scores")).order_by("-version")


# Counts (engagements, after-action reports) the methodology page runs through the confidence rule.
CONFIDENCE_EXAMPLES = [(2, 2), (5, 0), (5, 2), (8, 2), (8, 3)]


def confidence_rules() -> dict:
    """What the methodology page says about confidence, from the rule's constants and ``confidence_of``
    itself (examples)."""
    return {
        "low_min_engagements": CONFIDENCE_LOW_MIN_ENGAGEMENTS,
        "high_min_engagements": CONFIDENCE_HIGH_MIN_ENGAGEMENTS,
        "high_min_reports": CONFIDENCE_HIGH_MIN_REPORTS,
        "examples": [
            {"engagements": n, "reports": r, "level": confidence_of(engagement_count=n, report_count=r)}
            for n, r in CONFIDENCE_EXAMPLES
        ],
    }
