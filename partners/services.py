"""Writes of the partners app: loading ISO 3166-1 countries with their UN M49 regions and map points."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pycountry
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from partners.models import PartnerNation

DATA_DIR = Path(__file__).resolve().parent / "data"
M49_FILE = DATA_DIR / "m49.csv"
POINTS_FILE = DATA_DIR / "points.csv"

FIELDS = [
    "iso2",
    "iso_numeric",
    "name",
    "official_name",
    "region",
    "subregion",
    "intermediate_region",
    "latitude",
    "longitude",
]


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def read_m49(path: Path = M49_FILE) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["iso3"]: row for row in csv.DictReader(handle)}


def read_points(path: Path = POINTS_FILE) -> dict[str, tuple[float, float]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["iso3"]: (float(row["latitude"]), float(row["longitude"])) for row in csv.DictReader(handle)}


def country_display_name(country) -> str:
    """The name people use ("Bolivia", "South Korea"), falling back to the ISO short name."""
    return getattr(country, "common_name", None) or country.name


def expected_partner_rows(*, m49_path: Path = M49_FILE, points_path: Path = POINTS_FILE) -> dict[str, dict]:
    m49 = read_m49(m49_path)
    points = read_points(points_path)
    rows = {}
    for country in pycountry.countries:
        region = m49.get(country.alpha_3, {})
        latitude, longitude = points.get(country.alpha_3, (None, None))
        rows[country.alpha_3] = {
            "iso2": country.alpha_2,
            "iso_numeric": country.numeric,
            "name": country_display_name(country),
            "official_name": getattr(country, "official_name", "") or "",
            "region": region.get("region", ""),
            "subregion": region.get("subregion", ""),
            "intermediate_region": region.get("intermediate_region", ""),
            "latitude": latitude,
            "longitude": longitude,
        }
    return rows


@transaction.atomic
def partner_nations_load(*, m49_path: Path = M49_FILE, points_path: Path = POINTS_FILE) -> LoadResult:
    """Create or update one PartnerNation per pycountry country. A second run changes nothing.

    Countries are never deleted here: engagements may refer to them.
    """
    expected = expected_partner_rows(m49_path=m49_path, points_path=points_path)
    existing = {p.iso3: p for p in PartnerNation.objects.all()}
    result = LoadResult()
    to_create = []
    for iso3, values in expected.items():
        partner = existing.get(iso3)
        if partner is None:
            to_create.append(PartnerNation(iso3=iso3, **values))
            continue
        changed = [field for field, value in values.items() if getattr(partner, field) != value]
        if changed:
            for field in changed:
                setattr(partner, field, values[field])
            partner._change_reason = "Reference data reloaded"
            partner.save()
            result.updated += 1
        else:
            result.unchanged += 1
    if to_create:
        bulk_create_with_history(to_create, PartnerNation, default_change_reason="Reference data loaded")
        result.created = len(to_create)
    return result
