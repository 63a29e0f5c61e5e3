from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.utils.translation import gettext
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
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


def not_found(request, exception=None):
    """Unknown URLs under /api/ answer in the API's error shape; elsewhere, the usual 404 page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": gettext("Not found."), "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def bad_request(request, exception=None):
    """Django's 400 (a request it refused as suspicious), as a 413 when the body was too large (Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, met wherever the form is first read: CSRF or the view), and in the
    API's error shape under /api/. A NUL refused on its way to the database says so (core/hostile.py)."""
    from core import hostile

    if isinstance(exception, RequestDataTooBig):
        return hostile.too_large(request, hostile.fields_too_large_message())
    if isinstance(exception, hostile.NullCharacterError):
        message = exception.messages[0]
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": message, "code": "invalid"}, status=400)
        return hostile.error_page(request, status=400, title=gettext("Bad request"), message=message)
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": gettext("Bad request."), "code": "bad_request"}, status=400)
    return django_bad_request(request, exception)
