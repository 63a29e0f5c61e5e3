"""Notification reads: a user's inbox, their unread count, their choices and follows."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.choices import NotificationKind
from notifications.models import Follow, Notification, NotificationPreference
from notifications.rules import default_delivery


def inbox(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(recipient=user)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created", "-id")


def unread_count(*, user) -> int:
    """One COUNT on the partial index of unread rows: cheap enough for every page's header."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def preferences_of(*, user) -> dict[str, str]:
    """The user's delivery per kind, defaults filled in (every kind present)."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    return {kind: chosen.get(kind, default_delivery(kind)) for kind in NotificationKind.values}


def follows_of(*, user) -> QuerySet[Follow]:
    return Follow.objects.filter(user=user).select_related("organization")


def regions() -> list[str]:
    """The UN M49 regions and subregions that have partners, to follow."""
    from partners.models import PartnerNation

    names = set()
    for row in PartnerNation.objects.values_list("region", "subregion").distinct():
        names.update(name for name in row if name)
    return sorted(names)


def is_following(*, user, region: str = "", organization=None) -> bool:
    follows = Follow.objects.filter(user=user)
    if organization is not None:
        return follows.filter(organization=organization).exists()
    return bool(region) and follows.filter(region=region).exists()
