"""The webhook API (administrators): thin views over webhooks.services and webhooks.selectors."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action

from core.api.parsers import JSONParser
from core.api.permissions import ModelRolePermission
from webhooks import selectors, services
from webhooks.api.serializers import WebhookDeliverySerializer, WebhookSerializer
from webhooks.models import Webhook


@extend_schema(tags=["webhooks"])
class WebhookViewSet(viewsets.ModelViewSet):
    """Subscriptions of outside systems to events, signed with their secret (README, "Webhooks")."""

    serializer_class = WebhookSerializer
    permission_classes = [ModelRolePermission]
    permission_model = Webhook
    parser_classes = [JSONParser]
    action_permissions = {"deliveries": "view"}

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
