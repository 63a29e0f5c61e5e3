from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import audit, selectors
from core.exports import csv_response, wants_csv
from core.forms import AuditFilterForm
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
