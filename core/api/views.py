from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.templatetags.static import static
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularRedocView
from rest_framework import mixins, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core import selectors, services
from core.api.serializers import ApiTokenSerializer, TokenCreatedSerializer, TokenRequestSerializer
from core.api.throttling import AnonRateThrottle
from core.models import ApiToken


@method_decorator(never_cache, name="dispatch")
class TokenObtainView(APIView):
    """Exchange a username and password for a new API token (named, expiring; shown once)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]
    error_examples = {  # this endpoint's own error answers in the schema (core.api.schema.AutoSchema)
        "400": {
            "detail": "Invalid input.",
            "code": "invalid",
            "errors": {"non_field_errors": ["Unable to log in with provided credentials."]},
        },
        "404": {"detail": "Not found.", "code": "not_found"},
    }

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenRequestSerializer,
        responses={200: TokenCreatedSerializer},
        examples=[
            OpenApiExample(
                "credentials",
                value={
                    "username": "integrator",
                    "password": "integrator-demo-2026",
                    "name": "Partner reporting system",
                    "expires_in_days": 90,
                },
                request_only=True,
            ),
            OpenApiExample(
                "token",
                value={
                    "id": 12,
                    "name": "Partner reporting system",
                    "token": "et_9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b9944b09199c62bcf9418ad84",
                    "expires_at": "2026-03-31T09:15:00Z",
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
        auth=[],
        tags=["auth"],
    )
    def post(self, request, *args, **kwargs):
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token, secret = services.api_token_create(
            user=data["user"], name=data.get("name", ""), expires_in_days=data.get("expires_in_days")
        )
        body = {"id": token.pk, "name": token.name, "token": secret, "expires_at": token.expiry}
        return Response(TokenCreatedSerializer(body).data)


@extend_schema_view(
    list=extend_schema(summary="The caller's live API tokens (never their secrets)", tags=["auth"]),
    destroy=extend_schema(summary="Revoke one of the caller's tokens", tags=["auth"]),
)
class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The caller's own API tokens. Another user's token is not found (404), whoever asks."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; requests use get_queryset
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        return selectors.api_tokens_of(user=self.request.user)

    def perform_destroy(self, instance):
        services.api_token_revoke(user=self.request.user, token_id=instance.pk)


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
