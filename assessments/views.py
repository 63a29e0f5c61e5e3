"""Analyst pages: alerts, runs, objectives, indicators and measurements (the score dashboards are in
``dashboard_views``). Views are thin: selectors read, services write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from assessments import dashboard_selectors as dash
from assessments import selectors, services
from assessments.choices import LineOfEffort, ObjectiveStatus, RunTrigger
from assessments.filtersets import ObjectiveFilterSet
from assessments.forms import (
    AlertAcknowledgeForm,
    AlertBulkAcknowledgeForm,
    AlertFilterForm,
    IndicatorForm,
    MeasurementForm,
    ObjectiveForm,
    RunRequestForm,
)
from assessments.models import Indicator, Measurement
from core.exports import csv_response, wants_csv
from core.paging import paginate, querystring_without
from partners import selectors as partner_selectors


def _apply_service_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --- scores -------------------------------------------------------------------------------------------------


@require_POST
@permission_required("assessments.acknowledge_alert", raise_exception=True)
def alert_acknowledge(request, pk: int):
    alert = selectors.alert_get(alert_id=pk)
    if alert is None:
        raise Http404(_("No such alert."))
    form = AlertAcknowledgeForm(request.POST)
    if form.is_valid():
        services.alert_acknowledge(alert=alert, user=request.user, note=form.cleaned_data["note"])
        messages.success(request, _("Alert acknowledged."))
    else:
        messages.error(request, _("The note is too long (at most 500 characters)."))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        return redirect(back)
    return redirect(f"{reverse('assessments:overview')}?period={alert.period_label}#alerts")


ALERT_FILTER_FIELDS = ("period", "region", "subregion", "intermediate_region", "organization", "acknowledged")


@require_http_methods(["GET", "POST"])
def alert_list(request):
    """The alerts workspace: every alert of the active scoring model with the overview's filters, paginated;
    analysts and admins acknowledge the ticked ones with one note (POST, then back to the same filters)."""
    can_acknowledge = request.user.has_perm("assessments.acknowledge_alert")
    if request.method == "POST" and not can_acknowledge:
        raise PermissionDenied
    model = services.scoring_model_active()
    form = AlertFilterForm.with_reference_choices(request.GET or None)
    context = {
        "form": form,
        "periods": selectors.score_periods(scoring_model=model),
        "can_acknowledge": can_acknowledge,
        "section": "alerts",
    }
    if form.is_bound and not form.is_valid():
        return render(request, "assessments/alert_list.html", {**context, "invalid": True}, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    scope = dash.Scope(**{name: filters.get(name, "") for name in dash.SCOPE_FIELDS})
    acknowledged = {"yes": True, "no": False}.get(filters.get("acknowledged") or "")
    rows = dash.alert_workspace(scope=scope, quarter=filters.get("period"), acknowledged=acknowledged, model=model)
    status = 200
    acknowledge_form = AlertBulkAcknowledgeForm(
        request.POST if request.method == "POST" else None, alerts=selectors.alert_list(scoring_model=model)
    )
    if request.method == "POST":
        if acknowledge_form.is_valid():
            try:
                done = services.alerts_acknowledge(
                    alert_ids=[a.pk for a in acknowledge_form.cleaned_data["alerts"]],
                    user=request.user,
                    note=acknowledge_form.cleaned_data["note"],
                )
            except ValidationError as exc:
                _apply_service_errors(acknowledge_form, exc)
            else:
                messages.success(
                    request,
                    ngettext("%(count)d alert acknowledged.", "%(count)d alerts acknowledged.", done) % {"count": done},
                )
                return redirect(request.get_full_path())
        status = 400
    context.update(
        page=paginate(request, rows),
        querystring=querystring_without(request, "page"),
        acknowledge_form=acknowledge_form,
        ticked={str(pk) for pk in request.POST.getlist("alerts")} if request.method == "POST" else set(),
    )
    return render(request, "assessments/alert_list.html", context, status=status)


# --- runs ---------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def run_list(request):
    form = RunRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("assessments.add_assessmentrun"):
            raise PermissionDenied
        if form.is_valid():
            try:
                run = services.assessment_run_request(
                    trigger=RunTrigger.MANUAL, periods=form.periods(), requested_by=request.user
                )
            except ValidationError as exc:
                _apply_service_errors(form, exc)
            else:
                messages.success(request, _("Run started for %(periods)s.") % {"periods": ", ".join(run.periods)})
                return redirect("assessments:run", run_id=run.pk)
        status = 400
    runs = selectors.run_list()
    context = {
        "form": form,
        "page": paginate(request, runs),
        "querystring": querystring_without(request, "page"),
        "can_run": request.user.has_perm("assessments.add_assessmentrun"),
    }
    return render(request, "assessments/run_list.html", context, status=status)


def run_detail(request, run_id):
    run = selectors.run_get(run_id=run_id)
    if run is None:
        raise Http404(_("No such run."))
    parts = selectors.run_parts(run) if run.parts_total else []
    return render(request, "assessments/run_detail.html", {"run": run, "parts": parts})


# --- objectives, indicators, measurements -------------------------------------------------------------------


def objective_list(request):
    filterset = ObjectiveFilterSet(request.GET, queryset=selectors.objective_list())
    objectives = filterset.qs if filterset.is_valid() else selectors.objective_list().none()
    if wants_csv(request):
        header = ["id", "partner", "line_of_effort", "title", "status", "target_date", "indicators", "progress"]
        rows = (
            [o.pk, o.partner.iso3, o.line_of_effort, o.title, o.status, o.target_date, o.indicator_count, o.progress]
            for o in objectives
        )
        return csv_response(filename="objectives.csv", header=header, rows=rows)
    context = {
        "filterset": filterset,
        "page": paginate(request, objectives),
        "querystring": querystring_without(request, "page"),
        "lines_of_effort": LineOfEffort.choices,
        "statuses": ObjectiveStatus.choices,
        "regions": partner_selectors.region_choices(),
        "can_edit": request.user.has_perm("assessments.add_objective"),
    }
    return render(request, "assessments/objective_list.html", context)


def objective_detail(request, pk: int):
    objective = selectors.objective_get(pk=pk)
    if objective is None:
        raise Http404(_("No such objective."))
    context = {
        "objective": objective,
        "indicators": selectors.indicator_list().filter(objective=objective),
        "served_by": selectors.objective_engagements(objective=objective, user=request.user),
        "can_edit": request.user.has_perm("assessments.change_objective"),
        "can_add_indicator": request.user.has_perm("assessments.add_indicator"),
        "can_delete": request.user.has_perm("assessments.delete_objective"),
    }
    return render(request, "assessments/objective_detail.html", context)


def _form_page(request, *, form, title, save, success, cancel_url, status=200):
    if request.method == "POST" and form.is_valid():
        try:
            saved = save(form.cleaned_data)
        except ValidationError as exc:
            _apply_service_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect(saved.get_page_url() if hasattr(saved, "get_page_url") else cancel_url)
    if request.method == "POST":
        status = 400
    return render(
        request, "assessments/form.html", {"form": form, "title": title, "cancel_url": cancel_url}, status=status
    )


@require_http_methods(["GET", "POST"])
@permission_required("assessments.add_objective", raise_exception=True)
def objective_create(request):
    form = ObjectiveForm(request.POST or None, initial={"partner": request.GET.get("partner", "")})
    return _form_page(
        request,
        form=form,
        title=_("New objective"),
        save=lambda data: _with_url(services.objective_create(created_by=request.user, **data)),
        success=_("Objective saved."),
        cancel_url=reverse("assessments:objectives"),
    )


@require_http_methods(["GET", "POST"])
@permission_required("assessments.change_objective", raise_exception=True)
def objective_update(request, pk: int):
    objective = selectors.objective_get(pk=pk)
    if objective is None:
        raise Http404(_("No such objective."))
    form = ObjectiveForm(request.POST or None, instance=objective)
    return _form_page(
        request,
        form=form,
        title=_("Edit objective"),
        save=lambda data: _with_url(services.objective_update(objective=objective, user=request.user, **data)),
        success=_("Objective saved."),
        cancel_url=reverse("assessments:objective", args=[objective.pk]),
    )


def _with_url(instance):
    names = {"objective": "assessments:objective", "indicator": "assessments:indicator"}
    if instance._meta.model_name in names:
        url = reverse(names[instance._meta.model_name], args=[instance.pk])
    else:
        url = reverse("assessments:indicator", args=[instance.indicator_id])
    instance.get_page_url = lambda: url
    return instance


def _delete_page(request, *, instance, title, delete, success, next_url, cancel_url):
    if request.method == "POST":
        delete()
        messages.success(request, success)
        return redirect(next_url)
    return render(
        request, "assessments/confirm_delete.html", {"object": instance, "title": title, "cancel_url": cancel_url}
    )


@require_http_methods(["GET", "POST"])
@permission_required("assessments.delete_objective", raise_exception=True)
def objective_delete(request, pk: int):
    objective = selectors.objective_get(pk=pk)
    if objective is None:
        raise Http404(_("No such objective."))
    return _delete_page(
        request,
        instance=objective,
        title=_("Delete objective “%(title)s” with its indicators and measurements?") % {"title": objective.title},
        delete=lambda: services.objective_delete(objective=objective, user=request.user),
        success=_("Objective deleted."),
        next_url=reverse("assessments:objectives"),
        cancel_url=reverse("assessments:objective", args=[objective.pk]),
    )


def indicator_detail(request, pk: int):
    indicator = selectors.indicator_get(pk=pk)
    if indicator is None:
        raise Http404(_("No such indicator."))
    context = {
        "indicator": indicator,
        "measurements": indicator.measurements.all(),
        "measurement_form": MeasurementForm(initial={"indicator": indicator.pk}),
        "can_edit": request.user.has_perm("assessments.change_indicator"),
        "can_delete": request.user.has_perm("assessments.delete_indicator"),
        "can_measure": request.user.has_perm("assessments.add_measurement"),
        "can_edit_measurement": request.user.has_perm("assessments.change_measurement"),
        "can_delete_measurement": request.user.has_perm("assessments.delete_measurement"),
    }
    return render(request, "assessments/indicator_detail.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("assessments.add_indicator", raise_exception=True)
def indicator_create(request):
    form = IndicatorForm(request.POST or None, initial={"objective": request.GET.get("objective")})
    objective_id = request.GET.get("objective", "")
    cancel = (
        reverse("assessments:objective", args=[objective_id])
        if objective_id.isdigit()
        else reverse("assessments:objectives")
    )
    return _form_page(
        request,
        form=form,
        title=_("New indicator"),
        save=lambda data: _with_url(services.indicator_create(user=request.user, **data)),
        success=_("Indicator saved."),
        cancel_url=cancel,
    )


@require_http_methods(["GET", "POST"])
@permission_required("assessments.change_indicator", raise_exception=True)
def indicator_update(request, pk: int):
    indicator = Indicator.objects.filter(pk=pk).first()
    if indicator is None:
        raise Http404(_("No such indicator."))
    form = IndicatorForm(request.POST or None, instance=indicator)
    return _form_page(
        request,
        form=form,
        title=_("Edit indicator"),
        save=lambda data: _with_url(services.indicator_update(indicator=indicator, user=request.user, **data)),
        success=_("Indicator saved."),
        cancel_url=reverse("assessments:indicator", args=[indicator.pk]),
    )


@require_http_methods(["GET", "POST"])
@permission_required("assessments.delete_indicator", raise_exception=True)
def indicator_delete(request, pk: int):
    indicator = Indicator.objects.select_related("objective").filter(pk=pk).first()
    if indicator is None:
        raise Http404(_("No such indicator."))
    return _delete_page(
        request,
        instance=indicator,
        title=_("Delete indicator “%(name)s” and its measurements?") % {"name": indicator.name},
        delete=lambda: services.indicator_delete(indicator=indicator, user=request.user),
        success=_("Indicator deleted."),
        next_url=reverse("assessments:objective", args=[indicator.objective_id]),
        cancel_url=reverse("assessments:indicator", args=[indicator.pk]),
    )


@require_http_methods(["GET", "POST"])
@permission_required("assessments.add_measurement", raise_exception=True)
def measurement_create(request):
    form = MeasurementForm(request.POST or None, initial={"indicator": request.GET.get("indicator")})
    indicator_id = request.POST.get("indicator") or request.GET.get("indicator") or ""
    cancel = (
        reverse("assessments:indicator", args=[indicator_id])
        if str(indicator_id).isdigit()
        else reverse("assessments:objectives")
    )
    return _form_page(
        request,
        form=form,
        title=_("New measurement"),
        save=lambda data: _with_url(services.measurement_create(recorded_by=request.user, **data)),
        success=_("Measurement saved."),
        cancel_url=cancel,
    )


@require_http_methods(["GET", "POST"])
@permission_required("assessments.change_measurement", raise_exception=True)
def measurement_update(request, pk: int):
    measurement = Measurement.objects.filter(pk=pk).first()
    if measurement is None:
        raise Http404(_("No such measurement."))
    form = MeasurementForm(request.POST or None, instance=measurement)
    return _form_page(
        request,
        form=form,
        title=_("Edit measurement"),
        save=lambda data: _with_url(services.measurement_update(measurement=measurement, user=request.user, **data)),
        success=_("Measurement saved."),
        cancel_url=reverse("assessments:indicator", args=[measurement.indicator_id]),
    )


@require_http_methods(["GET", "POST"])
@permission_required("assessments.delete_measurement", raise_exception=True)
def measurement_delete(request, pk: int):
    measurement = Measurement.objects.select_related("indicator__objective").filter(pk=pk).first()
    if measurement is None:
        raise Http404(_("No such measurement."))
    return _delete_page(
        request,
        instance=measurement,
        title=_("Delete the measurement of %(date)s (%(value)s)?")
        % {"date": date_format(measurement.date, "DATE_FORMAT"), "value": number_format(measurement.value)},
        delete=lambda: services.measurement_delete(measurement=measurement, user=request.user),
        success=_("Measurement deleted."),
        next_url=reverse("assessments:indicator", args=[measurement.indicator_id]),
        cancel_url=reverse("assessments:indicator", args=[measurement.indicator_id]),
    )
