"""What-if scoring models: analysts draft and preview, administrators activate (assessments.rules says who)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from assessments import dashboard_selectors as dash
from assessments import whatif_selectors as whatif
from assessments.choices import Component, RunStatus
from assessments.forms import ScoringModelDraftForm
from assessments.rules import may_activate_scoring_models, may_draft_scoring_models
from assessments.services import whatif as services
from assessments.views import _apply_service_errors


def _drafters_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not may_draft_scoring_models(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _draft_or_404(pk):
    draft = whatif.draft_get(pk=pk)
    if draft is None:
        raise Http404(_("No such draft scoring model."))
    return draft


@require_http_methods(["GET"])
@_drafters_only
def scoring_model_list(request):
    """The drafts and the versions (the history: every version keeps its scores)."""
    context = {
        "drafts": list(whatif.draft_list()),
        "versions": list(dash.scoring_models()),
        "recomputing": whatif.scoring_model_recomputing(),
        "can_activate": may_activate_scoring_models(request.user),
        "run_statuses": dict(RunStatus.choices),
    }
    return render(request, "assessments/scoring_model_list.html", context)


def _form_page(request, *, form, title, save, cancel_url):
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                draft = save(form.draft_data())
            except ValidationError as exc:
                _apply_service_errors(form, exc)
            else:
                messages.success(request, _("Draft saved."))
                return redirect("assessments:scoring-model", pk=draft.pk)
        status = 400
    return render(
        request,
        "assessments/scoring_model_form.html",
        {"form": form, "title": title, "cancel_url": cancel_url},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@_drafters_only
def scoring_model_create(request):
    initial = ScoringModelDraftForm.initial_from(services.scoring_model_draft_initial())
    form = ScoringModelDraftForm(request.POST or None, initial=initial)
    return _form_page(
        request,
        form=form,
        title=_("New draft scoring model"),
        save=lambda data: services.scoring_model_draft_create(user=request.user, **data),
        cancel_url=reverse("assessments:scoring-models"),
    )


@require_http_methods(["GET", "POST"])
@_drafters_only
def scoring_model_edit(request, pk: int):
    draft = _draft_or_404(pk)
    initial = ScoringModelDraftForm.initial_from(draft.parameters, name=draft.name, description=draft.description)
    form = ScoringModelDraftForm(request.POST or None, initial=initial)
    return _form_page(
        request,
        form=form,
        title=_("Edit draft “%(name)s”") % {"name": draft.name},
        save=lambda data: services.scoring_model_draft_update(draft=draft, user=request.user, **data),
        cancel_url=reverse("assessments:scoring-model", args=[draft.pk]),
    )


@require_http_methods(["GET", "POST"])
@_drafters_only
def scoring_model_delete(request, pk: int):
    draft = _draft_or_404(pk)
    if request.method == "POST":
        try:
            services.scoring_model_draft_delete(draft=draft, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("assessments:scoring-model", pk=draft.pk)
        messages.success(request, _("Draft deleted."))
        return redirect("assessments:scoring-models")
    return render(
        request,
        "assessments/scoring_model_confirm.html",
        {
            "draft": draft,
            "title": _("Delete the draft “%(name)s” and its previews?") % {"name": draft.name},
            "explanation": _("The real scores are not affected."),
            "button": _("Delete"),
            "danger": True,
        },
    )


@require_http_methods(["GET"])
@_drafters_only
def scoring_model_detail(request, pk: int):
    """The draft, its latest preview's status (refreshed while it runs) and the latest result."""
    draft = _draft_or_404(pk)
    latest = whatif.preview_latest(draft=draft)
    shown = latest if latest and latest.status == RunStatus.SUCCEEDED else whatif.preview_latest_succeeded(draft=draft)
    context = {
        "draft": draft,
        "latest": latest,
        "shown": shown,
        "summary": whatif.preview_summary(preview=shown) if shown else None,
        "outdated": bool(shown and shown.parameters != draft.parameters),
        "weights": [(label, draft.weights.get(name)) for name, label in Component.choices],
        "can_activate": may_activate_scoring_models(request.user) and draft.is_editable,
        "recomputing": whatif.scoring_model_recomputing(),
    }
    return render(request, "assessments/scoring_model_detail.html", context)


@require_POST
@_drafters_only
def scoring_model_preview(request, pk: int):
    draft = _draft_or_404(pk)
    try:
        services.scoring_preview_request(draft=draft, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Preview requested: the last finished quarter is scored with this draft."))
    return redirect("assessments:scoring-model", pk=draft.pk)


@require_http_methods(["GET", "POST"])
def scoring_model_activate(request, pk: int):
    """Admins only; GET asks for confirmation, POST activates."""
    if not may_activate_scoring_models(request.user):
        raise PermissionDenied
    draft = _draft_or_404(pk)
    if request.method == "POST":
        try:
            draft = services.scoring_model_draft_activate(draft=draft, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _(
                    "Version %(version)s is being computed in the background; the pages show the current scores "
                    "until it is done."
                )
                % {"version": draft.scoring_model.version},
            )
        return redirect("assessments:scoring-model", pk=draft.pk)
    return render(
        request,
        "assessments/scoring_model_confirm.html",
        {
            "draft": draft,
            "title": _("Activate the draft “%(name)s” as the next scoring-model version?") % {"name": draft.name},
            "explanation": _(
                "Its scores for the look-back window (%(quarters)s quarters up to the current one) are computed in "
                "the background. Until that is done the pages keep showing the current version's scores, marked; "
                "then they switch. The current version and its scores stay in the history."
            )
            % {"quarters": draft.lookback_quarters},
            "button": _("Activate"),
            "danger": False,
        },
    )
