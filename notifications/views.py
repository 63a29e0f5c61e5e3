"""The inbox pages: every signed-in user, their own notifications only. Thin: selectors read, services write."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.paging import paginate, querystring_without
from notifications import selectors, services
from notifications.forms import FollowForm, PreferencesForm
from notifications.models import Notification
from organizations.models import Organization


def inbox(request):
    services.user_language_remember(user=request.user, language=request.LANGUAGE_CODE)  # for their e-mails
    unread_only = request.GET.get("unread") == "1"
    page = paginate(request, selectors.inbox(user=request.user, unread_only=unread_only))
    context = {"page": page, "unread_only": unread_only, "querystring": querystring_without(request, "page")}
    return render(request, "notifications/inbox.html", context)


def _mark(request, pk: int) -> Notification:
    try:
        return services.notification_mark_read(user=request.user, notification_id=pk)
    except Notification.DoesNotExist as exc:
        raise Http404(_("No such notification among yours.")) from exc


@require_POST
def notification_open(request, pk: int):
    """Mark it read and go where it points (a path of this site only)."""
    notification = _mark(request, pk)
    if notification.url.startswith("/") and url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        return redirect(notification.url)
    return redirect("notifications:inbox")


@require_POST
def notification_read(request, pk: int):
    _mark(request, pk)
    return redirect("notifications:inbox")


@require_POST
def inbox_read_all(request):
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(request, _("%(count)s notifications marked as read.") % {"count": count})
    return redirect("notifications:inbox")


@require_http_methods(["GET", "POST"])
def notification_settings(request):
    """The user's e-mail choice per kind, and the regions and organizations they follow."""
    current = selectors.preferences_of(user=request.user)
    form = PreferencesForm(request.POST or None, initial=current)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.preferences_set(user=request.user, deliveries=dict(form.cleaned_data))
            except ValidationError as error:
                for kind, problems in error.message_dict.items():
                    form.add_error(kind if kind in form.fields else None, problems)
            else:
                messages.success(request, _("Your notification choices were saved."))
                return redirect("notifications:settings")
        status = 400
    follows = list(selectors.follows_of(user=request.user))
    followed_regions = {f.region for f in follows if f.region}
    followed_organizations = {f.organization_id for f in follows if f.organization_id}
    context = {
        "form": form,
        "follows": follows,
        "regions": [(name, name in followed_regions) for name in selectors.regions()],
        "organizations": [
            (o, o.pk in followed_organizations)
            for o in Organization.objects.order_by("acronym").only("acronym", "name")
        ],
    }
    return render(request, "notifications/settings.html", context, status=status)


def _follow_target(request) -> tuple[FollowForm, str, Organization | None]:
    form = FollowForm(request.POST)
    if not form.is_valid():
        return form, "", None
    organization = None
    acronym = form.cleaned_data["organization"].strip()
    if acronym:
        organization = Organization.objects.filter(acronym__iexact=acronym).first()
        if organization is None:
            raise Http404(_("No organization with this acronym."))
    return form, form.cleaned_data["region"].strip(), organization


def _back(request, form):
    target = form.cleaned_data.get("next", "") if form.is_bound and form.is_valid() else ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:settings")


@require_POST
def follow(request):
    form, region, organization = _follow_target(request)
    try:
        services.follow_create(user=request.user, region=region, organization=organization)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("You follow %(what)s: its score alerts reach your inbox.")
            % {"what": organization.acronym if organization else region},
        )
    return _back(request, form)


@require_POST
def unfollow(request):
    form, region, organization = _follow_target(request)
    services.follow_delete(user=request.user, region=region, organization=organization)
    messages.success(
        request, _("You no longer follow %(what)s.") % {"what": organization.acronym if organization else region}
    )
    return _back(request, form)
