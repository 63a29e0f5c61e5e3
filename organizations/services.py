"""Writes of the organizations app: loading the shipped organizations and their dated memberships.

The data file (``data/organizations.json``) names every row it knows. Loading is idempotent: rows that
match are left alone (no history noise), changed rows are updated, and rows that came from an earlier
version of the file but are gone from it are removed. Rows entered by users are never touched.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from organizations.choices import MembershipSource, MembershipStatus, OrganizationKind
from organizations.models import Membership, Organization
from partners.models import PartnerNation

DATA_FILE = Path(__file__).resolve().parent / "data" / "organizations.json"
ORGANIZATION_FIELDS = ["name", "kind", "founded", "headquarters_id", "parent_id", "description"]


@dataclass
class LoadResult:
    as_of: datetime.date | None = None
    organizations: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    memberships: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0, "removed": 0}
    )


def _date(value, where: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: {value!r} is not a YYYY-MM-DD date.") from exc


def read_reference_file(path: Path = DATA_FILE) -> dict:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _validate(data: dict, partners: dict[str, int]) -> None:
    """Refuse the whole file on the first inconsistency: nothing is loaded half-way."""
    kinds = set(OrganizationKind.values)
    statuses = set(MembershipStatus.values)
    acronyms = {org["acronym"] for org in data["organizations"]}
    for org in data["organizations"]:
        where = f"organization {org.get('acronym')!r}"
        if org["kind"] not in kinds:
            raise ValidationError(f"{where}: unknown kind {org['kind']!r}.")
        if org.get("headquarters") and org["headquarters"] not in partners:
            raise ValidationError(f"{where}: unknown headquarters country {org['headquarters']!r}.")
        if org.get("parent") and org["parent"] not in acronyms:
            raise ValidationError(f"{where}: unknown parent {org['parent']!r}.")
    periods: dict[tuple[str, str], list[tuple]] = {}
    for index, row in enumerate(data["memberships"]):
        where = f"membership #{index + 1} ({row.get('organization')} {row.get('partner')})"
        if row["organization"] not in acronyms:
            raise ValidationError(f"{where}: unknown organization.")
        if row["partner"] not in partners:
            raise ValidationError(f"{where}: unknown country code.")
        if row["status"] not in statuses:
            raise ValidationError(f"{where}: unknown status {row['status']!r}.")
        joined, left = _date(row.get("joined"), where), _date(row.get("left"), where)
        if joined is None:
            # An empty first day would count the state on every past date (DESIGN.md, "Data model").
            raise ValidationError(f"{where}: 'joined' is required in the shipped data (see data/README.md).")
        if joined and left and left <= joined:
            raise ValidationError(f"{where}: 'left' must be after 'joined'.")
        periods.setdefault((row["organization"], row["partner"]), []).append((joined, left, where))
    for rows in periods.values():
        rows.sort(key=lambda r: r[0] or datetime.date.min)
        for (_j1, left1, where1), (joined2, _l2, where2) in zip(rows, rows[1:], strict=False):
            if left1 is None or joined2 is None or joined2 < left1:
                raise ValidationError(f"{where2} overlaps {where1}.")


def _load_organizations(data: dict, partners: dict[str, int], result: LoadResult) -> dict[str, Organization]:
    existing = {org.acronym: org for org in Organization.objects.all()}
    # Parents first, so a child can point at its parent's id.
    pending = sorted(data["organizations"], key=lambda org: org.get("parent") is not None)
    for record in pending:
        values = {
            "name": record["name"],
            "kind": record["kind"],
            "founded": _date(record.get("founded"), record["acronym"]),
            "headquarters_id": partners.get(record.get("headquarters") or ""),
            "parent_id": existing[record["parent"]].pk if record.get("parent") else None,
            "description": record.get("description") or "",
        }
        org = existing.get(record["acronym"])
        if org is None:
            org = Organization(acronym=record["acronym"], **values)
            org._change_reason = "Reference data loaded"
            org.save()
            existing[org.acronym] = org
            result.organizations["created"] += 1
        elif any(getattr(org, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(org, name, value)
            org._change_reason = "Reference data reloaded"
            org.save()
            result.organizations["updated"] += 1
        else:
            result.organizations["unchanged"] += 1
    return existing


def _load_memberships(data: dict, partners: dict[str, int], orgs: dict[str, Organization], result: LoadResult) -> None:
    current = {}
    for row in Membership.objects.filter(source=MembershipSource.REFERENCE_DATA):
        current[(row.organization_id, row.partner_id, row.status, row.joined)] = row
    seen = set()
    to_create = []
    for record in data["memberships"]:
        org_id, partner_id = orgs[record["organization"]].pk, partners[record["partner"]]
        joined, left = _date(record.get("joined"), "joined"), _date(record.get("left"), "left")
        key = (org_id, partner_id, record["status"], joined)
        seen.add(key)
        notes = (record.get("notes") or "")[:300]
        row = current.get(key)
        if row is None:
            to_create.append(
                Membership(
                    organization_id=org_id,
                    partner_id=partner_id,
                    status=record["status"],
                    joined=joined,
                    left=left,
                    notes=notes,
                    source=MembershipSource.REFERENCE_DATA,
                )
            )
        elif row.left != left or row.notes != notes:
            row.left, row.notes = left, notes
            row._change_reason = "Reference data reloaded"
            row.save()
            result.memberships["updated"] += 1
        else:
            result.memberships["unchanged"] += 1
    for key, row in current.items():
        if key not in seen:
            row._change_reason = "No longer in the reference data"
            row.delete()
            result.memberships["removed"] += 1
    if to_create:
        bulk_create_with_history(to_create, Membership, default_change_reason="Reference data loaded")
        result.memberships["created"] = len(to_create)


@transaction.atomic
def reference_data_load(*, path: Path = DATA_FILE) -> LoadResult:
    """Load organizations and memberships from the shipped file; all or nothing."""
    data = read_reference_file(path)
    partners = dict(PartnerNation.objects.values_list("iso3", "pk"))
    _validate(data, partners)
    result = LoadResult(as_of=_date(data.get("as_of"), "as_of"))
    orgs = _load_organizations(data, partners, result)
    _load_memberships(data, partners, orgs, result)
    return result
