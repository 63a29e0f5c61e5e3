from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import csv_response, wants_csv
from core.paging import paginate, querystring_without
from partners import selectors
from partners.filtersets import PartnerNationFilterSet

CSV_HEADER = [
    "iso3",
    "iso2",
    "iso_numeric",
    "name",
    "official_name",
    "region",
    "subregion",
    "intermediate_region",
    "latitude",
    "longitude",
    "organizations",
]


def partner_list(request):
    filterset = PartnerNationFilterSet(request.GET or None, queryset=selectors.partner_list())
    partners = filterset.qs
    if wants_csv(request):
        rows = (
            [
                p.iso3,
                p.iso2,
                p.iso_numeric,
                p.name,
                p.official_name,
                p.region,
                p.subregion,
                p.intermediate_region,
                p.latitude,
                p.longitude,
                ";".join(m.organization.acronym for m in p.current_memberships),
            ]
            for p in partners.iterator(chunk_size=500)
        )
        return csv_response(filename="partners.csv", header=CSV_HEADER, rows=rows)
    page = paginate(request, partners)
    context = {
        "filterset": filterset,
        "page": page,
        "regions": selectors.region_choices("region"),
        "subregions": selectors.region_choices("subregion"),
        "intermediate_regions": selectors.region_choices("intermediate_region"),
        "organizations": selectors.organization_acronyms(),
        "querystring": querystring_without(request, "page"),
    }
    return render(request, "partners/partner_list.html", context)


def _url_if_installed(name: str, *args, **query) -> str | None:
    """The URL of a page of an app above this one (engagements, assessments), or None without it."""
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return None
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def partner_detail(request, iso3: str):
    partner = selectors.partner_get(iso3=iso3)
    if partner is None:
        raise Http404(_("No partner nation with the code %(code)s.") % {"code": iso3})
    history = selectors.membership_timeline(partner=partner)
    context = {
        "partner": partner,
        "today": timezone.localdate(),
        "current": [row for row in history if row.is_current],
        "timeline": history,
        "map_partners": [partner],
        "engagements_url": _url_if_installed("engagements:list", partner=partner.iso3),
        "assessment_url": _url_if_installed("assessments:partner", partner.iso3),
    }
    return render(request, "partners/partner_detail.html", context)
