from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import selectors


def home(request):
    return render(request, "core/home.html", selectors.home_context(user=request.user))


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """State of the database, the broker and the cache. 200 when every configured one answers."""
    report = selectors.health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
