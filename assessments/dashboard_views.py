"""Analyst dashboards: the overview, a partner's assessment, organization and region pages, the methodology,
and "Recompute now" with its progress. Views are thin: the dashboard selectors read snapshots, the run
services start runs.

A page asked for with the header ``X-Fragment: dashboard`` answers with its main content only: the
overview's few lines of JavaScript swap it in place when a filter changes. Without JavaScript the same
URLs are ordinary pages, links and forms.
"""

from __future__ import annotations

import itertools

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from assessments import dashboard_selectors as dash
from assessments import selectors, tables
from assessments.choices import COMPONENTS, Component, RunTrigger
from assessments.filtersets import SCORE_ORDERING, PartnerScoreFilterSet
from assessments.forms import DashboardFilterForm, RecomputeForm
from assessments.models import PartnerScore
from assessments.periods import PeriodError, Quarter
from assessments.services import assessment_run_request, scoring_model_active
from core.exports import csv_response
from core.paging import paginate, querystring_without
from engagements.choices import ParticipantRole
from organizations import selectors as organization_selectors
from partners import selectors as partner_selectors

FRAGMENT_HEADER = "X-Fragment"
# A printed partner brief lists the most recent contributing engagements only; the page lists them all.
PRINTED_ENGAGEMENTS = 12
SCORE_COLUMNS = ["overall", *COMPONENTS]


def _wants_fragment(request) -> bool:
    return request.headers.get(FRAGMENT_HEADER) == "dashboard"


def _render(request, template: str, fragment: str, context: dict, status: int = 200):
    """The whole page, or only its main content when the in-place script asks for it."""
    response = render(request, fragment if _wants_fragment(request) else template, context, status=status)
    patch_vary_headers(response, [FRAGMENT_HEADER])
    return response


def _export(request) -> str | None:
    """The table asked for as CSV (``?export=csv&table=name``), or None for the page."""
    if request.GET.get("export") != "csv":
        return None
    return request.GET.get("table") or "scores"


def _num(value):
    return "" if value is None else round(value, 4)


def _trend_chart(rows: list[dict], names: list[tuple[str, str]], *, full_scale: bool = True) -> dict:
    """A line chart of scores per quarter; ``full_scale`` draws the whole 0-100 range, otherwise the axis
    fits the values (a mean of many partners moves little on a 0-100 axis)."""
    return {
        "kind": "line",
        "labels": [str(row["quarter"]) for row in rows],
        "datasets": [
            {"label": str(label), "data": [None if row[name] is None else round(row[name], 2) for row in rows]}
            for name, label in names
        ],
        "max": 100 if full_scale else None,
        "zero": full_scale,
    }


def _component_labels() -> list[tuple[str, str]]:
    return [("overall", _("Overall")), *Component.choices]


def _can_run(user) -> bool:
    return user.has_perm("assessments.add_assessmentrun")


def _quarter_from(request, default: Quarter) -> tuple[Quarter, str | None]:
    value = request.GET.get("period")
    if not value:
        return default, None
    try:
        return Quarter.parse(value), None
    except PeriodError as exc:
        return default, str(exc)


# --- overview -----------------------------------------------------------------------------------------------


def overview(request):
    """Where cooperation grows and where it slips: tiles, the score map, trends, movers, alerts, all scores."""
    model = scoring_model_active()
    periods = selectors.score_periods(scoring_model=model)
    form = DashboardFilterForm(
        request.GET or None,
        regions=partner_selectors.region_choices("region"),
        subregions=partner_selectors.region_choices("subregion"),
        intermediate_regions=partner_selectors.region_choices("intermediate_region"),
        organizations=partner_selectors.organization_acronyms(),
    )
    context = {
        "form": form,
        "periods": periods,
        "can_run": _can_run(request.user),
        "can_acknowledge": request.user.has_perm("assessments.acknowledge_alert"),
        "components": Component.choices,
        "section": "scores",
    }
    if form.is_bound and not form.is_valid():
        context["invalid"] = True
        return _render(request, "assessments/overview.html", "assessments/_overview_main.html", context, status=400)
    data = form.cleaned_data if form.is_bound else {}
    quarter = data.get("period") or (periods[0] if periods else Quarter.current())
    scope = dash.Scope(
        region=data.get("region", ""),
        subregion=data.get("subregion", ""),
        intermediate_region=data.get("intermediate_region", ""),
        organization=data.get("organization", ""),
    )

    # The scores table: the shared filterset, given the cleaned filters (plus partner and ordering).
    params = request.GET.copy()
    params["period"] = str(quarter)
    params.setdefault("ordering", "-overall")
    filterset = PartnerScoreFilterSet(params, queryset=selectors.score_list(scoring_model=model))
    scores = filterset.qs if filterset.is_valid() else selectors.score_list(scoring_model=model).none()

    oldest = periods[-1] if periods else quarter.shift(-7)
    first = max(min(oldest, quarter.shift(-1)), quarter.shift(-(dash.TREND_QUARTERS - 1)))
    trend = dash.score_trend(scope=scope, last=quarter, model=model)
    activity = dash.engagement_activity(user=request.user, scope=scope, first=first, last=quarter)
    alerts = dash.open_alerts(scope=scope, quarter=quarter, model=model)
    movers = dash.score_movers(scope=scope, quarter=quarter, model=model)
    region_scores = selectors.region_scores(quarter=quarter, scoring_model=model)
    organization_scores = selectors.organization_scores(quarter=quarter, scoring_model=model)
    export = _export(request)
    if export in ("regions", "organizations"):
        key, header = (
            ("partner__region", "region") if export == "regions" else ("organization__acronym", "organization")
        )
        rows = region_scores if export == "regions" else organization_scores
        return csv_response(
            filename=f"{export}-{quarter}.csv",
            header=[header, "period", "partners_scored", "overall", *COMPONENTS],
            rows=([r[key], str(quarter), r["partners_scored"], *[_num(r[n]) for n in SCORE_COLUMNS]] for r in rows),
        )
    if export:
        return _overview_csv(
            export, quarter=quarter, scores=scores, trend=trend, activity=activity, alerts=alerts, movers=movers
        )

    by_quarter = {row["quarter"]: row for row in trend}
    this_row, last_row = by_quarter.get(quarter), by_quarter.get(quarter.shift(-1))
    totals = activity["totals"]
    engagements_now = totals[-1] if totals else 0
    engagements_before = totals[-2] if len(totals) > 1 else None
    quarter_scores = list(dash.quarter_scores(scope=scope, quarter=quarter, model=model))
    alert_rows = list(alerts[: dash.ALERTS_SHOWN])
    context.update(
        {
            "quarter": quarter,
            "previous_quarter": quarter.shift(-1),
            "next_quarter": quarter.shift(1) if periods and quarter.shift(1) <= periods[0] else None,
            "scope": scope,
            "tiles": {
                "engagements": engagements_now,
                "engagements_change": None if engagements_before is None else engagements_now - engagements_before,
                "partners_engaged": dash.partners_engaged(user=request.user, scope=scope, quarter=quarter),
                "mean_overall": this_row["overall"] if this_row else None,
                "mean_overall_change": (
                    this_row["overall"] - last_row["overall"]
                    if this_row and last_row and this_row["overall"] is not None and last_row["overall"] is not None
                    else None
                ),
                "partners_scored": this_row["partners_scored"] if this_row else 0,
                "open_alerts": alerts.count(),
            },
            "quarter_scores": quarter_scores,
            "trend": trend,
            "trend_chart": _trend_chart(trend, [("overall", _("Mean overall score"))], full_scale=False),
            "activity": activity,
            "activity_rows": list(
                zip(activity["quarters"], *[s["counts"] for s in activity["series"]], totals, strict=True)
            )
            if activity["quarters"]
            else [],
            "activity_chart": {
                "kind": "bar",
                "stacked": True,
                "labels": activity["quarters"],
                "datasets": [{"label": s["label"], "data": s["counts"]} for s in activity["series"]],
            },
            "movers": movers,
            "alerts": alert_rows,
            "region_scores": region_scores,
            "organization_scores": organization_scores,
            "filterset": filterset,
            "page": paginate(request, scores, default_size=50),
            "ordering": params.get("ordering"),
            "sortable": [name for _field, name in SCORE_ORDERING],
            "querystring": querystring_without(request, "page", "export", "table"),
            "sort_querystring": querystring_without(request, "page", "ordering", "export", "table"),
            "freshness": dash.freshness(
                user=request.user, scores=dash.quarter_scores(scope=scope, quarter=quarter, model=model)
            ),
            "recompute_period": quarter,
        }
    )
    return _render(request, "assessments/overview.html", "assessments/_overview_main.html", context)


def _overview_csv(table: str, *, quarter, scores, trend, activity, alerts, movers):
    if table == "trend":
        return csv_response(
            filename=f"mean-scores-to-{quarter}.csv",
            header=["period", "partners_scored", "overall", *COMPONENTS],
            rows=([str(r["quarter"]), r["partners_scored"], *[_num(r[name]) for name in SCORE_COLUMNS]] for r in trend),
        )
    if table == "activity":
        types = [s["type"] for s in activity["series"]]
        return csv_response(
            filename=f"engagements-by-type-to-{quarter}.csv",
            header=["period", *types, "total"],
            rows=(
                [label, *[s["counts"][i] for s in activity["series"]], activity["totals"][i]]
                for i, label in enumerate(activity["quarters"])
            ),
        )
    if table == "alerts":
        return csv_response(
            filename=f"open-alerts-to-{quarter}.csv",
            header=["partner", "name", "period", "previous_overall", "overall", "delta_overall", "raised_at"],
            rows=(
                [
                    a.partner.iso3,
                    a.partner.name,
                    a.period_label,
                    _num(a.previous_overall),
                    _num(a.overall),
                    _num(a.delta_overall),
                    a.raised_at.isoformat(),
                ]
                for a in alerts
            ),
        )
    if table == "movers":
        return csv_response(
            filename=f"movers-{quarter}.csv",
            header=["direction", "partner", "name", "period", "overall", "delta_overall"],
            rows=(
                [direction, s.partner.iso3, s.partner.name, s.period_label, _num(s.overall), _num(s.delta_overall)]
                for direction in ("risers", "fallers")
                for s in movers[direction]
            ),
        )
    return _scores_csv(scores, filename=f"scores-{quarter}.csv")


SCORE_CSV_HEADER = [
    "partner",
    "name",
    "region",
    "period",
    "overall",
    *COMPONENTS,
    "engagement_count",
    "delta_overall",
    "scoring_model",
    "computed_at",
]


def _scores_csv(scores, *, filename: str):
    rows = (
        [
            s.partner.iso3,
            s.partner.name,
            s.partner.region,
            s.period_label,
            _num(s.overall),
            *[_num(getattr(s, name)) for name in COMPONENTS],
            s.engagement_count,
            _num(s.delta_overall),
            s.scoring_model.version,
            s.computed_at.isoformat(),
        ]
        for s in scores
    )
    return csv_response(filename=filename, header=SCORE_CSV_HEADER, rows=rows)


# --- a partner's assessment ---------------------------------------------------------------------------------


def partner_scores(request, iso3: str):
    """A partner's assessment: trends, the latest components against the region's mean, the explanation
    of one quarter (the latest by default), objectives with indicator progress, memberships on that day."""
    partner = partner_selectors.partner_get(iso3=iso3)
    if partner is None:
        raise Http404(_("No partner nation with the code %(code)s.") % {"code": iso3})
    model = scoring_model_active()
    trend = dash.partner_trend(partner=partner, model=model)
    history = trend[::-1]
    quarter, period_error = _quarter_from(request, history[0].quarter if history else Quarter.current())
    status = 400 if period_error else 200
    stored = next((s for s in trend if s.quarter == quarter), None)
    explanation = selectors.score_explanation(partner=partner, quarter=quarter, user=request.user, scoring_model=model)
    region_means = (
        dash.scope_means(scope=dash.Scope(region=partner.region), quarter=quarter, model=model)
        if partner.region
        else None
    )
    indicators = list(
        selectors.indicator_list(on=quarter.end).filter(objective__partner=partner).order_by("objective_id", "name")
    )
    objectives = list(selectors.objective_list(on=quarter.end).filter(partner=partner))
    for objective in objectives:
        objective.indicator_rows = [i for i in indicators if i.objective_id == objective.pk]
    component_rows = [
        {
            "name": name,
            "label": label,
            "value": explanation["components"][name],
            "weight": explanation["scoring_model"]["weights"].get(name),
            "weight_used": explanation["weights_used"].get(name),
            "inputs": explanation["inputs"][name],
        }
        for name, label in Component.choices
    ]
    comparison = [
        {
            "name": name,
            "label": label,
            "partner": getattr(stored, name) if stored else None,
            "region": region_means[name] if region_means else None,
        }
        for name, label in _component_labels()
    ]
    export = _export(request)
    if export and not period_error:
        return _partner_csv(
            export,
            partner=partner,
            quarter=quarter,
            history=history,
            explanation=explanation,
            comparison=comparison,
            indicators=indicators,
        )
    context = {
        "partner": partner,
        "history": history,
        "quarter": quarter,
        "stored": stored,
        "period_error": period_error,
        "explanation": explanation,
        "component_rows": component_rows,
        "components": Component.choices,
        "comparison": comparison,
        "region_means": region_means,
        "trend_chart": _trend_chart(
            [{"quarter": s.quarter, **{n: getattr(s, n) for n in SCORE_COLUMNS}} for s in trend], _component_labels()
        ),
        "comparison_chart": {
            "kind": "hbar",
            "labels": [str(row["label"]) for row in comparison],
            "datasets": [
                {
                    "label": partner.name,
                    "data": [None if row["partner"] is None else round(row["partner"], 2) for row in comparison],
                },
                {
                    "label": _("Mean of %(region)s") % {"region": partner.region or _("the region")},
                    "data": [None if row["region"] is None else round(row["region"], 2) for row in comparison],
                },
            ],
            "max": 100,
        },
        "objectives": objectives,
        "memberships": organization_selectors.organizations_of(partner=partner, on=quarter.end),
        "freshness": dash.freshness(
            user=request.user,
            scores=PartnerScore.objects.filter(partner=partner, scoring_model=model),
            partner_ids=[partner.pk],
        ),
        "can_run": _can_run(request.user),
        "recompute_period": quarter,
        "recompute_partner": partner.iso3,
        "section": "scores",
        "print_engagements": PRINTED_ENGAGEMENTS,
        "history_rows": tables.history_rows(history, quarter=quarter, request=request),
        "restricted_lines": _restricted_lines(explanation),
        "contribution_rows": tables.contribution_rows(
            explanation["engagements"], role_labels=dict(ParticipantRole.choices), print_limit=PRINTED_ENGAGEMENTS
        ),
    }
    return _render(request, "assessments/partner.html", "assessments/_partner_main.html", context, status=status)


def _restricted_lines(explanation: dict) -> list[dict]:
    """The explanation's restricted-engagement lines with their component's label and a sentence for exports."""
    labels = dict(Component.choices)
    return [
        {
            **line,
            "label": labels[line["component"]],
            "text": ngettext(
                "%(component)s: %(count)d restricted engagement, weight %(weight).2f",
                "%(component)s: %(count)d restricted engagements, weight %(weight).2f",
                line["engagement_count"],
            )
            % {"component": labels[line["component"]], "count": line["engagement_count"], "weight": line["weight"]},
        }
        for line in explanation["restricted"]
    ]


def _partner_csv(table, *, partner, quarter, history, explanation, comparison, indicators):
    code = partner.iso3
    if table == "engagements":
        return csv_response(
            filename=f"explanation-{code}-{quarter}.csv",
            header=[
                "reference",
                "title",
                "start_date",
                "end_date",
                "status",
                "role",
                "age_days",
                "weight",
                "share_of_weight",
                "participants",
                "organizations",
                "multilateral",
                "interoperability_rating",
                "capacity_rating",
                "trust_rating",
            ],
            rows=itertools.chain(
                (
                    [
                        e["reference"],
                        e["title"],
                        e["start_date"],
                        e["end_date"],
                        e["status"],
                        e["role"],
                        e["age_days"],
                        _num(e["weight"]),
                        _num(e["share_of_weight"]),
                        e["participant_count"],
                        ";".join(e["organizations"]),
                        e["multilateral"],
                        *((e["ratings"] or {}).get(k, "") for k in ("interoperability", "capacity", "trust")),
                    ]
                    for e in explanation["engagements"]
                ),
                # For users who may not read them, restricted engagements are one line per component, nothing more.
                (
                    ["restricted", line["text"], *[""] * 5, _num(line["weight"]), *[""] * 7]
                    for line in _restricted_lines(explanation)
                ),
            ),
        )
    if table == "components":
        return csv_response(
            filename=f"components-{code}-{quarter}.csv",
            header=["component", "partner", "region_mean"],
            rows=([row["name"], _num(row["partner"]), _num(row["region"])] for row in comparison),
        )
    if table == "indicators":
        return csv_response(
            filename=f"indicators-{code}-{quarter}.csv",
            header=["objective", "indicator", "unit", "baseline", "target", "latest_value", "latest_date", "progress"],
            rows=(
                [
                    i.objective.title,
                    i.name,
                    i.unit,
                    i.baseline_value,
                    i.target_value,
                    "" if i.latest_value is None else i.latest_value,
                    i.latest_date or "",
                    _num(i.progress),
                ]
                for i in indicators
            ),
        )
    return _scores_csv(history, filename=f"scores-{code}.csv")


# --- organizations and regions ------------------------------------------------------------------------------

MEMBER_SORTS = {"partner": "partner__name", "delta_overall": "delta_overall", "engagement_count": "engagement_count"}
MEMBER_SORTS.update({name: name for name in SCORE_COLUMNS})


def _sorted_members(scores, sort: str):
    name = sort.lstrip("-")
    field = MEMBER_SORTS.get(name)
    if field is None:
        sort, field = "-overall", "overall"
    descending = sort.startswith("-")
    expression = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return scores.order_by(expression, "partner__name"), sort


def _group_page(request, *, scope, title, subtitle, members, back, filename, extra=None):
    """The organization and region pages: members compared for a quarter, on a map, and their mean over time."""
    model = scoring_model_active()
    periods = selectors.score_periods(scoring_model=model)
    quarter, period_error = _quarter_from(request, periods[0] if periods else Quarter.current())
    scores, sort = _sorted_members(
        dash.quarter_scores(scope=scope, quarter=quarter, model=model), request.GET.get("sort", "-overall")
    )
    trend = dash.score_trend(scope=scope, last=quarter, model=model)
    export = _export(request)
    if export and not period_error:
        if export == "trend":
            return csv_response(
                filename=f"{filename}-trend-to-{quarter}.csv",
                header=["period", "partners_scored", "overall", *COMPONENTS],
                rows=(
                    [str(r["quarter"]), r["partners_scored"], *[_num(r[name]) for name in SCORE_COLUMNS]] for r in trend
                ),
            )
        return _scores_csv(scores, filename=f"{filename}-{quarter}.csv")
    member_list = members(quarter)
    rows = list(scores)
    means = dash.scope_means(scope=scope, quarter=quarter, model=model)
    context = {
        "title": title,
        "subtitle": subtitle,
        "back": back,
        "quarter": quarter,
        "periods": periods,
        "period_error": period_error,
        "scores": rows,
        "members": member_list,
        "unscored": [m for m in member_list if m.pk not in {s.partner_id for s in rows}],
        "means": means,
        "sort": sort,
        "sort_columns": [
            ("partner", _("Partner"), False),
            *[(name, label, True) for name, label in _component_labels()],
            ("delta_overall", _("Change"), True),
            ("engagement_count", _("Engagements"), True),
        ],
        "trend": trend,
        "trend_chart": _trend_chart(trend, _component_labels()),
        "components": Component.choices,
        "freshness": dash.freshness(
            user=request.user, scores=dash.quarter_scores(scope=scope, quarter=quarter, model=model)
        ),
        "can_run": _can_run(request.user),
        "recompute_period": quarter,
        "querystring": querystring_without(request, "export", "table"),
        "sort_querystring": querystring_without(request, "sort", "export", "table"),
        "section": "scores",
        **(extra or {}),
    }
    status = 400 if period_error else 200
    return _render(request, "assessments/group.html", "assessments/_group_main.html", context, status=status)


def organization_dashboard(request, acronym: str):
    organization = organization_selectors.organization_get(acronym=acronym)
    if organization is None:
        raise Http404(_("No organization with the acronym %(acronym)s.") % {"acronym": acronym})
    return _group_page(
        request,
        scope=dash.Scope(organization=organization.acronym),
        title=organization.acronym,
        subtitle=organization.name,
        members=lambda quarter: dash.members_on_quarter_end(acronym=organization.acronym, quarter=quarter),
        back=reverse("organizations:detail", args=[organization.acronym]),
        filename=slugify(organization.acronym),
        extra={"organization": organization, "membership_note": True},
    )


def region_dashboard(request, slug: str):
    found = dash.region_by_slug(slug)
    if found is None:
        raise Http404(_("No UN M49 region called %(name)s.") % {"name": slug})
    kind, name = found
    subtitles = {
        "region": _("UN M49 region"),
        "subregion": _("UN M49 subregion"),
        "intermediate_region": _("UN M49 intermediate region"),
    }
    return _group_page(
        request,
        scope=dash.Scope(**{kind: name}),
        title=name,
        subtitle=subtitles[kind],
        members=lambda quarter: dash.partners_of_region(kind=kind, name=name),
        back=reverse("partners:list") + "?" + urlencode({kind: name}),
        filename=slug,
        extra={"region_kind": kind},
    )


# --- methodology --------------------------------------------------------------------------------------------


@require_GET
def methodology(request):
    """The scoring model in plain language, generated from the ScoringModel row (the active one by default)."""
    models = list(dash.scoring_models())
    model = next((m for m in models if m.is_active), None) or scoring_model_active()
    version = request.GET.get("version")
    status = 200
    if version:
        chosen = next((m for m in models if str(m.version) == version.strip()), None)
        if chosen is None:
            status = 404
        else:
            model = chosen
    weights = {name: float(model.weights.get(name, 0)) for name in COMPONENTS}
    total = sum(weights.values()) or 1.0
    context = {
        "model": model,
        "models": models,
        "not_found": status == 404,
        "asked_version": version,
        "weights": [
            {"name": name, "label": label, "weight": weights[name], "share": weights[name] / total}
            for name, label in Component.choices
        ],
        "weight_total": total,
        "example": dash.worked_example(model),
        "example_quarter": Quarter.current().shift(-1),
        "components": Component.choices,
        "component_labels": dict(Component.choices),
        "section": "methodology",
        "half_life_years": model.half_life_days / 365,
    }
    return render(request, "assessments/methodology.html", context, status=status)


# --- recompute now ------------------------------------------------------------------------------------------


def _safe_next(request, value: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False):
        return value
    return reverse("assessments:overview")


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
def recompute(request):
    """Start a run for the quarter shown and whatever pending changes affect; JSON for the page's script,
    else a redirect to the run's page, which follows it until it finishes."""
    if not _can_run(request.user):
        raise PermissionDenied
    form = RecomputeForm(request.POST)
    if not form.is_valid():
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        if _wants_json(request):
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        messages.error(request, message)
        return redirect(_safe_next(request, form.data.get("next", "")))
    partner = form.cleaned_data.get("partner")
    quarter = form.cleaned_data.get("period") or Quarter.current()
    partner_ids = [partner.pk] if partner else None
    periods = dash.quarters_to_recompute(quarter=quarter, partner_ids=partner_ids)
    try:
        run = assessment_run_request(
            trigger=RunTrigger.MANUAL,
            periods=[str(q) for q in periods] or None,
            requested_by=request.user,
            partner_ids=partner_ids,
        )
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if _wants_json(request):
            return JsonResponse({"errors": {"periods": [{"message": message}]}}, status=400)
        messages.error(request, message)
        return redirect(_safe_next(request, form.cleaned_data.get("next", "")))
    run = selectors.run_get(run_id=run.pk)  # in embedded mode the run has already executed
    if _wants_json(request):
        return JsonResponse(_run_status(run), status=202)
    return redirect("assessments:run", run_id=run.pk)


def _run_status(run) -> dict:
    return {
        "id": str(run.pk),
        "status": run.status,
        "status_display": str(run.get_status_display()),
        "finished": run.is_finished,
        "periods": run.periods,
        "partners_scored": run.partners_scored,
        "scores_written": run.scores_written,
        "error": run.error,
        "status_url": reverse("assessments:run-status", args=[run.pk]),
        "run_url": reverse("assessments:run", args=[run.pk]),
    }


@require_GET
def run_status(request, run_id):
    """A run's progress as JSON, polled by "Recompute now" until it has finished."""
    run = selectors.run_get(run_id=run_id)
    if run is None:
        raise Http404(_("No such run."))
    response = JsonResponse(_run_status(run))
    response["Cache-Control"] = "no-store"
    return response
