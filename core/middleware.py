from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Every page needs a login, except views marked ``@login_not_required`` (login, /healthz).

    The API is left to Django REST Framework, which authenticates tokens as well as sessions and answers
    401/403 in JSON instead of redirecting to the login page; its default permission is IsAuthenticated.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
