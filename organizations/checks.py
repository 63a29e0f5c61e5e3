"""Checks of the reference data as loaded: what `python manage.py check_reference_data` reports.

Reads only. Each check returns sentences a data maintainer can act on; no sentence means the data pass.
"""

from __future__ import annotations

import csv
import datetime
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Count, Q

from organizations.choices import MEMBER_STATUSES
from organizations.models import Membership, Organization, active_on_q
from partners.models import PartnerNation

PUBLISHED_COUNTS_FILE = Path(__file__).resolve().parent / "data" / "published_counts.csv"
# M49 gives Antarctica a code but no region; it is no country anyone engages, so it is not a problem.
NO_REGION_EXPECTED = {"ATA"}


@dataclass(frozen=True)
class PublishedCount:
    organization: str
    date: datetime.date
    members: int
    source: str


def read_published_counts(path: Path = PUBLISHED_COUNTS_FILE) -> list[PublishedCount]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            PublishedCount(
                row["organization"], datetime.date.fromisoformat(row["date"]), int(row["members"]), row["source"]
            )
            for row in csv.DictReader(handle)
        ]


def memberships_without_joined() -> list[str]:
    rows = Membership.objects.filter(joined__isnull=True).select_related("organization", "partner")
    return [
        f"{row.organization.acronym} {row.partner.iso3} ({row.status}): no joined date, so it counts as a member "
        "on every past date"
        for row in rows.order_by("organization__acronym", "partner__iso3")
    ]


def overlapping_memberships() -> list[str]:
    rows = Membership.objects.select_related("organization", "partner").order_by(
        "organization__acronym", "partner__iso3", "joined"
    )
    problems, previous = [], None
    for row in rows:
        same_pair = previous is not None and (previous.organization_id, previous.partner_id) == (
            row.organization_id,
            row.partner_id,
        )
        # Sorted by joined: a period overlaps the one before if it starts before that one ends.
        if same_pair and (previous.left is None or row.joined is None or row.joined < previous.left):
            problems.append(
                f"{row.organization.acronym} {row.partner.iso3}: {row.status} from {row.joined or '?'} overlaps "
                f"{previous.status} from {previous.joined or '?'} until {previous.left or 'today'}"
            )
        previous = row
    return problems


def countries_without_region() -> list[str]:
    rows = PartnerNation.objects.filter(region="").exclude(iso3__in=NO_REGION_EXPECTED).order_by("iso3")
    return [f"{p.iso3} ({p.name}): no UN M49 region" for p in rows]


def member_counts_off(counts: list[PublishedCount] | None = None) -> list[str]:
    """Organizations whose member count on a known date differs from the published count."""
    counts = read_published_counts() if counts is None else counts
    known = set(Organization.objects.values_list("acronym", flat=True))
    problems = []
    for item in counts:
        if item.organization not in known:
            problems.append(f"{item.organization}: listed in the published counts but not loaded")
            continue
        found = (
            Organization.objects.filter(acronym=item.organization)
            .aggregate(
                n=Count(
                    "memberships",
                    filter=Q(memberships__status__in=MEMBER_STATUSES) & active_on_q(item.date, prefix="memberships__"),
                )
            )
            .get("n")
        )
        if found != item.members:
            problems.append(
                f"{item.organization} on {item.date}: {found} members in the data, {item.members} published "
                f"({item.source})"
            )
    return problems


CHECKS = {
    "memberships without a joined date": memberships_without_joined,
    "overlapping membership rows": overlapping_memberships,
    "countries without a region": countries_without_region,
    "member counts that differ from the published ones": member_counts_off,
}


def reference_data_problems() -> dict[str, list[str]]:
    """Check name -> its problems (an empty list when it passes)."""
    return {name: check() for name, check in CHECKS.items()}
