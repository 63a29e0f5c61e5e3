from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import csv_response, wants_csv
from core.paging import paginate, querystring_without
from organizations import selectors
from organizations.choices import OrganizationKind
from organizations.filtersets import OrganizationFilterSet
from organizations.forms import MembersOnForm

CSV_HEADER = ["acronym", "name", "kind", "founded", "headquarters", "parent", "members_today", "suspended_today"]
MEMBERS_CSV_HEADER = ["organization", "on", "iso3", "partner", "status", "since", "until", "notes"]


def organization_list(request):
    filterset = OrganizationFilterSet(request.GET or None, queryset=selectors.organization_list())
    organizations = filterset.qs
    if wants_csv(request):
        rows = (
            [
                o.acronym,
                o.name,
                o.kind,
                o.founded,
                o.headquarters.iso3 if o.headquarters else "",
                o.parent.acronym if o.parent else "",
                o.member_count,
                o.suspended_count,
            ]
            for o in organizations
        )
        return csv_response(filename="organizations.csv", header=CSV_HEADER, rows=rows)
    context = {
        "filterset": filterset,
        "page": paginate(request, organizations),
        "kinds": OrganizationKind.choices,
        "querystring": querystring_without(request, "page"),
    }
    return render(request, "organizations/organization_list.html", context)


def organization_detail(request, acronym: str):
    organization = selectors.organization_get(acronym=acronym)
    if organization is None:
        raise Http404(_("No organization with the acronym %(acronym)s.") % {"acronym": acronym})
    form = MembersOnForm(request.GET or None)
    status = 200
    on = timezone.localdate()
    if form.is_bound:
        if form.is_valid():
            on = form.cleaned_data["on"] or on
        else:
            status = 400
    members = list(selectors.members_on(organization=organization, on=on))
    if wants_csv(request) and status == 200:
        rows = (
            [organization.acronym, on, m.partner.iso3, m.partner.name, m.status, m.joined, m.left, m.notes]
            for m in members
        )
        return csv_response(filename=f"{organization.acronym}-members-{on}.csv", header=MEMBERS_CSV_HEADER, rows=rows)
    context = {
        "organization": organization,
        "form": form,
        "on": on,
        "is_today": on == timezone.localdate(),
        "members": members,
        "suspended": sum(1 for m in members if m.status == "suspended"),
        "history": selectors.organization_history(organization=organization),
        "map_partners": [m.partner for m in members],
        # By URL name: this reference app never imports the assessments app above it.
        "assessment_url": _optional_url("assessments:organization", organization.acronym),
    }
    return render(request, "organizations/organization_detail.html", context, status=status)


def _optional_url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None
