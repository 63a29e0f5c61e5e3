"""Engagement pages. Thin: reads come from selectors, writes go through services, forms only parse."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.context_processors import PermWrapper
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.utils import ErrorDict
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from core import page_cache
from core.exports import wants_csv
from core.filters import values_of
from core.models import Unit
from core.paging import paginate, querystring_without
from core.roles import role_of
from engagements import deconfliction, exchange, extensions, rules, selectors, services
from engagements.choices import Domain, EngagementType, Sensitivity, Status, ThreatFocus
from engagements.filtersets import VIEWS, EngagementFilterSet, never_cached
from engagements.forms import (
    AfterActionForm,
    ApprovalForm,
    DeleteForm,
    EngagementForm,
    OwnerChoices,
    ReferenceChoices,
    StatusForm,
    apply_service_errors,
    participant_formset,
)
from engagements.models import ExerciseSeries, may_read_restricted

ADD = "engagements.add_engagement"
CHANGE = "engagements.change_engagement"
DELETE = "engagements.delete_engagement"
ADD_AAR = "engagements.add_afteractionreport"
CHANGE_AAR = "engagements.change_afteractionreport"
# The list's cached filter form and results (core/page_cache.list_snapshot): the number changes with them.
LIST_CACHE_KIND = "engagements:2"


def _require(request, *permissions: str) -> None:
    if not all(request.user.has_perm(p) for p in permissions):
        raise PermissionDenied(_("Your role cannot change engagements."))


def _engagement_or_404(request, pk):
    engagement = selectors.engagement_get(user=request.user, pk=pk)
    if engagement is None:
        raise Http404(_("No engagement with this number, or not one you may see."))
    return engagement


def _require_scope(request, engagement) -> None:
    """The unit scope (engagements.rules): a planner writes the engagements of their units and those below."""
    refusal = rules.unit_write_refusal(request.user, engagement.owner_unit_id)
    if refusal:
        raise PermissionDenied(refusal)


def _show_warnings(request, warnings: list[dict]) -> None:
    """After a save: one line pointing at the findings panel of the page the planner lands on (the findings
    themselves are listed once, there)."""
    if warnings:
        messages.warning(
            request,
            ngettext(
                "%(n)s possible conflict: see the findings below.",
                "%(n)s possible conflicts: see the findings below.",
                len(warnings),
            )
            % {"n": len(warnings)},
        )


# --- list and CSV ---------------------------------------------------------------------------------------


# The filters whose errors the list page shows beside their own field; the others' (the hidden ordering) go
# above the form, under the filter's name.
_FILTERS_SHOWN = {
    "q",
    "view",
    "engagement_type",
    "status",
    "domain",
    "sensitivity",
    "partner",
    "host_country",
    "organization",
    "series",
    "start_after",
    "start_before",
    "end_after",
    "aar_overdue",
    "owner_unit",
    "point_of_contact",
}


def engagement_list(request):
    # The filter form and results are kept in the cache (core/page_cache.py, "Lists"), but never an export's
    # nor a view that depends on who asks or when (filtersets.UNCACHED_VIEWS); the tags are read before any
    # data. A copy is kept only for a query that was understood (200), so a hit needs no filter set.
    snapshot = None
    if not wants_csv(request) and "export" not in request.GET and not never_cached(request.GET):
        snapshot = page_cache.list_snapshot(request, LIST_CACHE_KIND, may_lag=may_read_restricted(request.user))
        if snapshot is not None and snapshot.entry is not None:
            return _engagement_list_page(request, None, None, results=snapshot.entry[0])
    filterset = EngagementFilterSet(
        request.GET or None, queryset=selectors.engagement_list(user=request.user), request=request
    )
    if filterset.is_bound and not filterset.is_valid():
        # A value not understood is an error beside its field, never silently dropped (the list would say
        # "filtered" while showing more than asked): a 400, no rows and no export until it is corrected.
        if snapshot is not None:
            snapshot.release()
        return _engagement_list_page(request, filterset, filterset.queryset.none(), status=400)
    engagements = filterset.qs  # ordered with the id last (selector and filter), so pages never overlap
    # Exports are in the import format: an exported file can be edited and imported again.
    if wants_csv(request):
        return exchange.export_response(engagements, "csv")
    if request.GET.get("export") == "xlsx":
        try:
            return exchange.export_response(engagements, "xlsx")
        except exchange.ExportTooLarge as exc:
            messages.error(request, str(exc))
            return redirect(f"{request.path}?{querystring_without(request, 'export')}")
    return _engagement_list_page(request, filterset, engagements, snapshot=snapshot)


def filter_form_context(request, filterset, *, reset_url: str, keep: tuple[str, ...]) -> dict:
    """What the engagement filter form (``engagements/_filters.html``) shows: the choices, the values given,
    each filter's error, and the parameters of the page it sits on (``keep``) carried as hidden fields."""
    choices = ReferenceChoices.load()
    errors = filterset.form.errors if filterset.is_bound else {}
    return {
        "filterset": filterset,
        "filter_errors": errors,
        "other_filter_errors": [
            (filterset.form.fields[name].label or name, messages)
            for name, messages in errors.items()
            if name not in _FILTERS_SHOWN
        ],
        "filter_hidden": [(name, request.GET[name]) for name in keep if request.GET.get(name)],
        "filter_reset_url": reset_url,
        "types": EngagementType.choices,
        "statuses": Status.choices,
        "domains": Domain.choices,
        "sensitivities": Sensitivity.choices,
        "partners": choices.partners,
        "organizations": choices.organizations,
        "series": choices.series,
        "units": list(Unit.objects.order_by("code").values_list("code", "code")),
        "selected": {name: values_of(request.GET, name) for name in ("engagement_type", "status", "domain")},
    }


def _engagement_list_page(request, filterset, engagements, *, status=200, snapshot=None, results=None):
    """The list page. Its filter form and results (count, rows, pages: ``engagements/_list_results.html``)
    are ``results`` when the cache had them (then there is no ``filterset``: the query was understood when
    they were kept), else rendered from ``filterset`` and ``engagements`` and kept in ``snapshot``; what
    surrounds them (the views, the user's saved filters) is rendered for each request."""
    context = {"filter_errors": {}}
    if results is None:
        context = filter_form_context(
            request, filterset, reset_url=reverse("engagements:list"), keep=("view", "ordering", "page_size")
        )
    errors = context["filter_errors"]
    context |= {
        "querystring": querystring_without(request, "page"),
        "can_add": request.user.has_perm(ADD),
        "today": timezone.localdate(),
        "views": VIEWS,
        "current_view": request.GET.get("view", ""),
        "saved_filters": list(selectors.saved_filters_for(user=request.user)),
        "filtered": not errors
        and any(key not in ("page", "page_size", "ordering") and value for key, value in request.GET.items()),
    }
    if results is None:
        context["page"] = paginate(
            request,
            engagements,
            load=lambda ids: selectors.engagement_list(user=request.user).filter(pk__in=ids),
            exact_count_limit=settings.LIST_EXACT_COUNT_LIMIT,
        )
        # Without the context processors (they read the header's notifications again): the results need
        # only the request (its query string) and the permissions (the import button).
        results = get_template("engagements/_list_results.html").render(
            {**context, "request": request, "perms": PermWrapper(request.user)}
        )
        if snapshot is not None:
            snapshot.store(results)
    context["results_html"] = mark_safe(results)  # noqa: S308 (our own rendered template)
    return render(request, "engagements/engagement_list.html", context, status=status)


# --- detail ---------------------------------------------------------------------------------------------


def engagement_detail(request, pk):
    return _render_detail(request, _engagement_or_404(request, pk))


def _render_detail(request, engagement, *, dismissing=None, status=200):
    participants = list(engagement.participations.all())
    in_scope = rules.unit_write_refusal(request.user, engagement.owner_unit_id) is None
    can_change = request.user.has_perm(CHANGE) and in_scope
    report = selectors.after_action_of(engagement)
    approval_refusal = rules.approval_refusal(request.user, engagement)
    context = {
        "engagement": engagement,
        "participants": participants,
        "personnel_total": sum(p.personnel for p in participants),
        "organizations": list(engagement.organizations.all()),
        "report": report,
        **_findings_context(request, engagement),
        "dismissing": dismissing or {},
        "history": selectors.engagement_history(engagement=engagement),
        "status_moves": [
            (s, Status(s).label, rules.needs_reason(engagement.status, s))
            for s in _status_moves(request, engagement, has_report=report is not None)
        ]
        if can_change
        else [],
        "can_change": can_change and engagement.deleted_at is None,
        "can_delete": request.user.has_perm(DELETE) and in_scope,
        "can_report": request.user.has_perm(CHANGE_AAR if report else ADD_AAR)
        and in_scope
        and _accepts_report(engagement, report),
        "approvals": selectors.approvals_of(engagement=engagement),
        "can_request_approval": can_change and rules.approval_request_refusal(request.user, engagement) is None,
        "can_approve": approval_refusal is None,
        # An approver who may not decide on this planned engagement is told why (their own, another unit's).
        "approval_refusal": approval_refusal
        if rules.may_approve_role(request.user) and engagement.status == Status.PLANNED
        else None,
        "approval_form": ApprovalForm(initial={"version": engagement.version}),
        "threat_labels": [dict(ThreatFocus.choices).get(v, v) for v in engagement.threat_focus or []],
        "today": timezone.localdate(),
        "extension_panels": extensions.detail_panels(engagement=engagement, user=request.user),
    }
    return render(request, "engagements/engagement_detail.html", context, status=status)


@require_http_methods(["POST"])
def finding_dismiss(request, pk, other):
    """Dismiss the finding between this engagement and ``other``, with a note (who and when are recorded)."""
    _require(request, CHANGE)
    engagement = _engagement_or_404(request, pk)
    note = request.POST.get("note", "")
    try:
        services.finding_dismiss(engagement=engagement, other_id=other, note=note, user=request.user)
    except ValidationError as error:
        errors = error.message_dict
        if "engagement" in errors:
            raise Http404(errors["engagement"][0]) from error
        # The note's problem beside the note, on the page as it was.
        dismissing = {"other": other, "note": note, "errors": errors.get("note", [])}
        return _render_detail(request, engagement, dismissing=dismissing, status=400)
    messages.success(request, _("Finding dismissed. It will not be shown again for these two engagements."))
    return redirect("engagements:detail", pk=engagement.pk)


# --- create and edit ------------------------------------------------------------------------------------


def _findings_context(request, engagement) -> dict:
    """The detail page's findings panel (``deconfliction.engagement_review``)."""
    review = deconfliction.engagement_review(engagement, user=request.user)
    return {
        "warnings": review["findings"],
        "dismissed_findings": review["dismissed"],
        "can_dismiss": request.user.has_perm(CHANGE) and engagement.deleted_at is None,
    }


def _render_form(request, *, form, formset, engagement=None, checked=None, check_problem=""):
    return render(
        request,
        "engagements/engagement_form.html",
        {
            "form": form,
            "formset": formset,
            "engagement": engagement,
            "checked_warnings": checked,
            "check_problem": check_problem,
        },
    )


def _partial_check(request, *, form, formset, engagement=None):
    """The "Check for conflicts" button: dates and countries are enough (is Kenya free on these dates?), so
    it reads whatever fields are valid and ignores the others; the form comes back as it was, without
    errors, since nothing was meant to be saved."""
    form.is_valid()
    formset.is_valid()
    values = form.cleaned_data
    start, end = values.get("start_date"), values.get("end_date")
    host = values.get("host_country") or None
    partners = [f.cleaned_data.get("partner") for f in formset.forms if getattr(f, "cleaned_data", None)]
    partners = [code for code in partners if code]
    # Neither the form nor its rows show errors: the planner only asked a question.
    form._errors = ErrorDict()
    for row in formset.forms:
        row._errors = ErrorDict()
    formset._non_form_errors = formset.error_class()
    problem = ""
    checked = None
    if not (start and end):
        problem = _("Give the start and end dates to check for conflicts.")
    elif end < start:
        problem = _("The end date cannot be before the start date (%(start)s).") % {"start": start.isoformat()}
    elif host is None and not partners:
        problem = _("Give the host country or at least one participant to check for conflicts.")
    else:
        plan, _unknown = deconfliction.plan_from_codes(  # the form's choices hold known codes only
            start_date=start,
            end_date=end,
            host=host,
            partners=partners,
            title=values.get("title") or "",
            series=values.get("series") or None,
            engagement_id=engagement.pk if engagement else None,
        )
        dismissed = set(deconfliction.dismissed_pairs(engagement.pk)) if engagement else set()
        checked = [f.as_dict() for f in deconfliction.findings(plan, user=request.user, dismissed=dismissed)]
    return _render_form(
        request, form=form, formset=formset, engagement=engagement, checked=checked, check_problem=problem or None
    )


def _save_form(request, *, form, formset, check, save, engagement=None):
    """Parse, then ask the service: its check-only step when the form did not parse (so every problem shows
    at once) or when the planner asks for conflicts, else the save itself."""
    if "check" in request.POST:
        return _partial_check(request, form=form, formset=formset, engagement=engagement)
    parsed = all([form.is_valid(), formset.is_valid()])  # both, so every row is checked and shown
    values = {"participants": formset.service_rows(), **form.service_values()}
    try:
        if not parsed:
            check(values)
        else:
            result = save(values)
            messages.success(request, _("Engagement %(reference)s saved.") % {"reference": result.engagement.reference})
            _show_warnings(request, result.warnings)
            return redirect("engagements:detail", pk=result.engagement.pk)
    except services.StaleVersionError as error:
        form.add_error(None, error.message_dict.get("version", error.messages))
        form.stale = True
    except ValidationError as error:
        apply_service_errors(error, form=form, formset=formset, only_new=not parsed)
    return _render_form(request, form=form, formset=formset, engagement=engagement)


@require_http_methods(["GET", "POST"])
def engagement_create(request):
    _require(request, ADD)
    scope = rules.writable_unit_ids(request.user)
    if scope is not None and not scope:
        # A planner without a unit writes nothing: the page says why instead of offering a form.
        return render(request, "engagements/no_unit.html", {"message": rules.NO_UNIT()}, status=403)
    choices, owners = ReferenceChoices.load(), OwnerChoices.load(request.user)
    statuses = rules.creation_statuses(request.user)  # approved for admins only: approval is four-eyes
    if request.method == "GET":
        unit = rules.default_owner_unit(request.user)
        form = EngagementForm(
            choices=choices, owners=owners, status_choices=statuses, initial={"owner_unit": unit.code if unit else ""}
        )
        return _render_form(request, form=form, formset=participant_formset(choices=choices))
    return _save_form(
        request,
        form=EngagementForm(request.POST, choices=choices, owners=owners, status_choices=statuses),
        formset=participant_formset(request.POST, choices=choices),
        check=lambda values: services.engagement_create_clean(
            created_by=request.user, **services.with_owner_unit(request.user, values)
        ),
        save=lambda values: services.engagement_create(created_by=request.user, **values),
    )


def _status_moves(request, engagement, *, has_report: bool, with_reason: bool = True) -> list[str]:
    """The moves the status policy allows this user now."""
    return rules.status_moves(
        current=engagement.status,
        has_report=has_report,
        start_date=engagement.start_date,
        end_date=engagement.end_date,
        may_reopen=rules.may_reopen(role_of(request.user)),
        with_reason=with_reason,
    )


def _status_choices(request, engagement) -> list[str]:
    """The current status and the moves the status policy allows now without a reason: the edit form offers
    these only (cancelling and reopening go through the status page, which asks why)."""
    has_report = selectors.after_action_of(engagement) is not None
    return [engagement.status, *_status_moves(request, engagement, has_report=has_report, with_reason=False)]


@require_http_methods(["GET", "POST"])
def engagement_edit(request, pk):
    _require(request, CHANGE)
    engagement = _engagement_or_404(request, pk)
    _require_scope(request, engagement)
    choices, owners = ReferenceChoices.load(), OwnerChoices.load(request.user)
    if request.method == "GET":
        form = EngagementForm(
            initial=EngagementForm.initial_from(engagement),
            choices=choices,
            owners=owners,
            status_choices=_status_choices(request, engagement),
        )
        formset = participant_formset(choices=choices, engagement=engagement, extra=2)
        return _render_form(request, form=form, formset=formset, engagement=engagement)
    form = EngagementForm(
        request.POST, choices=choices, owners=owners, status_choices=_status_choices(request, engagement)
    )

    def save(values):
        version = form.cleaned_data.get("version")
        return services.engagement_update(
            engagement=engagement, updated_by=request.user, expected_version=version, **values
        )

    return _save_form(
        request,
        form=form,
        formset=participant_formset(request.POST, choices=choices, extra=2),
        check=lambda values: services.engagement_update_clean(engagement=engagement, **values),
        save=save,
        engagement=engagement,
    )


# --- status, after-action report, delete ----------------------------------------------------------------


def _render_status_form(request, engagement, form, wanted):
    context = {"engagement": engagement, "form": form, "wanted": wanted, "wanted_label": Status(wanted).label}
    return render(request, "engagements/engagement_status.html", context)


@require_http_methods(["GET", "POST"])
def engagement_status(request, pk):
    """A move; cancelling and reopening first show a form asking why (GET, or a POST without ``reason``)."""
    _require(request, CHANGE)
    engagement = _engagement_or_404(request, pk)
    _require_scope(request, engagement)
    form = StatusForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, _("Choose one of the statuses offered."))
        return redirect("engagements:detail", pk=engagement.pk)
    wanted = form.cleaned_data["status"]
    if rules.needs_reason(engagement.status, wanted) and (request.method == "GET" or "reason" not in request.POST):
        has_report = selectors.after_action_of(engagement) is not None
        if wanted in _status_moves(request, engagement, has_report=has_report):
            form = StatusForm(initial={"status": wanted, "version": engagement.version})
            return _render_status_form(request, engagement, form, wanted)
        if request.method == "GET":
            messages.error(request, _("This engagement cannot move to %(status)s.") % {"status": Status(wanted).label})
            return redirect("engagements:detail", pk=engagement.pk)
    if request.method == "GET":
        return redirect("engagements:detail", pk=engagement.pk)
    try:
        services.engagement_change_status(
            engagement=engagement,
            status=wanted,
            user=request.user,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason", ""),
        )
    except ValidationError as error:
        if hasattr(error, "error_dict") and "reason" in error.error_dict:
            apply_service_errors(error, form=form)
            return _render_status_form(request, engagement, form, wanted)
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("Status changed to %(status)s.") % {"status": Status(form.cleaned_data["status"]).label}
        )
    return redirect("engagements:detail", pk=engagement.pk)


def _accepts_report(engagement, report) -> bool:
    refusal = rules.report_refusal(status=engagement.status, start_date=engagement.start_date, new=report is None)
    return refusal is None


@require_http_methods(["GET", "POST"])
def engagement_after_action(request, pk):
    engagement = _engagement_or_404(request, pk)
    report = selectors.after_action_of(engagement)
    _require(request, CHANGE_AAR if report else ADD_AAR)
    _require_scope(request, engagement)
    if request.method == "GET":
        form = AfterActionForm(initial=AfterActionForm.initial_from(report))
    else:
        form = AfterActionForm(request.POST)
        if form.is_valid():
            try:
                services.after_action_submit(engagement=engagement, user=request.user, **form.service_values())
            except ValidationError as error:
                apply_service_errors(error, form=form)
            else:
                messages.success(request, _("After-action report saved."))
                return redirect("engagements:detail", pk=engagement.pk)
    context = {
        "engagement": engagement,
        "report": report,
        "form": form,
        "accepts_report": _accepts_report(engagement, report),
    }
    return render(request, "engagements/after_action_form.html", context)


@require_http_methods(["GET", "POST"])
def engagement_delete(request, pk):
    _require(request, DELETE)
    engagement = _engagement_or_404(request, pk)
    _require_scope(request, engagement)
    form = DeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.engagement_delete(engagement=engagement, user=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_service_errors(error, form=form)
        else:
            messages.success(
                request,
                _("Engagement %(reference)s deleted. It stays on record with your reason.")
                % {"reference": engagement.reference},
            )
            return redirect("engagements:list")
    return render(request, "engagements/engagement_delete.html", {"engagement": engagement, "form": form})


# --- four-eyes approval ---------------------------------------------------------------------------------


def _approval_step(request, pk, *, act, done: str):
    """POST only: run ``act(engagement, form)``; refusals come back as messages on the engagement's page."""
    engagement = _engagement_or_404(request, pk)
    form = ApprovalForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form could not be read; try again."))
        return redirect("engagements:detail", pk=engagement.pk)
    try:
        act(engagement, form.cleaned_data)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect("engagements:detail", pk=engagement.pk)


@require_http_methods(["POST"])
def engagement_request_approval(request, pk):
    _require(request, CHANGE)
    return _approval_step(
        request,
        pk,
        act=lambda engagement, data: services.approval_request(
            engagement=engagement, user=request.user, comment=data["comment"]
        ),
        done=_("Approval requested: the approvers of its unit are notified."),
    )


@require_http_methods(["POST"])
def engagement_approve(request, pk):
    return _approval_step(
        request,
        pk,
        act=lambda engagement, data: services.engagement_approve(
            engagement=engagement, user=request.user, comment=data["comment"], expected_version=data.get("version")
        ),
        done=_("Engagement approved."),
    )


@require_http_methods(["POST"])
def engagement_refuse(request, pk):
    return _approval_step(
        request,
        pk,
        act=lambda engagement, data: services.engagement_refuse(
            engagement=engagement, user=request.user, comment=data["comment"], expected_version=data.get("version")
        ),
        done=_("Approval refused; the planner is told why."),
    )


# --- exercise series ------------------------------------------------------------------------------------


def series_list(request):
    context = {"series_list": selectors.series_list(user=request.user).order_by("name")}
    return render(request, "engagements/series_list.html", context)


def series_detail(request, slug):
    series = get_object_or_404(ExerciseSeries.objects.select_related("lead_organization"), slug=slug)
    years = selectors.series_year_over_year(series=series, user=request.user)
    max_personnel = max((row["personnel"] for row in years), default=0) or 1
    for row in years:
        row["bar"] = round(row["personnel"] / max_personnel * 100, 1)
    context = {
        "series": series,
        "years": years,
        "iterations": selectors.series_iterations(series=series, user=request.user),
        "list_url": reverse("engagements:list") + "?" + urlencode({"series": series.slug}),
    }
    return render(request, "engagements/series_detail.html", context)
