"""Reads about partner nations. Memberships are reached through the reverse relation, so this reference
app never imports the organizations app above it."""

from __future__ import annotations

import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from partners.models import PartnerNation
from partners.text import KEY_SEPARATOR, search_key


def _membership_model():
    return PartnerNation._meta.get_field("memberships").related_model


def partner_list(*, on: datetime.date | None = None) -> QuerySet[PartnerNation]:
    """Partners with ``current_memberships`` (member or suspended on ``on``) prefetched in one query."""
    on = on or timezone.localdate()
    membership = _membership_model()
    return PartnerNation.objects.order_by("name").prefetch_related(
        Prefetch(
            "memberships",
            queryset=membership.objects.members_on(on).select_related("organization").order_by("organization__acronym"),
            to_attr="current_memberships",
        )
    )


def partner_get(*, iso3: str) -> PartnerNation | None:
    return PartnerNation.objects.filter(iso3__iexact=iso3).first()


def partners_in_organization_on(*, acronym: str, on: datetime.date) -> QuerySet:
    """Ids of the partners that are members of the organization ``acronym`` on ``on``."""
    return _membership_model().objects.members_on(on).filter(organization__acronym__iexact=acronym).values("partner_id")


REGION_LEVELS = ("region", "subregion", "intermediate_region")  # the UN M49 levels, widest first


def region_choices(level: str = "region") -> list[str]:
    """The names in use at one UN M49 level (``REGION_LEVELS``), sorted."""
    return list(PartnerNation.objects.exclude(**{level: ""}).order_by(level).values_list(level, flat=True).distinct())


def organization_acronyms() -> list[str]:
    organization = _membership_model()._meta.get_field("organization").related_model
    return list(organization.objects.order_by("acronym").values_list("acronym", flat=True))


def membership_timeline(*, partner: PartnerNation, on: datetime.date | None = None) -> list:
    """Every dated membership state of the partner, oldest first, each marked ``is_current`` if in force."""
    on = on or timezone.localdate()
    rows = list(
        _membership_model()
        .objects.filter(partner=partner)
        .select_related("organization")
        .order_by("organization__acronym", "joined")
    )
    for row in rows:
        row.is_current = (row.joined is None or row.joined <= on) and (row.left is None or on < row.left)
    return rows


def partner_ids_named(text: str) -> QuerySet:
    """Ids of the partners whose name, official name or an alias contains ``text`` (accents and case ignored)."""
    key = search_key(text)
    if not key:
        return PartnerNation.objects.none().values("pk")
    return PartnerNation.objects.filter(search_key__contains=key).values("pk")


def partner_by_name(text: str) -> PartnerNation | None:
    """The one partner whose code, name, official name or an alias is exactly ``text`` (accents and case
    ignored): "Ivory Coast" -> CIV. None when no partner or more than one is named so."""
    value = str(text or "").strip()
    if not value:
        return None
    by_code = PartnerNation.objects.filter(Q(iso3__iexact=value) | Q(iso2__iexact=value)).first()
    if by_code is not None:
        return by_code
    key = search_key(value)
    found = list(
        PartnerNation.objects.filter(
            Q(search_key__contains=KEY_SEPARATOR + key + KEY_SEPARATOR) | Q(aliases__key=key)
        ).distinct()[:2]
    )
    return found[0] if len(found) == 1 else None
