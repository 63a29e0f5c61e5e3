"""The project's middleware: hostile input, upload limit, trailing slashes, caching, login, read-your-writes."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.contrib.auth.middleware import get_user
from django.core.handlers.wsgi import LimitedStream
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject

from core import hostile, page_cache
from core.api.views import not_found
from core.exceptions import Unavailable

READ_CHUNK_BYTES = 64 * 1024


class HostileInputMiddleware:
    """A path holding a control character is a 404, a query parameter holding one a 400.

    First in the chain (after SecurityMiddleware), so no view, static-file lookup or query sees them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if hostile.CONTROL_CHARACTERS.search(request.path):
            return not_found(request)
        for name, values in request.GET.lists():
            if hostile.CONTROL_CHARACTERS.search(name) or any(hostile.CONTROL_CHARACTERS.search(v) for v in values):
                return hostile.bad_parameter(request, name)
        return self.get_response(request)


class UploadLimitMiddleware:
    """A request body over ``settings.MAX_UPLOAD_BYTES`` is a 413, before anything reads it.

    With a Content-Length the length decides. A chunked body (no Content-Length) is read here, up to the
    limit, into a temporary file that spills to disk, and handed on with its length; one byte more and the
    answer is 413. Django's own refusal (``DATA_UPLOAD_MAX_MEMORY_SIZE``) is a 413 too (config.urls handler400).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_UPLOAD_BYTES
        length = request.META.get("CONTENT_LENGTH")
        if length:
            try:
                too_big = int(length) > limit
            except ValueError:
                too_big = False  # Django reads an unreadable length as 0
            if too_big:
                return hostile.too_large(request)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and "wsgi.input" in request.META:
            body = self._read_chunked(request.META["wsgi.input"], limit)
            if body is None:
                return hostile.too_large(request)
            size = body.seek(0, 2)
            body.seek(0)
            request.META["CONTENT_LENGTH"] = str(size)
            request._stream = LimitedStream(body, size)
        return self.get_response(request)

    @staticmethod
    def _read_chunked(stream, limit: int):
        body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115 (the request reads it later)
        size = 0
        while chunk := stream.read(READ_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                body.close()
                return None
            body.write(chunk)
        return body


class CommonMiddleware(DjangoCommonMiddleware):
    """Django's, except that a write is never redirected to the address with a slash.

    A redirected POST becomes a GET in most clients (and a RuntimeError in debug): a write to a page
    address without its slash is answered by the page with the slash, as the API's routes answer both.
    """

    def process_request(self, request):
        if request.method not in ("GET", "HEAD") and self.should_redirect_with_slash(request):
            request.path_info += "/"
            request.path += "/"
        return super().process_request(request)


class PrivateCacheMiddleware:
    """Every answer to a signed-in user (page, API, export) is ``Cache-Control: private, no-store``.

    After AuthenticationMiddleware; the API's token users count too (DRF sets the request's user).
    Static files never get here: WhiteNoise answers them first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        return response


class UserFactsMiddleware:
    """The session's user with their permissions and groups from the shared cache (core/user_facts.py),
    still loaded only when something asks for it. Right after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from core import user_facts

        request.user = SimpleLazyObject(lambda: user_facts.primed(get_user(request)))
        return self.get_response(request)


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Every page needs a login, except views marked ``@login_not_required`` (login, /healthz).

    The API is left to Django REST Framework, which authenticates tokens as well as sessions and answers
    401/403 in JSON instead of redirecting to the login page; its default permission is IsAuthenticated.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class HealthCheckMiddleware:
    """Answers ``/healthz`` before anything asks for the request's host.

    The orchestrator's health check calls the app by its loopback address (compose: ``127.0.0.1:8000``),
    which is not one of ``DJANGO_ALLOWED_HOSTS``; host validation would answer it 400 and the container
    would never be healthy. The report builds no URL from the host, so answering any host is safe. First in
    MIDDLEWARE, so no SSL redirect, session or CSRF work happens for it either.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz" and request.method == "GET":
            from core.views import healthz

            return healthz(request)
        return self.get_response(request)


class UnavailableMiddleware:
    """A page whose feature cannot answer until the set-up is fixed gets a 503 page that says why."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Unavailable):
            return render(request, "core/unavailable.html", {"message": exception.message}, status=503)
        return None


class RateLimitHeadersMiddleware:
    """``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (the header names of the IETF draft
    draft-ietf-httpapi-ratelimit-headers up to its revision 06; ``Reset`` in seconds) on every API answer that
    a rate counted (core/api/throttling.py); a 429 also has ``Retry-After`` (DRF)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        state = getattr(request, "rate_limit", None)
        if state is not None:
            response["RateLimit-Limit"] = str(state.limit)
            response["RateLimit-Remaining"] = str(state.remaining)
            response["RateLimit-Reset"] = str(state.reset)
            if response.status_code == 429 and not response.has_header("Retry-After"):
                response["Retry-After"] = str(max(state.reset, 1))
        return response


class RecentWriterMiddleware:
    """After a write answered below 400 (a POST, PUT, PATCH or DELETE, through a page or the API), its user's
    next reads are never served a cached copy rendered before it (core/page_cache.py, ``writer_note``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400:
            page_cache.writer_note(request.user)
        return response
