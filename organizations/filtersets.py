"""One filter class for the organizations page and /api/v1/organizations/."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.filters import MultiValueChoiceFilter, MultiValueFilter
from organizations.choices import OrganizationKind
from organizations.models import Organization


class OrganizationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), help_text=_("Acronym or name"))
    kind = MultiValueChoiceFilter(choices=OrganizationKind.choices, distinct=False, label=_("Kind"))
    parent = MultiValueFilter(field_name="parent__acronym", lookup_expr="iexact", label=_("Parent"))

    class Meta:
        model = Organization
        fields = ["q", "kind", "parent"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(acronym__icontains=value) | Q(name__icontains=value))
