from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.shortcuts import render

from core.exceptions import Unavailable


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
