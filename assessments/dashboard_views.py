"""Analyst dashboards: the overview, a partner's assessment, organization and region pages, the methodology,
and "Recompute now" with its progress. Views are thin: the dashboard selectors read snapshots, the run
services start runs.

A page asked for with the header ``X-Fragment: dashboard`` answers with its main content only: the
overview's few lines of JavaScript swap it in place when a filter changes. Without JavaScript the same
URLs are ordinary pages, links and forms.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from assessments import charts, selectors, tables
from assessments import dashboard_exports as exports
from assessments import dashboard_selectors as dash
from assessments import network as networks
from assessments.choices import COMPONENTS, Component, RunTrigger, score_labels
from assessments.filtersets import SCORE_ORDERING, PartnerScoreFilterSet
from assessments.forms import DashboardFilterForm, NetworkFilterForm, PartnerComparisonForm, RecomputeForm
from assessments.models import PartnerScore
from assessments.periods import PeriodError, Quarter
from assessments.services import assessment_run_request, scoring_model_active
from assessments.services.scoring import MULTILATERAL_MIN_PARTNERS
from core import page_cache
from core.paging import paginate, querystring_without
from engagements.choices import ParticipantRole
from engagements.models import may_read_restricted
from organizations import selectors as organization_selectors
from partners import selectors as partner_selectors

FRAGMENT_HEADER = "X-Fragment"
# A printed partner brief lists the most recent contributing engagements only; the page lists them all, a
# page of them at a time (a large partner has tens of thousands in its window: megabytes of HTML at once).
PRINTED_ENGAGEMENTS = 12
LISTED_ENGAGEMENTS = 100


def _wants_fragment(request) -> bool:
    return request.headers.get(FRAGMENT_HEADER) == "dashboard"


def _render(request, template: str, fragment: str, context: dict, status: int = 200, *, snapshot=None, around=None):
    """The whole page, or only its main content when the in-place script asks for it.

    The main content is rendered first, with a placeholder where its live part goes (the freshness line,
    see ``_live_part``); with ``snapshot`` (``page_cache.Snapshot``) it is kept in the cache with a
    placeholder for the CSRF token too, beside ``around``: what the page around it and the live part need."""
    around = around or {}
    context = {**context, "live_part": mark_safe(page_cache.LIVE_PLACEHOLDER)}  # noqa: S308 (a constant)
    if snapshot is not None:
        context["csrf_token"] = page_cache.CSRF_PLACEHOLDER
    main = render_to_string(fragment, context, request=request)
    if snapshot is not None:
        if status == 200:
            snapshot.store(main, around)
        else:
            snapshot.release()
    return _page(request, template, main, {**context, **around}, status=status)


def _page(request, template: str, main: str, context: dict, status: int = 200):
    live = _live_part(request, context) if page_cache.LIVE_PLACEHOLDER in main else ""
    main = mark_safe(page_cache.with_request_parts(request, main, live))  # noqa: S308 (our own rendered templates)
    if _wants_fragment(request):
        response = HttpResponse(main, status=status)
    else:
        context = {**context, "main_html": main}
        context.pop("csrf_token", None)
        response = render(request, template, context, status=status)
    patch_vary_headers(response, [FRAGMENT_HEADER])
    return response


def _live_part(request, shell: dict) -> str:
    """The freshness line, read and rendered for each request: what waits to be scored changes with every
    save, so it is never part of a cached page (``freshness``, the scores' part of it, is)."""
    pending = shell.get("live_pending") or dash.freshness_pending(
        user=request.user, partner_ids=shell.get("pending_partner_ids")
    )
    context = {
        "freshness": dash.freshness_merge(shell["freshness"], pending),
        "can_run": _can_run(request.user),
        "recompute_period": shell.get("recompute_period"),
        "recompute_partner": shell.get("recompute_partner"),
        # What it reads of the request, given directly: the context processors (the header's role and
        # inbox) ran for the page around it already.
        "request": request,
        "csrf_token": get_token(request),
    }
    return get_template("assessments/_freshness.html").render(context)


def _model_and_pending(request, partner_ids: list[int] | None = None):
    """The active scoring model (the page's key needs it) and the freshness line's pending part for this
    request, read together in one query (``dash.freshness_pending``); the second is passed to ``_page`` in
    the context, never kept in the cache."""
    pending = dash.freshness_pending(user=request.user, partner_ids=partner_ids)
    return pending["active_model"], {"live_pending": pending}


def _snapshot(request, kind: str, model, *, tags) -> page_cache.Snapshot | None:
    """This page's cached copy (None: not cached): exports and anything but a plain GET are computed each
    time; the scoring model and the current quarter (the default period) are in the key. ``tags``: what
    the page may depend on besides scores and reference data (core/page_cache.py)."""
    if exports.requested_table(request):
        return None
    return page_cache.snapshot_open(
        request,
        kind,
        tags=[page_cache.SCORES, page_cache.DATA, *tags],
        extra=(model.pk, model.version, str(Quarter.current())),
        may_lag=may_read_restricted(request.user),
    )


def _cached(request, template: str, snapshot: page_cache.Snapshot | None, context: dict):
    """The page from its cached main content, or None when this request must render it."""
    if snapshot is None or snapshot.entry is None:
        return None
    main, shell = snapshot.entry
    return _page(request, template, main, {**context, **shell})


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
    model, live = _model_and_pending(request)
    snapshot = _snapshot(request, "overview", model, tags=[page_cache.ENGAGEMENTS])
    page = _cached(request, "assessments/overview.html", snapshot, {"section": "scores", **live})
    if page is not None:
        return page
    periods = selectors.score_periods(scoring_model=model)
    form = DashboardFilterForm.with_reference_choices(request.GET or None)
    context = {
        "form": form,
        "periods": periods,
        "can_run": _can_run(request.user),
        "can_acknowledge": request.user.has_perm("assessments.acknowledge_alert"),
        "components": Component.choices,
        "section": "scores",
        **live,
    }
    if form.is_bound and not form.is_valid():
        context["invalid"] = True
        return _render(
            request,
            "assessments/overview.html",
            "assessments/_overview_main.html",
            context,
            status=400,
            snapshot=snapshot,
        )
    filters = form.cleaned_data if form.is_bound else {}
    quarter = filters.get("period") or (periods[0] if periods else Quarter.current())
    scope = dash.Scope(**{name: filters.get(name, "") for name in dash.SCOPE_FIELDS})
    # The scores table: the shared filterset, given the cleaned filters (plus partner and ordering).
    params = request.GET.copy()
    params["period"] = str(quarter)
    params.setdefault("ordering", "-overall")
    filterset = PartnerScoreFilterSet(params, queryset=selectors.score_list(scoring_model=model))
    scores = filterset.qs if filterset.is_valid() else selectors.score_list(scoring_model=model).none()
    data = dash.overview_data(user=request.user, scope=scope, quarter=quarter, periods=periods, model=model)
    table = exports.requested_table(request)
    if table:
        return exports.overview_csv(table, quarter=quarter, scores=scores, data=data)
    activity = data["activity"]
    quarter_scores = list(dash.quarter_scores(scope=scope, quarter=quarter, model=model))
    map_partners = dash.scope_partners(scope=scope, quarter=quarter)
    context.update(
        data,
        quarter=quarter,
        previous_quarter=quarter.shift(-1),
        next_quarter=quarter.shift(1) if periods and quarter.shift(1) <= periods[0] else None,
        scope=scope,
        tiles=dash.overview_tiles(user=request.user, scope=scope, quarter=quarter, data=data),
        # "All alerts" opens the workspace on the overview's scope (every quarter: the panel shows earlier ones too).
        alert_filters=[(name, filters[name]) for name in dash.SCOPE_FIELDS if filters.get(name)],
        quarter_scores=quarter_scores,
        map_partners=map_partners,
        map_unscored=[p for p in map_partners if p.pk not in {s.partner_id for s in quarter_scores}],
        map_zoom=not scope.is_everything,
        trend_chart=charts.trend_chart(data["trend"], [("overall", _("Mean overall score"))], full_scale=False),
        activity_rows=(
            list(zip(activity["quarters"], *[s["counts"] for s in activity["series"]], activity["totals"], strict=True))
            if activity["quarters"]
            else []
        ),
        activity_chart=charts.activity_chart(activity),
        alerts=list(data["alerts"][: dash.ALERTS_SHOWN]),
        filterset=filterset,
        page=paginate(request, scores, default_size=50),
        ordering=params.get("ordering"),
        sortable=[name for _field, name in SCORE_ORDERING],
        querystring=querystring_without(request, "page", "export", "table"),
        sort_querystring=querystring_without(request, "page", "ordering", "export", "table"),
        freshness=dash.freshness_of_scores(dash.quarter_scores(scope=scope, quarter=quarter, model=model), model),
        network_url=networks.network_url(scope, last=quarter),
    )
    if snapshot is not None:
        # Counts of quarters no run has counted are read from today's engagements.
        snapshot.depends = {page_cache.SCORES, page_cache.DATA} | (
            {page_cache.ENGAGEMENTS} if activity["live"] else set()
        )
    return _render(
        request,
        "assessments/overview.html",
        "assessments/_overview_main.html",
        context,
        snapshot=snapshot,
        around={"quarter": quarter, "freshness": context["freshness"], "recompute_period": quarter},
    )


# --- a partner's assessment ---------------------------------------------------------------------------------


def partner_scores(request, iso3: str):
    """A partner's assessment: trends, the latest components against the region's mean, the explanation
    of one quarter (the latest by default), objectives with indicator progress, memberships on that day."""
    partner = partner_selectors.partner_get(iso3=iso3)
    if partner is None:
        raise Http404(_("No partner nation with the code %(code)s.") % {"code": iso3})
    model, live = _model_and_pending(request, [partner.pk])
    # Its contributing engagements and its figures from today's data are read live: its engagements count.
    partner_tag = page_cache.partner_tag(partner.pk)
    snapshot = _snapshot(request, "partner", model, tags=[partner_tag])
    page = _cached(request, "assessments/partner.html", snapshot, {"partner": partner, "section": "scores", **live})
    if page is not None:
        return page
    trend = dash.partner_trend(partner=partner, model=model)
    quarter, period_error = _quarter_from(request, trend[-1].quarter if trend else Quarter.current())
    data = dash.partner_assessment(partner=partner, quarter=quarter, trend=trend, user=request.user, model=model)
    table = exports.requested_table(request)
    if table and not period_error:
        return exports.partner_csv(table, partner=partner, quarter=quarter, data=data)
    explanation = data["explanation"]
    trend_rows = [{"quarter": s.quarter, **{n: getattr(s, n) for n in exports.SCORE_COLUMNS}} for s in trend]
    contributions = paginate(request, explanation["engagements"], default_size=LISTED_ENGAGEMENTS)
    context = {
        **data,
        "partner": partner,
        "quarter": quarter,
        "period_error": period_error,
        "components": Component.choices,
        "trend_chart": charts.trend_chart(trend_rows, [("overall", _("Overall"))]),
        "component_charts": charts.component_multiples(trend_rows),
        "comparison_chart": charts.comparison_chart(
            data["comparison"], partner_name=partner.name, region=partner.region
        ),
        "memberships": organization_selectors.organizations_of(partner=partner, on=quarter.end),
        "window_first": quarter.shift(1 - model.lookback_quarters).start,
        "unserved_objectives": selectors.objectives_without_engagement(
            partner=partner,
            first_day=quarter.shift(1 - model.lookback_quarters).start,
            last_day=quarter.end,
            user=request.user,
        ),
        "freshness": dash.freshness_of_scores(PartnerScore.objects.filter(partner=partner, scoring_model=model), model),
        "can_run": _can_run(request.user),
        "section": "scores",
        "print_engagements": PRINTED_ENGAGEMENTS,
        "multilateral_min_partners": MULTILATERAL_MIN_PARTNERS,
        "history_rows": tables.history_rows(data["history"], quarter=quarter, request=request),
        "restricted_lines": exports.restricted_lines(explanation),
        "contribution_rows": tables.contribution_rows(
            contributions.object_list, role_labels=dict(ParticipantRole.choices), print_limit=PRINTED_ENGAGEMENTS
        ),
        "page": contributions,
        "querystring": querystring_without(request, "page", "export", "table"),
        **live,
    }
    status = 400 if period_error else 200
    if snapshot is not None:
        snapshot.depends = {page_cache.SCORES, page_cache.DATA, partner_tag}
    around = {
        "freshness": context["freshness"],
        "recompute_period": quarter,
        "recompute_partner": partner.iso3,
        "pending_partner_ids": [partner.pk],
    }
    return _render(
        request,
        "assessments/partner.html",
        "assessments/_partner_main.html",
        context,
        status=status,
        snapshot=snapshot,
        around=around,
    )


# --- partners compared -------------------------------------------------------------------------------------


def compare(request):
    """Two to six partners side by side for a quarter: components, overall trends, shared engagements.

    Without ``partners`` the page only shows the form, filled from ``with`` (the partner page's "Compare
    with..." link) and ``period``; with it, bad input is a message beside the field and a 400."""
    model = scoring_model_active()
    bound = "partners" in request.GET
    form = PartnerComparisonForm(
        request.GET if bound else None,
        initial={"partners": request.GET.get("with", ""), "period": request.GET.get("period", "")},
    )
    context = {"form": form, "section": "scores", "periods": selectors.score_periods(scoring_model=model)}
    if not bound:
        return render(request, "assessments/compare.html", context)
    if not form.is_valid():
        return render(request, "assessments/compare.html", context, status=400)
    comparison = dash.partner_comparison(
        user=request.user, partners=form.cleaned_data["chosen"], quarter=form.cleaned_data["quarter"], model=model
    )
    rows = dash.comparison_rows(comparison)
    table = exports.requested_table(request)
    if table:
        return exports.comparison_csv(table, comparison=comparison, component_rows=rows)
    partners = [row["partner"] for row in comparison["partners"]]
    context.update(
        comparison=comparison,
        quarter=comparison["quarter"],
        partners=partners,
        component_rows=rows,
        components_chart=charts.partners_components_chart([r for r in rows if r["kind"] == "score"], partners),
        trend_chart=charts.partners_trend_chart(comparison),
    )
    return render(request, "assessments/compare.html", context)


# --- the cooperation network ------------------------------------------------------------------------------


def network(request):
    """Who trains with whom in a region or organization over a window of quarters: a graph, the same data
    as tables, and CSV. Without a scope the page only shows the form; bad input is a message beside the
    field and a 400."""
    bound = any(name in request.GET for name in (*networks.SCOPE_PARAMETERS, "from", "to"))
    form = NetworkFilterForm(request.GET if bound else None)
    context = {"form": form, "section": "scores", "network": None}
    if not bound:
        return render(request, "assessments/network.html", context)
    if not form.is_valid():
        return render(request, "assessments/network.html", context, status=400)
    found = networks.cooperation_network(user=request.user, request=form.cleaned_data["request"])
    table = exports.requested_table(request)
    if table:
        return exports.network_csv(table, network=found)
    context.update(network=found, graph=networks.network_graph(found), pair_rows=tables.network_pair_rows(found))
    return render(request, "assessments/network.html", context)


# --- organizations and regions ------------------------------------------------------------------------------

MEMBER_SORTS = {"partner": "partner__name", "delta_overall": "delta_overall", "engagement_count": "engagement_count"}
MEMBER_SORTS.update({name: name for name in exports.SCORE_COLUMNS})


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
    model, live = _model_and_pending(request)
    snapshot = _snapshot(request, "group", model, tags=[])
    page = _cached(request, "assessments/group.html", snapshot, {"title": title, "section": "scores", **live})
    if page is not None:
        return page
    periods = selectors.score_periods(scoring_model=model)
    quarter, period_error = _quarter_from(request, periods[0] if periods else Quarter.current())
    scores, sort = _sorted_members(
        dash.quarter_scores(scope=scope, quarter=quarter, model=model), request.GET.get("sort", "-overall")
    )
    trend = dash.score_trend(scope=scope, last=quarter, model=model)
    table = exports.requested_table(request)
    if table and not period_error:
        if table == "trend":
            return exports.trend_csv(trend, filename=f"{filename}-trend-to-{quarter}.csv")
        return exports.scores_csv(scores, filename=f"{filename}-{quarter}.csv")
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
            *[(name, label, True) for name, label in score_labels()],
            ("delta_overall", _("Change"), True),
            ("engagement_count", _("Engagements"), True),
        ],
        "trend": trend,
        "trend_chart": charts.trend_chart(trend, [("overall", _("Mean overall score"))]),
        "component_charts": charts.component_multiples(trend),
        "components": Component.choices,
        "freshness": dash.freshness_of_scores(dash.quarter_scores(scope=scope, quarter=quarter, model=model), model),
        "can_run": _can_run(request.user),
        "querystring": querystring_without(request, "export", "table"),
        "sort_querystring": querystring_without(request, "sort", "export", "table"),
        "section": "scores",
        "network_url": networks.network_url(scope, last=quarter),
        **(extra or {}),
        **live,
    }
    status = 400 if period_error else 200
    if snapshot is not None:
        snapshot.depends = {page_cache.SCORES, page_cache.DATA}
    around = {"freshness": context["freshness"], "recompute_period": quarter}
    return _render(
        request,
        "assessments/group.html",
        "assessments/_group_main.html",
        context,
        status=status,
        snapshot=snapshot,
        around=around,
    )


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
        "multilateral_min_partners": MULTILATERAL_MIN_PARTNERS,
        "confidence": dash.confidence_rules(),
        "current_quarter": Quarter.current(),
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
        # A run fanned out across the workers: its quarters done so far (zero for a run in one piece).
        "parts": run.parts_total,
        "parts_succeeded": run.parts_succeeded,
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
