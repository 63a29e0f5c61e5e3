"""Hostile input: what the application refuses before it can become a 500, and the answers it gives.

* Control characters (C0 and DEL) have no place in a path or a query parameter: a path holding one is
  a 404, a parameter holding one a 400 (``core.middleware.HostileInputMiddleware``).
* A NUL character in a body field would reach PostgreSQL, which refuses it with a ``ValueError`` before
  the query is sent. ``refuse_null_characters`` (installed on every connection) turns that into
  ``NullCharacterError``: a form shows it beside the field, the API answers 400 on the field, and anywhere
  else it is a 400.
* A request body larger than ``settings.MAX_UPLOAD_BYTES`` is a 413
  (``core.middleware.UploadLimitMiddleware``), as is one Django refuses by ``DATA_UPLOAD_MAX_MEMORY_SIZE``.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class NullCharacterError(ValidationError, SuspiciousOperation):
    """A value holding a NUL character was about to be sent to the database.

    A ValidationError, so form and serializer fields report it as their own error; a SuspiciousOperation,
    so a page that meets it elsewhere answers 400 rather than 500.
    """

    def __init__(self):
        super().__init__(_("Null characters are not allowed."), code="null_characters_not_allowed")


def refuse_null_characters(execute, sql, params, many, context):
    """Database execute wrapper: PostgreSQL cannot store NUL, and psycopg says so with a ValueError."""
    try:
        return execute(sql, params, many, context)
    except ValueError as exc:
        if "NUL" in str(exc):
            raise NullCharacterError() from exc
        raise


def install_null_character_guard(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: put the wrapper on each new connection, once."""
    if refuse_null_characters not in connection.execute_wrappers:
        connection.execute_wrappers.append(refuse_null_characters)


def is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def escaped(text: str) -> str:
    """``text`` with its control characters written as escapes, fit to show in a message."""
    return CONTROL_CHARACTERS.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


def upload_limit_mb() -> int:
    return settings.MAX_UPLOAD_BYTES // (1024 * 1024)


def too_large_message() -> str:
    return _("The upload is larger than %(mb)s MB: split the file into several smaller files.") % {
        "mb": upload_limit_mb()
    }


def fields_too_large_message() -> str:
    """Django refused the request by ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (its fields, files not counted)."""
    return _("The request body (files not counted) is larger than %(size)s.") % {
        "size": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    }


def error_page(request, *, status: int, title: str, message: str):
    """A page saying what was wrong with the request."""
    return render(request, "core/error.html", {"title": title, "message": message}, status=status)


def bad_parameter(request, name: str):
    """400: the query parameter ``name`` holds a control character."""
    message = _("The parameter “%(name)s” contains control characters.") % {"name": escaped(name)}
    if is_api(request):
        from core.api.exceptions import error_response

        return error_response(
            400, _("Invalid input."), "invalid", errors={escaped(name): [_("Control characters are not allowed.")]}
        )
    return error_page(request, status=400, title=_("Bad request"), message=message)


def too_large(request, message: str | None = None):
    """413: the body is over the upload limit (or ``message``'s limit)."""
    message = message or too_large_message()
    if is_api(request):
        from core.api.exceptions import error_response

        return error_response(413, message, "too_large")
    return error_page(request, status=413, title=_("Upload too large"), message=message)
