"""Writes of the partners app: loading ISO 3166-1 countries with their UN M49 regions and map points."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pycountry
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from partners.models import PartnerAlias, PartnerNation
from partners.text import names_key, search_key

DATA_DIR = Path(__file__).resolve().parent / "data"
M49_FILE = DATA_DIR / "m49.csv"
POINTS_FILE = DATA_DIR / "points.csv"
NAMES_FILE = DATA_DIR / "names.csv"  # display names where the ISO short name is not what practitioners write
ALIASES_FILE = DATA_DIR / "aliases.csv"  # former, common and UN names
REGIONS_EXTRA_FILE = DATA_DIR / "regions_extra.csv"  # placements the M49 overview does not make (Taiwan, Kosovo)
EXTRA_COUNTRIES_FILE = DATA_DIR / "extra_countries.csv"  # user-assigned codes outside ISO 3166-1 (Kosovo)

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


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_names(path: Path = NAMES_FILE) -> dict[str, str]:
    return {row["iso3"]: row["name"] for row in _read(path)}


def read_aliases(path: Path = ALIASES_FILE) -> list[tuple[str, str, str]]:
    """(iso3, alias, kind) rows of the shipped alias table."""
    return [(row["iso3"], row["alias"], row["kind"]) for row in _read(path)]


def country_display_name(country, names: dict[str, str] | None = None) -> str:
    """The name practitioners write ("Democratic Republic of the Congo", "Bolivia", "South Korea"): the
    shipped names table, else pycountry's common name, else the ISO short name."""
    names = read_names() if names is None else names
    return names.get(country.alpha_3) or getattr(country, "common_name", None) or country.name


def _countries() -> list:
    """pycountry's ISO 3166-1 countries plus the shipped user-assigned codes (Kosovo, XKX)."""
    extra = [
        SimpleNamespace(
            alpha_3=row["iso3"],
            alpha_2=row["iso2"],
            numeric=row["iso_numeric"],
            name=row["name"],
            official_name=row["official_name"],
            point=(float(row["latitude"]), float(row["longitude"])),
        )
        for row in _read(EXTRA_COUNTRIES_FILE)
    ]
    return [*pycountry.countries, *extra]


def expected_partner_rows(*, m49_path: Path = M49_FILE, points_path: Path = POINTS_FILE) -> dict[str, dict]:
    m49 = read_m49(m49_path)
    m49.update({row["iso3"]: row for row in _read(REGIONS_EXTRA_FILE)})
    points = read_points(points_path)
    names = read_names()
    rows = {}
    for country in _countries():
        region = m49.get(country.alpha_3, {})
        latitude, longitude = points.get(country.alpha_3, getattr(country, "point", (None, None)))
        rows[country.alpha_3] = {
            "iso2": country.alpha_2,
            "iso_numeric": country.numeric,
            "name": country_display_name(country, names),
            # The ISO name is kept: the formal one where ISO has it ("French Republic"), else the ISO short
            # name ("Congo, The Democratic Republic of the").
            "official_name": getattr(country, "official_name", "") or country.name,
            "region": region.get("region", ""),
            "subregion": region.get("subregion", ""),
            "intermediate_region": region.get("intermediate_region", ""),
            "latitude": latitude,
            "longitude": longitude,
        }
    return rows


def expected_aliases(rows: dict[str, dict]) -> dict[str, list[tuple[str, str]]]:
    """iso3 -> [(alias, kind)]: the shipped table plus the ISO short name where it is not the display name."""
    found: dict[str, list[tuple[str, str]]] = {}
    for country in pycountry.countries:
        if country.name != rows[country.alpha_3]["name"]:
            found.setdefault(country.alpha_3, []).append((country.name, PartnerAlias.Kind.ISO))
    for iso3, alias, kind in read_aliases():
        found.setdefault(iso3, []).append((alias, kind))
    return found


@transaction.atomic
def partner_nations_load(*, m49_path: Path = M49_FILE, points_path: Path = POINTS_FILE) -> LoadResult:
    """Create or update one PartnerNation per pycountry country. A second run changes nothing.

    Countries are never deleted here: engagements may refer to them.
    """
    expected = expected_partner_rows(m49_path=m49_path, points_path=points_path)
    aliases = expected_aliases(expected)
    for iso3, values in expected.items():
        names = [values["name"], values["official_name"], *(alias for alias, _kind in aliases.get(iso3, []))]
        values["search_key"] = names_key(names)
    existing = {p.iso3: p for p in PartnerNation.objects.all()}
    result = LoadResult()
    to_create = []
    for iso3, values in expected.items():
        partner = existing.get(iso3)
        if partner is None:
            to_create.append(PartnerNation(iso3=iso3, **values))
            continue
        changed = [field for field, value in values.items() if getattr(partner, field) != value]
        if changed == ["search_key"]:
            # Only the derived key moved (a new alias): no history record for a field history does not keep.
            PartnerNation.objects.filter(pk=partner.pk).update(search_key=values["search_key"])
            result.updated += 1
        elif changed:
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
    _aliases_load(aliases)
    return result


def _aliases_load(aliases: dict[str, list[tuple[str, str]]]) -> None:
    """Make the alias rows exactly the shipped ones (they are reference data only: nobody edits them)."""
    ids = dict(PartnerNation.objects.values_list("iso3", "pk"))
    wanted = {
        (ids[iso3], search_key(alias)): (alias, kind)
        for iso3, rows in aliases.items()
        if iso3 in ids
        for alias, kind in rows
    }
    current = {(a.partner_id, a.key): a for a in PartnerAlias.objects.all()}
    stale = [a.pk for key, a in current.items() if key not in wanted or (a.name, a.kind) != wanted[key]]
    PartnerAlias.objects.filter(pk__in=stale).delete()
    kept = {key for key, a in current.items() if a.pk not in stale}
    PartnerAlias.objects.bulk_create(
        [
            PartnerAlias(partner_id=partner_id, key=key, name=name, kind=kind)
            for (partner_id, key), (name, kind) in wanted.items()
            if (partner_id, key) not in kept
        ]
    )
