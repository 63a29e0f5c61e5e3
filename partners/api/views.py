from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from partners import selectors
from partners.api.serializers import PartnerNationSerializer
from partners.filtersets import PartnerNationFilterSet


@extend_schema_view(
    list=extend_schema(summary="List partner nations", tags=["partners"]),
    retrieve=extend_schema(summary="One partner nation by ISO alpha-3 code", tags=["partners"]),
)
class PartnerNationViewSet(viewsets.ReadOnlyModelViewSet):
    """Every ISO 3166-1 country with its UN M49 region and today's organization memberships."""

    serializer_class = PartnerNationSerializer
    filterset_class = PartnerNationFilterSet
    lookup_field = "iso3"
    lookup_value_regex = "[A-Za-z]{3}"

    def get_queryset(self):
        return selectors.partner_list()

    def get_object(self):
        self.kwargs["iso3"] = self.kwargs["iso3"].upper()
        return super().get_object()
