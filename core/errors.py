"""The error handlers Django calls for pages (config/urls.py): styled pages (templates/403.html, 404.html,
500.html) for people, the API's JSON error shape under /api/.

The 404 handler is ``core.api.views.not_found`` (JSON under /api/, else Django's, which renders 404.html)."""

from __future__ import annotations

from django.utils.translation import gettext
from django.views import defaults

from core.api.exceptions import error_response
from core.hostile import is_api


def permission_denied(request, exception=None):
    """403: the styled page with the refusal's own message (views raise PermissionDenied with one); JSON
    under /api/ (DRF answers its own views' refusals; this covers what happens outside them)."""
    if is_api(request):
        return error_response(403, gettext("You do not have permission to perform this action."), "permission_denied")
    return defaults.permission_denied(request, exception)


def server_error(request):
    """500: Django's handler (500.html, rendered without a request or a database), JSON under /api/."""
    if is_api(request):
        return error_response(500, gettext("A server error occurred."), "server_error")
    return defaults.server_error(request)
