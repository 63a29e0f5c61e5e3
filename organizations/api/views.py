from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from organizations import selectors
from organizations.api.serializers import (
    MembersOnSerializer,
    MembersQuerySerializer,
    OrganizationDetailSerializer,
    OrganizationSerializer,
)
from organizations.filtersets import OrganizationFilterSet


@extend_schema_view(
    list=extend_schema(summary="List organizations", tags=["organizations"]),
    retrieve=extend_schema(summary="One organization by acronym, with today's members", tags=["organizations"]),
)
class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """Alliances, unions and regional communities, and who belonged to them when."""

    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilterSet
    lookup_field = "acronym"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.organization_list()

    def get_object(self):
        queryset = self.filter_queryset(self.get_queryset())
        obj = queryset.filter(acronym__iexact=self.kwargs["acronym"]).first()
        if obj is None:
            raise Http404(f"No organization with the acronym {self.kwargs['acronym']!r}.")
        self.check_object_permissions(self.request, obj)
        return obj

    def retrieve(self, request, *args, **kwargs):
        organization = self.get_object()
        members = selectors.members_on(organization=organization, on=timezone.localdate())
        serializer = OrganizationDetailSerializer(
            organization, context={**self.get_serializer_context(), "members": members}
        )
        return Response(serializer.data)

    @extend_schema(
        summary="Members on a date",
        parameters=[OpenApiParameter("on", OpenApiTypes.DATE, description="YYYY-MM-DD; today if omitted.")],
        responses=MembersOnSerializer,
        tags=["organizations"],
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def members(self, request, acronym=None):
        query = MembersQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        on = query.validated_data.get("on") or timezone.localdate()
        organization = self.get_object()
        members = list(selectors.members_on(organization=organization, on=on))
        payload = {"organization": organization.acronym, "on": on, "count": len(members), "members": members}
        return Response(MembersOnSerializer(payload).data)
