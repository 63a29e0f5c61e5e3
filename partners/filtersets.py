"""One filter class for the partners page and /api/v1/partners/."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.filters import MultiValueFilter
from partners import selectors
from partners.models import PartnerNation
from partners.text import search_key


class PartnerNationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q", label=_("Search"), help_text=_("Name, former or common name, or ISO code")
    )
    region = MultiValueFilter(field_name="region", lookup_expr="iexact", label=_("Region"))
    subregion = MultiValueFilter(field_name="subregion", lookup_expr="iexact", label=_("Subregion"))
    intermediate_region = MultiValueFilter(
        field_name="intermediate_region",
        lookup_expr="iexact",
        label=_("Intermediate region"),
        help_text=_("UN M49 intermediate region, e.g. Western Africa"),
    )
    organization = MultiValueFilter(
        method="filter_organization", label=_("Organization"), help_text=_("Acronym; members today")
    )

    class Meta:
        model = PartnerNation
        fields = ["q", "region", "subregion", "intermediate_region", "organization"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # Names, official names and aliases, without accents or case ("Cote d'Ivoire", "Ivory Coast", "Burma").
        return queryset.filter(
            Q(search_key__contains=search_key(value))
            | Q(iso3__iexact=value)
            | Q(iso2__iexact=value)
            | Q(iso_numeric=value)
        )

    def filter_organization(self, queryset, name, value):
        if not value:
            return queryset
        today = timezone.localdate()
        condition = Q()
        for acronym in value:
            condition |= Q(pk__in=selectors.partners_in_organization_on(acronym=acronym, on=today))
        return queryset.filter(condition)
