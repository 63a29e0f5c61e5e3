"""One JSON shape for every API error.

``{"detail": "<summary>", "code": "<machine code>", "errors": {<field>: [<messages>], ...}}``. Field errors
are flattened to paths (``participants[1].partner``, ``after_action.summary``) so a client can point at the
exact input; ``errors`` is present for 400 and 409 answers. A 429 also carries ``retry_after_seconds``
(and the ``Retry-After`` header). A 413 (body over the upload limit) has ``code`` ``too_large``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import Unavailable


class Conflict(exceptions.APIException):
    """The resource changed since the client read it (optimistic locking): 409 with the field's message."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The resource was changed by someone else since you read it.")
    default_code = "conflict"

    def __init__(self, detail=None, *, errors: dict | None = None):
        super().__init__(detail)
        self.errors = errors or {}


class PayloadTooLarge(exceptions.APIException):
    """The request body is over the upload limit (core.hostile)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request is too large.")
    default_code = "too_large"


def error_response(status_code: int, detail, code: str, *, errors: dict | None = None) -> JsonResponse:
    """The error shape, answered outside a DRF view (by middleware)."""
    body = {"detail": str(detail), "code": code}
    if errors is not None:
        body["errors"] = {key: [str(m) for m in messages] for key, messages in errors.items()}
    return JsonResponse(body, status=status_code)


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as ``{"participants[1].partner": ["..."], ...}``."""
    flat: dict[str, list[str]] = {}

    def add(path: str, message) -> None:
        flat.setdefault(path or "non_field_errors", []).append(str(message))

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                # DRF reports list rows by index (an int key): participants[3].personnel.
                if isinstance(key, int):
                    walk(item, f"{path}[{key}]")
                elif key == api_settings.NON_FIELD_ERRORS_KEY and path:
                    walk(item, path)  # a nested object as a whole is wrong: report it at its own path
                else:
                    walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, dict | list | tuple):
                    walk(item, f"{path}[{index}]")
                else:
                    add(path, item)
        elif value is not None:
            add(path, value)

    walk(errors, prefix)
    return flat


def _as_drf(exc):
    if isinstance(exc, RequestDataTooBig):
        from core.hostile import fields_too_large_message

        return PayloadTooLarge(fields_too_large_message())
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ValidationError({"non_field_errors": [str(exc)]})
    if isinstance(exc, PermissionDenied) and exc.args:
        return exceptions.PermissionDenied(str(exc.args[0]))  # the refusal's own message (unit scope ...)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    return exc


def exception_handler(exc, context):
    if isinstance(exc, Unavailable):
        return Response({"detail": exc.message, "code": "unavailable"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    exc = _as_drf(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": str(_("Invalid input.")), "code": "invalid", "errors": flatten_errors(errors)}
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, Http404):
        code = "not_found"
    elif isinstance(exc, PermissionDenied):
        code = "permission_denied"
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else code
    body = {"detail": str(detail), "code": code}
    if isinstance(exc, Conflict):
        body["errors"] = flatten_errors(exc.errors)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after_seconds"] = int(exc.wait)
    response.data = body
    return response
