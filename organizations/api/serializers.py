from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from organizations.models import Membership, Organization


class MemberSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner.iso3", help_text="ISO alpha-3 code")
    name = serializers.CharField(source="partner.name")

    class Meta:
        model = Membership
        fields = ["partner", "name", "status", "joined", "left", "notes"]
        read_only_fields = fields


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "ECOWAS",
            value={
                "acronym": "ECOWAS",
                "name": "Economic Community of West African States",
                "kind": "regional_economic_community",
                "founded": "1975-05-28",
                "headquarters": "NGA",
                "parent": "AU",
                "description": "",
                "member_count": 12,
            },
            response_only=True,
        )
    ]
)
class OrganizationSerializer(serializers.ModelSerializer):
    headquarters = serializers.CharField(source="headquarters.iso3", allow_null=True, default=None)
    parent = serializers.CharField(source="parent.acronym", allow_null=True, default=None)
    member_count = serializers.IntegerField(help_text="Members today (suspended members included).")

    class Meta:
        model = Organization
        fields = ["acronym", "name", "kind", "founded", "headquarters", "parent", "description", "member_count"]
        read_only_fields = fields


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "ECOWAS with its members",
            value={
                "acronym": "ECOWAS",
                "name": "Economic Community of West African States",
                "kind": "regional_economic_community",
                "founded": "1975-05-28",
                "headquarters": "NGA",
                "parent": "AU",
                "description": "",
                "member_count": 12,
                "members": [
                    {
                        "partner": "SEN",
                        "name": "Senegal",
                        "status": "member",
                        "joined": "1975-05-28",
                        "left": None,
                        "notes": "",
                    }
                ],
            },
            response_only=True,
        )
    ]
)
class OrganizationDetailSerializer(OrganizationSerializer):
    members = serializers.SerializerMethodField(help_text="Members today.")

    class Meta(OrganizationSerializer.Meta):
        fields = [*OrganizationSerializer.Meta.fields, "members"]
        read_only_fields = fields

    def get_members(self, organization) -> list[dict]:
        return MemberSerializer(self.context["members"], many=True).data


class MembersQuerySerializer(serializers.Serializer):
    on = serializers.DateField(required=False, help_text="YYYY-MM-DD; today if omitted.")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "members on a date",
            value={
                "organization": "ECOWAS",
                "on": "2020-01-01",
                "count": 1,
                "members": [
                    {
                        "partner": "SEN",
                        "name": "Senegal",
                        "status": "member",
                        "joined": "1975-05-28",
                        "left": None,
                        "notes": "",
                    }
                ],
            },
            response_only=True,
        )
    ]
)
class MembersOnSerializer(serializers.Serializer):
    organization = serializers.CharField()
    on = serializers.DateField()
    count = serializers.IntegerField()
    members = MemberSerializer(many=True)
