"""The rules of notifications: who gets what by default, what may be followed, who may read an item."""

from __future__ import annotations

from django.utils.translation import gettext as _

from notifications.choices import DEFAULT_DELIVERY, Delivery


def default_delivery(kind: str) -> str:
    return DEFAULT_DELIVERY.get(kind, Delivery.DIGEST)


def follow_refusal(*, region: str, organization) -> dict | None:
    """Why a follow cannot be recorded, by field; None when it can."""
    from partners.models import PartnerNation

    if organization is None and not region:
        return {"region": [_("Choose a region or an organization to follow.")]}
    if organization is not None and region:
        return {"region": [_("Follow a region or an organization, not both at once.")]}
    if region and not PartnerNation.objects.filter(region_levels_q(region)).exists():
        return {"region": [_("No UN M49 region of that name.")]}
    return None


def region_levels_q(region: str):
    from django.db.models import Q

    return Q(region=region) | Q(subregion=region) | Q(intermediate_region=region)
