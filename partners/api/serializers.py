from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from partners.models import PartnerNation


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Morocco",
            value={
                "iso3": "MAR",
                "iso2": "MA",
                "iso_numeric": "504",
                "name": "Morocco",
                "official_name": "Kingdom of Morocco",
                "region": "Africa",
                "subregion": "Northern Africa",
                "intermediate_region": "",
                "latitude": 31.79,
                "longitude": -7.09,
                "organizations": ["AU", "UN"],
            },
            response_only=True,
        )
    ]
)
class PartnerNationSerializer(serializers.ModelSerializer):
    organizations = serializers.SerializerMethodField(
        help_text="Acronyms of the organizations it is a member of today."
    )

    class Meta:
        model = PartnerNation
        fields = [
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
        read_only_fields = fields

    def get_organizations(self, partner) -> list[str]:
        # Prefetched by partners.selectors.partner_list: no query per row.
        return [m.organization.acronym for m in getattr(partner, "current_memberships", [])]
