"""``/api/v1/units/``: organisational units by code. Everyone signed in reads; admins write (``core.*_unit``).

``members`` is the list of member usernames: give it on POST, PUT or PATCH to replace the list. Writes go
through ``core.services.unit_save``; ``engagement_count`` counts the engagements the reader may see.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api.exceptions import flatten_errors
from core.api.parsers import JSONParser
from core.models import Unit
from core.services import unit_save
from engagements import selectors
from engagements.api.serializers import limits


class UsernameListField(serializers.ListField):
    """Members written and read as their usernames."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=150), **kwargs)

    def to_representation(self, members):
        return sorted(member.username for member in members.all())


class UnitSerializer(serializers.ModelSerializer):
    code = serializers.CharField(**limits(Unit, "code"), help_text=gettext_lazy("Unique key, e.g. AFRICOM-J5."))
    name = serializers.CharField(**limits(Unit, "name"))
    parent = serializers.CharField(
        **limits(Unit, "code"),
        source="parent.code",
        allow_null=True,
        required=False,
        help_text=gettext_lazy("Code of the unit above it, or null for a command."),
    )
    members = UsernameListField(
        required=False,
        max_length=2000,
        help_text=gettext_lazy("Usernames of the unit's members; replaces the list when given."),
    )
    engagement_count = serializers.IntegerField(
        read_only=True, help_text=gettext_lazy("Engagements it owns that you may see.")
    )
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Unit
        fields = ["code", "name", "parent", "members", "member_count", "engagement_count"]

    def service_arguments(self) -> dict:
        data = dict(self.validated_data)
        if "parent" in data:
            parent = data.pop("parent")
            data["parent"] = parent["code"] if parent else None
        return data


class ReadAllWriteAdmins(permissions.BasePermission):
    """Every signed-in user reads units (engagements name them); writing needs ``core.add_unit`` /
    ``core.change_unit`` (admins)."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        verb = "add" if view.action == "create" else "change"
        return user.has_perm(f"core.{verb}_unit")


@extend_schema_view(
    list=extend_schema(summary="List organisational units"),
    retrieve=extend_schema(summary="One unit by code"),
    create=extend_schema(summary="Create a unit (admins)"),
    update=extend_schema(summary="Change a unit (admins); members, when given, replace the list"),
    partial_update=extend_schema(summary="Change some of a unit's fields (admins)"),
)
@extend_schema(tags=["units"])
class UnitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Organisational units (a command, its components, an office): who owns which engagements."""

    serializer_class = UnitSerializer
    permission_classes = [ReadAllWriteAdmins]
    parser_classes = [JSONParser]
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.unit_list(user=self.request.user).prefetch_related("members")

    def get_object(self):
        unit = self.get_queryset().filter(code__iexact=self.kwargs["code"]).first()
        if unit is None:
            raise Http404(_("No unit with this code."))
        return unit

    def _save(self, unit, data, *, status_code):
        try:
            saved = unit_save(unit=unit, **data)
        except DjangoValidationError as exc:
            raise ValidationError(flatten_errors(exc.message_dict)) from exc
        return Response(self.get_serializer(self.get_queryset().get(pk=saved.pk)).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._save(None, serializer.service_arguments(), status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        unit = self.get_object()
        serializer = self.get_serializer(unit, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        return self._save(unit, serializer.service_arguments(), status_code=status.HTTP_200_OK)
