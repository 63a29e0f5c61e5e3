from django.http import JsonResponse
from django.templatetags.static import static
from django.utils.translation import gettext
from django.views.defaults import page_not_found
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from drf_spectacular.views import SpectacularRedocView
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
        examples=[
            OpenApiExample(
                "credentials", value={"username": "integrator", "password": "integrator-demo-2026"}, request_only=True
            ),
            OpenApiExample(
                "token",
                value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"},
                response_only=True,
                status_codes=["200"],
            ),
        ],
        auth=[],
        tags=["auth"],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class RedocView(SpectacularRedocView):
    """Redoc from our own copy of the sidecar's bundle (static/vendor/redoc/, made by scripts/vendor_redoc.py):
    the stock bundle shows Redocly's logo from a CDN, which the CSP refuses and closed networks cannot reach."""

    @staticmethod
    def _redoc_standalone():
        return static("vendor/redoc/redoc.standalone.js")


def not_found(request, exception=None):
    """Unknown URLs under /api/ answer in the API's error shape; elsewhere, the usual 404 page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": gettext("Not found."), "code": "not_found"}, status=404)
    return page_not_found(request, exception)
