"""The inbox API: the caller's own notifications (another user's are not found), their e-mail choices."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import JSONParser
from notifications import selectors, services
from notifications.api.serializers import NotificationSerializer, PreferencesSerializer, ReadAllSerializer
from notifications.models import Notification


@extend_schema_view(
    list=extend_schema(
        summary="The caller's notifications, newest first",
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="true: unread ones only")],
        tags=["notifications"],
    ),
    retrieve=extend_schema(summary="One of the caller's notifications", tags=["notifications"]),
)
class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()  # for the schema; requests use get_queryset
    parser_classes = [JSONParser]
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        unread = self.request.query_params.get("unread", "").strip().lower()
        if unread not in ("", "true", "false", "1", "0"):
            raise ValidationError({"unread": ["Use true or false."]})
        return selectors.inbox(user=self.request.user, unread_only=unread in ("true", "1"))

    @extend_schema(summary="Mark one notification as read", request=None, tags=["notifications"])
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        notification = services.notification_mark_read(user=request.user, notification_id=notification.pk)
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        summary="Mark all the caller's notifications as read",
        request=None,
        responses=ReadAllSerializer,
        tags=["notifications"],
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": services.notifications_mark_all_read(user=request.user)})


class NotificationPreferencesView(APIView):
    """The caller's e-mail choice per kind: immediate, digest (daily) or none (inbox only)."""

    parser_classes = [JSONParser]

    @extend_schema(
        responses=PreferencesSerializer, tags=["notifications"], operation_id="notifications_preferences_retrieve"
    )
    def get(self, request):
        return Response(selectors.preferences_of(user=request.user))

    @extend_schema(
        request=PreferencesSerializer,
        responses=PreferencesSerializer,
        tags=["notifications"],
        operation_id="notifications_preferences_update",
    )
    def put(self, request):
        serializer = PreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.preferences_set(user=request.user, deliveries=dict(serializer.validated_data))
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error
        return Response(selectors.preferences_of(user=request.user))
