"""The webhook pages (administrators): subscriptions, their delivery log, "send again" and a test event.
Thin views over webhooks.services and webhooks.selectors, as the API."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.paging import paginate, querystring_without
from webhooks import rules, selectors, services
from webhooks.forms import WebhookForm
from webhooks.models import Webhook


def _require(request, verb: str) -> None:
    if not request.user.has_perm(f"webhooks.{verb}_webhook"):
        raise PermissionDenied(_("Only administrators manage webhooks."))


def _webhook(pk: int) -> Webhook:
    return get_object_or_404(selectors.webhook_list(), pk=pk)


def webhook_list(request):
    _require(request, "view")
    context = {"webhooks": selectors.webhook_list(), "allowed_hosts": rules.allowed_hosts()}
    return render(request, "webhooks/webhook_list.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def webhook_create(request):
    _require(request, "add")
    form = WebhookForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        generated = not arguments.get("secret")
        if generated:
            arguments["secret"] = services.webhook_secret_generate()
        try:
            webhook = services.webhook_create(owner=request.user, **arguments)
        except DjangoValidationError as exc:
            form.add_error(None, exc)  # each message beside its field
        else:
            messages.success(request, _("The webhook was created."))
            if generated:
                # Shown in this answer only: the page never displays a secret again.
                context = {"webhook": webhook, "secret": arguments["secret"]}
                return render(request, "webhooks/webhook_created.html", context)
            return redirect("webhooks:detail", pk=webhook.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "webhooks/webhook_form.html", {"form": form, "webhook": None}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def webhook_edit(request, pk: int):
    _require(request, "change")
    webhook = _webhook(pk)
    initial = {name: getattr(webhook, name) for name in ("url", "events", "is_active", "description")}
    form = WebhookForm(request.POST or None, initial=initial, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_update(webhook=webhook, **form.service_arguments())
        except DjangoValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The webhook was saved."))
            return redirect("webhooks:detail", pk=webhook.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "webhooks/webhook_form.html", {"form": form, "webhook": webhook}, status=status)


@require_http_methods(["GET", "POST"])
def webhook_delete(request, pk: int):
    _require(request, "delete")
    webhook = _webhook(pk)
    if request.method == "POST":
        services.webhook_delete(webhook=webhook)
        messages.success(request, _("The webhook %(url)s was deleted with its delivery log.") % {"url": webhook.url})
        return redirect("webhooks:list")
    return render(request, "webhooks/webhook_delete.html", {"webhook": webhook})


def webhook_detail(request, pk: int):
    """One webhook and its delivery log, newest first, paged."""
    _require(request, "view")
    webhook = _webhook(pk)
    page = paginate(request, selectors.webhook_deliveries(webhook=webhook))
    context = {"webhook": webhook, "page": page, "querystring": querystring_without(request, "page")}
    return render(request, "webhooks/webhook_detail.html", context)


@require_POST
def webhook_test(request, pk: int):
    _require(request, "change")
    services.webhook_test_send(webhook=_webhook(pk), user=request.user)
    messages.success(request, _("A test event was queued; its answer appears in the log below."))
    return redirect("webhooks:detail", pk=pk)


@require_POST
def webhook_redeliver(request, pk: int, delivery_pk: int):
    _require(request, "change")
    delivery = selectors.webhook_delivery_get(webhook=_webhook(pk), delivery_id=delivery_pk)
    if delivery is None:
        raise Http404(_("No such delivery of this webhook."))
    services.webhook_delivery_redeliver(delivery=delivery)
    messages.success(request, _("Delivery %(id)s was queued to be sent again.") % {"id": delivery_pk})
    return redirect("webhooks:detail", pk=pk)
