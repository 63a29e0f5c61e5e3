from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import audit, selectors, services
from core.exports import csv_response, wants_csv
from core.forms import ApiTokenForm, AuditFilterForm
from core.models import ApiToken
from core.paging import paginate, querystring_without
from core.panels import home_page_for
from core.roles import ADMIN, role_of


def home(request):
    """The general home page, or the start page an app registered for the user's role (``?home=1`` shows
    the general page anyway)."""
    start = home_page_for(role=role_of(request.user))
    if start and "home" not in request.GET:
        try:
            return redirect(start)
        except NoReverseMatch:
            pass
    return render(request, "core/home.html", selectors.home_context(user=request.user))


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """State of the database, the broker and the cache. 200 when every configured one answers."""
    report = selectors.health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def audit_log(request):
    """Every recorded create, change and delete, with who and when; administrators only."""
    if role_of(request.user) != ADMIN:
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    filters = {}
    status = 200
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            filters = {
                "model": data["model"],
                "username": data["user"].strip(),
                "action": data["action"],
                "since": data["since"],
                "until": data["until"],
            }
        else:
            status = 400
    entries = audit.audit_entries(**filters)
    if wants_csv(request) and status == 200:
        return csv_response(filename="audit.csv", header=audit.CSV_HEADER, rows=audit.csv_rows(entries))
    page = paginate(request, entries)
    rows = audit.describe(list(page.object_list))
    context = {"form": form, "page": page, "rows": rows, "querystring": querystring_without(request, "page")}
    return render(request, "core/audit.html", context, status=status)


# --- the user's own account -------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def account_tokens(request):
    """The user's API tokens: list, create (the secret is shown in this answer only), revoke."""
    form = ApiTokenForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, secret = services.api_token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except DjangoValidationError as exc:
                form.add_error(None, exc)  # a field's message beside it, the token limit above the form
            else:
                created = {"token": token, "secret": secret}
                form = ApiTokenForm()
        if created is None:
            status = 400
    context = {"form": form, "created": created, "tokens": selectors.api_tokens_of(user=request.user)}
    return render(request, "core/account_tokens.html", context, status=status)


@require_POST
def account_token_revoke(request, pk: int):
    """Revoke one of the user's own tokens; anyone else's is not found."""
    try:
        services.api_token_revoke(user=request.user, token_id=pk)
    except ApiToken.DoesNotExist as exc:
        raise Http404(_("No such token among yours.")) from exc
    messages.success(request, _("The token was revoked: it no longer works."))
    return redirect("account-tokens")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Any user changes their own password. This session stays signed in (Django updates its hash); other
    sessions end, and the user's API tokens die with the old password."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("account-password")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.api_tokens_discard(user=self.request.user)
        messages.success(
            self.request,
            _("Your password was changed. Your API tokens were revoked: create new ones if you need them."),
        )
        return response
