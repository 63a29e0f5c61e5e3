from rest_framework import serializers

from organizations.models import Membership, Organization


class MemberSerializer(serializers.ModelSerializer):
    partner = serializers.CharField(source="partner.iso3", help_text="ISO alpha-3 code")
    name = serializers.CharField(source="partner.name")

    class Meta:
        model = Membership
        fields = ["partner", "name", "status", "joined", "left", "notes"]
        read_only_fields = fields


class OrganizationSerializer(serializers.ModelSerializer):
    headquarters = serializers.CharField(source="headquarters.iso3", allow_null=True, default=None)
    parent = serializers.CharField(source="parent.acronym", allow_null=True, default=None)
    member_count = serializers.IntegerField(help_text="Members today (suspended members included).")

    class Meta:
        model = Organization
        fields = ["acronym", "name", "kind", "founded", "headquarters", "parent", "description", "member_count"]
        read_only_fields = fields


class OrganizationDetailSerializer(OrganizationSerializer):
    members = serializers.SerializerMethodField(help_text="Members today.")

    class Meta(OrganizationSerializer.Meta):
        fields = [*OrganizationSerializer.Meta.fields, "members"]
        read_only_fields = fields

    def get_members(self, organization) -> list[dict]:
        return MemberSerializer(self.context["members"], many=True).data


class MembersQuerySerializer(serializers.Serializer):
    on = serializers.DateField(required=False, help_text="YYYY-MM-DD; today if omitted.")


class MembersOnSerializer(serializers.Serializer):
    organization = serializers.CharField()
    on = serializers.DateField()
    count = serializers.IntegerField()
    members = MemberSerializer(many=True)
