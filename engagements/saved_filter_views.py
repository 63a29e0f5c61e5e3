"""Saved filters of the engagement list: save the current filters, apply one (a shareable link), delete one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from engagements import selectors, services
from engagements.forms import apply_service_errors
from engagements.models import SavedFilter


class SavedFilterForm(forms.Form):
    # Not required here: the service says so, beside the field, together with the filters' problems.
    name = forms.CharField(label=gettext_lazy("Name"), required=False)
    query = forms.CharField(
        label=gettext_lazy("Filters"),
        required=False,
        help_text=gettext_lazy("The list's parameters, as in its address (status=planned&q=flint)."),
        widget=forms.TextInput(attrs={"size": 60}),
    )
    shared = forms.BooleanField(label=gettext_lazy("Share with everybody"), required=False)


def _saved_filter_or_404(request, pk) -> SavedFilter:
    saved = selectors.saved_filter_get(user=request.user, pk=pk)
    if saved is None:
        raise Http404(_("No saved filter with this number, or not one shared with you."))
    return saved


def list_url(saved: SavedFilter) -> str:
    return f"{reverse('engagements:list')}?{saved.query}"


@require_http_methods(["GET", "POST"])
def saved_filter_create(request):
    """GET: the form, filled with ``?query=`` (the list's "Save" link); POST: save, then open the list."""
    if request.method == "GET":
        form = SavedFilterForm(initial={"query": request.GET.get("query", "")})
        return render(request, "engagements/saved_filter_form.html", {"form": form})
    form = SavedFilterForm(request.POST)
    if form.is_valid():
        try:
            saved = services.saved_filter_create(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(exc, form=form)
        else:
            messages.success(request, _("Saved filter “%(name)s” saved.") % {"name": saved.name})
            return redirect(list_url(saved))
    return render(request, "engagements/saved_filter_form.html", {"form": form}, status=400)


def saved_filter_apply(request, pk):
    """A saved filter's own address: the list with its filters (shareable; private ones only for the owner)."""
    return redirect(list_url(_saved_filter_or_404(request, pk)))


@require_POST
def saved_filter_delete(request, pk):
    saved = _saved_filter_or_404(request, pk)
    services.saved_filter_delete(saved_filter=saved, user=request.user)  # PermissionDenied: a 403
    messages.success(request, _("Saved filter “%(name)s” deleted.") % {"name": saved.name})
    return redirect("engagements:list")
