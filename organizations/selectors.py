"""Reads about organizations and memberships. "Members on date D" lives here and in
``MembershipQuerySet``: pages, the API and scoring all ask the same question the same way."""

from __future__ import annotations

import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from organizations.choices import MEMBER_STATUSES
from organizations.models import Membership, Organization, active_on_q


def today() -> datetime.date:
    return timezone.localdate()


def organization_list(*, on: datetime.date | None = None) -> QuerySet[Organization]:
    """Organizations with their member count on ``on`` (today by default), parent and headquarters."""
    on = on or today()
    return (
        Organization.objects.select_related("parent", "headquarters")
        .annotate(
            member_count=Count(
                "memberships",
                filter=Q(memberships__status__in=MEMBER_STATUSES) & active_on_q(on, prefix="memberships__"),
            ),
            suspended_count=Count(
                "memberships",
                filter=Q(memberships__status="suspended") & active_on_q(on, prefix="memberships__"),
            ),
        )
        .order_by("acronym")
    )


def organization_get(*, acronym: str) -> Organization | None:
    return (
        Organization.objects.select_related("parent", "headquarters")
        .prefetch_related(Prefetch("children", queryset=Organization.objects.order_by("acronym")))
        .filter(acronym__iexact=acronym)
        .first()
    )


def members_on(*, organization: Organization, on: datetime.date) -> QuerySet[Membership]:
    """The membership rows that make a partner a member of ``organization`` on ``on``."""
    return (
        Membership.objects.members_on(on)
        .filter(organization=organization)
        .select_related("partner")
        .order_by("partner__name")
    )


def organization_history(*, organization: Organization) -> QuerySet[Membership]:
    """Every dated row of the organization, newest change first."""
    return (
        Membership.objects.filter(organization=organization)
        .select_related("partner")
        .order_by("-joined", "partner__name")
    )


def organizations_of(*, partner, on: datetime.date) -> QuerySet[Membership]:
    """The partner's memberships (member or suspended) on ``on``, with the organization loaded."""
    return (
        Membership.objects.members_on(on)
        .filter(partner=partner)
        .select_related("organization")
        .order_by("organization__acronym")
    )


def overlapping_memberships(
    *, organization_id: int, partner_id: int, joined, left, exclude_id: int | None = None
) -> QuerySet[Membership]:
    """Rows of the same partner and organization whose period overlaps [joined, left)."""
    rows = Membership.objects.filter(organization_id=organization_id, partner_id=partner_id)
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    if left is not None:
        rows = rows.filter(Q(joined__isnull=True) | Q(joined__lt=left))
    if joined is not None:
        rows = rows.filter(Q(left__isnull=True) | Q(left__gt=joined))
    return rows
