from django.http import JsonResponse
from django.utils.translation import gettext
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken

from core.api.throttling import AnonRateThrottle


class TokenObtainView(ObtainAuthToken):
    """Exchange a username and password for the account's API token (created on first use)."""

    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        operation_id="auth_token_create",
        request=inline_serializer(
            "TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        auth=[],
        tags=["auth"],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


def not_found(request, exception=None):
    """Unknown URLs under /api/ answer in the API's error shape; elsewhere, the usual 404 page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": gettext("Not found."), "code": "not_found"}, status=404)
    return page_not_found(request, exception)
