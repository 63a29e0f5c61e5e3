"""Organisational units pages: the tree, one unit with its members and engagements, and (admins) the forms.

Writes go through ``core.services.unit_save``; counts of engagements are those the reader may see.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.models import Unit
from core.roles import ROLE_LABELS, role_of
from core.services import unit_save
from engagements import selectors

ADD_UNIT = "core.add_unit"
CHANGE_UNIT = "core.change_unit"


class UnitForm(forms.Form):
    """Parses only; the service checks (code unique, parent not below itself, members known)."""

    code = forms.CharField(label=gettext_lazy("Code"), max_length=40)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    parent = forms.ChoiceField(label=gettext_lazy("Parent unit"), required=False)
    members = forms.MultipleChoiceField(
        label=gettext_lazy("Members"), required=False, widget=forms.SelectMultiple(attrs={"size": 10})
    )

    def __init__(self, *args, unit=None, **kwargs):
        super().__init__(*args, **kwargs)
        units = Unit.objects.order_by("code").values_list("code", "name")
        self.fields["parent"].choices = [("", _("None (a command)"))] + [
            (code, f"{code} · {name}") for code, name in units if unit is None or code != unit.code
        ]
        users = get_user_model().objects.filter(is_active=True).order_by("username").values_list("username", flat=True)
        self.fields["members"].choices = [(name, name) for name in users]


def _unit_or_404(request, code):
    unit = selectors.unit_get(user=request.user, code=code)
    if unit is None:
        raise Http404(_("No unit with this code."))
    return unit


def unit_list(request):
    context = {"units": selectors.unit_tree(user=request.user), "can_add": request.user.has_perm(ADD_UNIT)}
    return render(request, "engagements/unit_list.html", context)


def unit_detail(request, code):
    unit = _unit_or_404(request, code)
    members = [{"user": member, "role": ROLE_LABELS.get(role_of(member), "—")} for member in unit.member_list]
    engagements_url = reverse("engagements:list") + "?" + urlencode({"owner_unit": unit.code})
    context = {
        "unit": unit,
        "members": members,
        "engagements_url": engagements_url,
        "engagements_below_url": engagements_url + "&sub_units=true",
        "can_change": request.user.has_perm(CHANGE_UNIT),
    }
    return render(request, "engagements/unit_detail.html", context)


def _save(request, *, form, unit=None):
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = unit_save(
                unit=unit, code=data["code"], name=data["name"], parent=data["parent"] or None, members=data["members"]
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, _("Unit %(code)s saved.") % {"code": saved.code})
            return redirect("units:detail", code=saved.code)
    return render(request, "engagements/unit_form.html", {"form": form, "unit": unit})


@require_http_methods(["GET", "POST"])
def unit_create(request):
    if not request.user.has_perm(ADD_UNIT):
        raise PermissionDenied(_("Only administrators create units."))
    if request.method == "GET":
        return render(request, "engagements/unit_form.html", {"form": UnitForm(), "unit": None})
    return _save(request, form=UnitForm(request.POST))


@require_http_methods(["GET", "POST"])
def unit_edit(request, code):
    if not request.user.has_perm(CHANGE_UNIT):
        raise PermissionDenied(_("Only administrators change units."))
    unit = Unit.objects.filter(code__iexact=code).select_related("parent").first()
    if unit is None:
        raise Http404(_("No unit with this code."))
    if request.method == "GET":
        initial = {
            "code": unit.code,
            "name": unit.name,
            "parent": unit.parent.code if unit.parent_id else "",
            "members": list(unit.members.values_list("username", flat=True)),
        }
        return render(
            request, "engagements/unit_form.html", {"form": UnitForm(initial=initial, unit=unit), "unit": unit}
        )
    return _save(request, form=UnitForm(request.POST, unit=unit), unit=unit)
