"""The webhook API (administrators): thin views over webhooks.services and webhooks.selectors."""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.parsers import JSONParser
from core.api.permissions import ModelRolePermission
from core.api.serializers import ErrorSerializer
from webhooks import selectors, services
from webhooks.api.serializers import WebhookDeliverySerializer, WebhookSerializer
from webhooks.models import Webhook

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such webhook (or delivery of it).")


@extend_schema(tags=["webhooks"])
class WebhookViewSet(viewsets.ModelViewSet):
    """Subscriptions of outside systems to events, signed with their secret (README, "Webhooks")."""

    serializer_class = WebhookSerializer
    permission_classes = [ModelRolePermission]
    permission_model = Webhook
    parser_classes = [JSONParser]
    action_permissions = {"deliveries": "view", "redeliver": "change", "test": "change"}

    def get_queryset(self):
        return selectors.webhook_list()

    def perform_create(self, serializer):
        webhook = services.webhook_create(owner=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=webhook.pk)

    def perform_update(self, serializer):
        webhook = services.webhook_update(webhook=serializer.instance, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=webhook.pk)

    def perform_destroy(self, instance):
        services.webhook_delete(webhook=instance)

    @extend_schema(summary="Deliveries of a webhook, newest first", responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=WebhookDeliverySerializer)
    def deliveries(self, request, pk=None):
        page = self.paginate_queryset(selectors.webhook_deliveries(webhook=self.get_object()))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Send a delivery again",
        description="The same event (same `id` and body) as a new series of attempts, with retries and back-off; "
        "the delivery's `attempts` start again. 202: queued for the worker (in the embedded mode, already sent).",
        request=None,
        parameters=[OpenApiParameter("delivery_id", int, OpenApiParameter.PATH, description="The delivery's id.")],
        responses={202: WebhookDeliverySerializer, 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]+)/redeliver",
        serializer_class=WebhookDeliverySerializer,
    )
    def redeliver(self, request, pk=None, delivery_id=None):
        webhook = self.get_object()
        delivery = selectors.webhook_delivery_get(webhook=webhook, delivery_id=int(delivery_id))
        if delivery is None:
            raise Http404(_("No such delivery of this webhook."))
        delivery = services.webhook_delivery_redeliver(delivery=delivery)
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Send a test event",
        description="Queues a `webhook.test` event to this webhook alone, whatever events it subscribes to, signed "
        "like every delivery; its answer appears in the deliveries. 202: queued for the worker.",
        request=None,
        responses={202: WebhookDeliverySerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], serializer_class=WebhookDeliverySerializer)
    def test(self, request, pk=None):
        delivery = services.webhook_test_send(webhook=self.get_object(), user=request.user)
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
