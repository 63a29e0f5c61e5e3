"""Reads of the assessments app: score lists, explanations, organization and region means, runs,
objectives with their progress. Every list comes ready in a fixed number of queries."""

from __future__ import annotations

import datetime

from django.db.models import Avg, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from assessments.choices import COMPONENTS, RunStatus
from assessments.models import (
    Alert,
    AssessmentRun,
    AssessmentRunPart,
    Indicator,
    Measurement,
    Objective,
    PartnerScore,
    ScoringModel,
)
from assessments.periods import Quarter
from assessments.services.runs import scoring_model_active
from assessments.services.scoring import (
    RATED_COMPONENTS,
    counted_participations,
    engagement_contribution,
    indicators_with_progress,
    measured_indicators,
    scores_compute,
    window_of,
)
from core.roles import VIEWER, role_of
from engagements.choices import Sensitivity
from engagements.models import Engagement, may_read_restricted
from organizations.choices import MEMBER_STATUSES
from organizations.models import Membership

# --- scores -------------------------------------------------------------------------------------------------


def score_list(*, scoring_model: ScoringModel | None = None) -> QuerySet[PartnerScore]:
    """Stored scores of one scoring model (the active one by default), with partner, model and run joined."""
    model = scoring_model or scoring_model_active()
    return PartnerScore.objects.filter(scoring_model=model).select_related("partner", "scoring_model", "run")


def score_periods(*, scoring_model: ScoringModel | None = None) -> list[Quarter]:
    """The quarters that have scores, newest first."""
    model = scoring_model or scoring_model_active()
    days = PartnerScore.objects.filter(scoring_model=model).order_by("-period").values_list("period", flat=True)
    return [Quarter.of(day) for day in days.distinct()]


def member_of_on_period_end(acronym: str) -> Exists:
    """True for score rows whose partner was a member of ``acronym`` on the last day of the row's quarter."""
    return Exists(
        Membership.objects.filter(
            partner=OuterRef("partner"),
            organization__acronym__iexact=acronym,
            status__in=MEMBER_STATUSES,
        )
        .filter(Q(joined__isnull=True) | Q(joined__lte=OuterRef("period_end")))
        .filter(Q(left__isnull=True) | Q(left__gt=OuterRef("period_end")))
    )


def alert_member_of_on_period_end(acronym: str) -> Exists:
    """True for alerts whose partner was a member of ``acronym`` on the last day of the alert's quarter (the
    quarter of the score that fell, judged as for that score)."""
    return Exists(
        PartnerScore.objects.filter(
            partner=OuterRef("partner"), period=OuterRef("period"), scoring_model=OuterRef("scoring_model")
        ).filter(member_of_on_period_end(acronym))
    )


def _component_means(prefix: str = "") -> dict:
    return {name: Avg(f"{prefix}{name}") for name in ["overall", *COMPONENTS]}


def organization_scores(*, quarter: Quarter, scoring_model: ScoringModel | None = None, acronym: str | None = None):
    """Each organization's score for the quarter: the mean of its members' scores, members on the quarter's
    last day (suspended members count). Members without a score (no data) are not in the mean; a
    component's mean is over the members for which it is not null."""
    model = scoring_model or scoring_model_active()
    rows = Membership.objects.members_on(quarter.end).filter(
        partner__scores__period=quarter.start, partner__scores__scoring_model=model
    )
    if acronym:
        rows = rows.filter(organization__acronym__iexact=acronym)
    return (
        rows.values("organization__acronym", "organization__name")
        .annotate(partners_scored=Count("partner", distinct=True), **_component_means("partner__scores__"))
        .order_by("organization__acronym")
    )


def region_scores(*, quarter: Quarter, scoring_model: ScoringModel | None = None):
    """Each UN M49 region's score for the quarter: the mean of its partners' scores."""
    return (
        score_list(scoring_model=scoring_model)
        .filter(period=quarter.start)
        .exclude(partner__region="")
        .values("partner__region")
        .annotate(partners_scored=Count("partner"), **_component_means())
        .order_by("partner__region")
    )


# --- explanations -------------------------------------------------------------------------------------------


def _overlapped_quarters(start: datetime.date, end: datetime.date, bounds: list[tuple]) -> list[str]:
    """The labels of the window's quarters that [start, end] overlaps; ``bounds`` as (label, first, last day)."""
    return [label for label, first, last in bounds if start <= last and end >= first]


def score_explanation(*, partner, quarter: Quarter, user, scoring_model: ScoringModel | None = None) -> dict:
    """Why a partner's score for a quarter is what it is: the counted engagements with their age, weight,
    ratings, participant count and multilateral flag; each component's inputs (sums and counts); the
    indicators and their progress; the weights used for ``overall``; and the stored snapshot beside the
    figures computed from today's data (they differ when data changed after the last run).

    Restricted engagements count for everyone's scores, but only users who may read them see them: for
    other users ``engagements`` leaves them out and ``restricted`` has, instead, one line per component they
    entered (how many, and the sum of their recency weights), nothing more. ``engagement_count`` counts them
    all, as the stored score does.
    """
    model = scoring_model or scoring_model_active()
    window = window_of(quarter, model)
    computed = scores_compute(quarter=quarter, model=model, partner_ids=[partner.pk]).get(partner.pk)
    readable = may_read_restricted(user)
    counted = counted_participations(quarter=quarter, model=model, partner_ids=[partner.pk])
    # Plain rows, not model instances: a partner can have hundreds of contributions in a window.
    rows = list(
        counted.annotate(
            age=F("age_days"),
            participants=F("participant_count"),
        )
        .order_by("-engagement__end_date", "-engagement_id")
        .values(
            "engagement_id",
            "role",
            "age",
            "participants",
            "engagement__reference",
            "engagement__title",
            "engagement__sensitivity",
            "engagement__status",
            "engagement__start_date",
            "engagement__end_date",
            # The report's ratings as the run reads them: kept on the engagement row (engagements.services.shape).
            *(f"engagement__report_{name}" for name in RATED_COMPONENTS),
        )
    )
    acronyms: dict[int, list[str]] = {}
    for engagement_id, acronym in (
        Engagement.organizations.through.objects.filter(engagement_id__in={row["engagement_id"] for row in rows})
        .order_by()  # sorted below: ordering by acronym in SQL made PostgreSQL walk every organization's rows
        .values_list("engagement_id", "organization__acronym")
    ):
        acronyms.setdefault(engagement_id, []).append(acronym)
    for names in acronyms.values():
        names.sort()
    weight_sum = computed.inputs.weight_sum if computed else 0.0
    bounds = [(str(q), q.start, q.end) for q in window]
    engagements = []
    hidden = []
    for row in rows:
        restricted = row["engagement__sensitivity"] == Sensitivity.RESTRICTED
        start, end = row["engagement__start_date"], row["engagement__end_date"]
        ratings = (
            {name: row[f"engagement__report_{name}"] for name in RATED_COMPONENTS}
            if row[f"engagement__report_{RATED_COMPONENTS[0]}"] is not None
            else None
        )
        # The engine's formula for one engagement (weight, multilateral, rating points): the same function
        # the methodology's worked example uses; its sums equal the SQL engine's (test_formula.py).
        contribution = engagement_contribution(
            age_days=row["age"],
            participant_count=row["participants"],
            # Under an organization: it has organizations (read above rather than as an EXISTS column,
            # which PostgreSQL answered by hashing every engagement's organizations).
            under_framework=row["engagement_id"] in acronyms,
            ratings=ratings,
            model=model,
        )
        (hidden if restricted and not readable else engagements).append(
            {
                "id": row["engagement_id"],
                "reference": row["engagement__reference"],
                "title": row["engagement__title"],
                "restricted": restricted,
                "status": row["engagement__status"],
                "start_date": start,
                "end_date": end,
                "role": row["role"],
                "age_days": int(row["age"]),
                "weight": contribution.weight,
                "share_of_weight": contribution.weight / weight_sum if weight_sum else None,
                "participant_count": row["participants"],
                "organizations": acronyms.get(row["engagement_id"], []),
                "multilateral": contribution.multilateral,
                "ratings": ratings,
                "quarters": _overlapped_quarters(start, end, bounds),
                "contribution": contribution,
            }
        )
    indicators = [
        {
            "id": indicator.pk,
            "name": indicator.name,
            "unit": indicator.unit,
            "objective_id": indicator.objective_id,
            "objective": indicator.objective.title,
            "baseline_value": indicator.baseline_value,
            "target_value": indicator.target_value,
            "latest_value": indicator.latest_value,
            "latest_date": indicator.latest_date,
            "progress": indicator.progress,
        }
        for indicator in measured_indicators(on=quarter.end, partner_ids=[partner.pk])
        .select_related("objective")
        .order_by("objective__title", "name")
    ]
    stored = (
        PartnerScore.objects.filter(partner=partner, period=quarter.start, scoring_model=model)
        .select_related("run")
        .first()
    )
    components = computed.components if computed else dict.fromkeys(COMPONENTS)
    overall = computed.overall if computed else None
    inputs = computed.inputs if computed else None
    # Quarters that only hidden engagements overlap are counted, never named (they would date them).
    overlapped = sorted({q for e in engagements for q in e["quarters"]})
    counted = [*engagements, *hidden]
    return {
        "partner": partner,
        "period": str(quarter),
        "window": {"first_day": window[0].start, "last_day": quarter.end, "quarters": [str(q) for q in window]},
        "scoring_model": {
            "version": model.version,
            "weights": model.weights,
            "half_life_days": model.half_life_days,
            "lookback_quarters": model.lookback_quarters,
            "activity_scale": model.activity_scale,
        },
        "has_data": computed is not None,
        "overall": overall,
        "components": components,
        "weights_used": computed.weights_used if computed else {},
        "inputs": {
            "activity": {
                "weight_sum": inputs.weight_sum if inputs else 0.0,
                "activity_scale": model.activity_scale,
            },
            "interoperability": _rating_inputs(inputs, "interoperability"),
            "capacity": _rating_inputs(inputs, "capacity"),
            "trust": _rating_inputs(inputs, "trust"),
            "continuity": {
                "quarters_overlapped": inputs.quarters_overlapped if inputs else 0,
                "lookback_quarters": model.lookback_quarters,
                "quarters": overlapped,
            },
            "multilateral": {
                "multilateral_weight_sum": inputs.multilateral_weight_sum if inputs else 0.0,
                "weight_sum": inputs.weight_sum if inputs else 0.0,
                "multilateral_count": sum(1 for e in counted if e["multilateral"]),
                "engagement_count": len(counted),
            },
            "objectives": {
                "indicator_count": inputs.indicator_count if inputs else 0,
                "mean_progress": inputs.objectives_progress if inputs else None,
            },
        },
        "engagement_count": len(counted),
        "engagements": engagements,
        "restricted": _restricted_lines(hidden),
        "indicators": indicators,
        "stored": stored,
        "stored_matches": _matches(stored, overall, components),
    }


def _restricted_lines(hidden: list[dict]) -> list[dict]:
    """One line per component for the restricted engagements a user may not read: the component, how many
    entered it and the sum of their weights. Components none of them entered have no line."""
    lines = []
    for component in COMPONENTS:
        weights = [e["weight"] for e in hidden if e["contribution"].enters(component)]
        if weights:
            lines.append({"component": component, "engagement_count": len(weights), "weight": sum(weights)})
    return lines


def _rating_inputs(inputs, name: str) -> dict:
    return {
        "rated_count": inputs.rated_count if inputs else 0,
        "rated_weight_sum": inputs.rated_weight_sum if inputs else 0.0,
        "weighted_points": getattr(inputs, f"{name}_points") if inputs else 0.0,
    }


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) < 0.005


def _matches(stored: PartnerScore | None, overall, components) -> bool:
    if stored is None:
        return overall is None
    return _close(stored.overall, overall) and all(_close(getattr(stored, n), components[n]) for n in COMPONENTS)


# --- runs and alerts ----------------------------------------------------------------------------------------


def run_list() -> QuerySet[AssessmentRun]:
    """Runs, newest first, with their parts' progress (``parts_total``, ``parts_succeeded``: zero for a run
    executed in one piece)."""
    parts = AssessmentRunPart.objects.filter(run=OuterRef("pk")).order_by().values("run")
    return (
        AssessmentRun.objects.select_related("requested_by", "scoring_model")
        .annotate(
            parts_total=Coalesce(Subquery(parts.annotate(n=Count("pk")).values("n")), 0),
            parts_succeeded=Coalesce(
                Subquery(parts.filter(status=RunStatus.SUCCEEDED).annotate(n=Count("pk")).values("n")), 0
            ),
        )
        .order_by("-created_at")
    )


def run_parts(run: AssessmentRun) -> QuerySet[AssessmentRunPart]:
    """The quarters of a fanned-out run, each with its task, attempts and outcome."""
    return AssessmentRunPart.objects.filter(run=run).order_by("period")


def run_get(*, run_id) -> AssessmentRun | None:
    return run_list().filter(pk=run_id).first()


def alerts() -> QuerySet[Alert]:
    """Alerts of every scoring model, with what a row shows."""
    return Alert.objects.select_related("partner", "acknowledged_by", "scoring_model")


def alert_list(*, scoring_model: ScoringModel | None = None) -> QuerySet[Alert]:
    """The scoring model's alerts (the active model's by default): open ones first, then the newest quarter,
    the steepest drop."""
    model = scoring_model or scoring_model_active()
    return (
        alerts()
        .filter(scoring_model=model)
        .order_by(F("acknowledged_at").asc(nulls_first=True), "-period", "delta_overall", "partner__name", "pk")
    )


def viewer_home(*, user) -> dict | None:
    """The scores panel of a viewer's home page: the latest open alerts and where to read more. Scores and
    alerts are the same for everyone (DESIGN, Roles); analysts start on the overview instead."""
    if role_of(user) != VIEWER:
        return None
    open_alerts = alert_list().filter(acknowledged_at__isnull=True)
    return {"alerts": list(open_alerts[:5]), "open_count": open_alerts.count()}


def alert_get(*, alert_id: int) -> Alert | None:
    return alerts().filter(pk=alert_id).first()


# --- objectives, indicators, measurements -------------------------------------------------------------------


def _today() -> datetime.date:
    return timezone.localdate()


def objective_list(*, on: datetime.date | None = None) -> QuerySet[Objective]:
    """Objectives with ``indicator_count``, ``measured_count`` and ``progress`` (mean progress of the
    measured indicators, latest value on or before ``on``, today by default)."""
    on = on or _today()
    per_objective = (
        measured_indicators(on=on)
        .filter(objective=OuterRef("pk"))
        .values("objective")
        .annotate(mean=Avg("progress"), measured=Count("id"))
    )
    return (
        Objective.objects.select_related("partner")
        .annotate(
            indicator_count=Coalesce(
                Subquery(
                    Indicator.objects.filter(objective=OuterRef("pk"))
                    .order_by()
                    .values("objective")
                    .annotate(n=Count("pk"))
                    .values("n")
                ),
                0,
            ),
            progress=Subquery(per_objective.values("mean")),
            measured_count=Coalesce(Subquery(per_objective.values("measured")), 0),
        )
        .order_by("partner__name", "title", "id")
    )


def objective_get(*, pk) -> Objective | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return objective_list().filter(pk=pk).first()


def indicator_list(*, on: datetime.date | None = None) -> QuerySet[Indicator]:
    """Indicators with ``latest_value``, ``latest_date`` and ``progress`` (null until first measured)."""
    return (
        indicators_with_progress(on=on or _today())
        .select_related("objective", "objective__partner")
        .annotate(
            measurement_count=Coalesce(
                Subquery(
                    Measurement.objects.filter(indicator=OuterRef("pk"))
                    .order_by()
                    .values("indicator")
                    .annotate(n=Count("pk"))
                    .values("n")
                ),
                0,
            )
        )
        .order_by("objective__partner__name", "objective__title", "name", "id")
    )


def indicator_get(*, pk) -> Indicator | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return (
        indicator_list()
        .prefetch_related(Prefetch("measurements", queryset=Measurement.objects.order_by("-date", "-id")))
        .filter(pk=pk)
        .first()
    )


def measurement_list() -> QuerySet[Measurement]:
    return Measurement.objects.select_related("indicator", "indicator__objective", "recorded_by").order_by(
        "-date", "-id"
    )


# --- engagements that served objectives ---------------------------------------------------------------------


def objective_engagements(*, objective: Objective, user) -> list[dict]:
    """The engagements ``user`` may see that served ``objective``, newest first, each with its after-action
    ratings and the objective's progress at its end (mean progress of the indicators measured by then,
    each at its latest value on or before that day). Three queries, however many rows."""
    engagements = list(
        Engagement.objects.visible_to(user)
        .filter(objective_links__objective=objective)
        .select_related("after_action", "host_country")
        .order_by("-start_date", "-id")
    )
    indicators = list(
        Indicator.objects.filter(objective=objective).prefetch_related(
            Prefetch("measurements", queryset=Measurement.objects.order_by("date", "id"))
        )
    )

    def progress_on(day: datetime.date) -> float | None:
        values = []
        for indicator in indicators:
            latest = None
            for measurement in indicator.measurements.all():
                if measurement.date > day:
                    break
                latest = measurement.value
            if latest is not None:
                values.append(indicator.progress_of(latest))
        return sum(values) / len(values) if values else None

    rows = []
    for engagement in engagements:
        try:
            report = engagement.after_action
        except Engagement.after_action.RelatedObjectDoesNotExist:
            report = None
        rows.append({"engagement": engagement, "report": report, "progress_at_end": progress_on(engagement.end_date)})
    return rows


def objectives_without_engagement(
    *, partner, first_day: datetime.date, last_day: datetime.date, user
) -> QuerySet[Objective]:
    """``partner``'s objectives that no engagement served between ``first_day`` and ``last_day`` (the scoring
    window), as ``user`` sees them: for a viewer, an objective only restricted engagements served is listed
    (restricted means invisible: its absence from the list would reveal them)."""
    served = Engagement.objects.visible_to(user).filter(
        objective_links__objective=OuterRef("pk"), start_date__lte=last_day, end_date__gte=first_day
    )
    return Objective.objects.filter(partner=partner).exclude(Exists(served)).order_by("title", "id")
