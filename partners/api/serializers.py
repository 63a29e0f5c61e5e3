from rest_framework import serializers

from partners.models import PartnerNation


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
