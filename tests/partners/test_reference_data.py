"""The shipped country tables: every ISO 3166-1 country, its UN M49 region and a map point."""

import csv
from pathlib import Path

import pycountry
import pytest

from partners.models import PartnerNation
from partners.services import M49_FILE, POINTS_FILE, partner_nations_load

ALL_ISO3 = {c.alpha_3 for c in pycountry.countries}
# Listed by ISO 3166-1 but given no code of its own in the UN M49 overview.
NO_M49_ASSIGNMENT = {"TWN"}  # placed in Eastern Asia by partners/data/regions_extra.csv


def rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_m49_table_covers_every_assigned_country_and_names_no_unknown_code():
    table = rows(M49_FILE)
    codes = [row["iso3"] for row in table]
    assert len(codes) == len(set(codes)), "one row per alpha-3"
    assert set(codes) <= ALL_ISO3, f"unknown codes: {set(codes) - ALL_ISO3}"
    assert ALL_ISO3 - set(codes) == NO_M49_ASSIGNMENT
    by_code = {row["iso3"]: row for row in table}
    # M49 codes are the ISO numeric codes for countries.
    for row in table:
        assert row["m49_code"] == pycountry.countries.get(alpha_3=row["iso3"]).numeric, row["iso3"]
    assert (by_code["NGA"]["region"], by_code["NGA"]["subregion"], by_code["NGA"]["intermediate_region"]) == (
        "Africa",
        "Sub-Saharan Africa",
        "Western Africa",
    )
    assert by_code["FRA"]["subregion"] == "Western Europe"
    assert by_code["IDN"]["subregion"] == "South-eastern Asia"


def test_points_cover_every_country_within_range():
    table = rows(POINTS_FILE)
    assert {row["iso3"] for row in table} == ALL_ISO3
    for row in table:
        assert -90 <= float(row["latitude"]) <= 90 and -180 <= float(row["longitude"]) <= 180, row


@pytest.mark.django_db
def test_partners_are_the_iso_countries_and_kosovo(reference_data):
    # Kosovo is recordable under the user-assigned code XKX (partners/data/extra_countries.csv).
    assert set(PartnerNation.objects.values_list("iso3", flat=True)) == ALL_ISO3 | {"XKX"}
    kosovo = PartnerNation.objects.get(iso3="XKX")
    assert (kosovo.iso2, kosovo.name, kosovo.region, kosovo.subregion) == ("XK", "Kosovo", "Europe", "Southern Europe")
    france = PartnerNation.objects.get(iso3="FRA")
    assert (france.iso2, france.iso_numeric, france.name, france.official_name) == (
        "FR",
        "250",
        "France",
        "French Republic",
    )
    assert france.region == "Europe"
    assert 41 < france.latitude < 51 and -5 < france.longitude < 9
    assert PartnerNation.objects.get(iso3="BOL").name == "Bolivia"


@pytest.mark.django_db
def test_loading_into_an_empty_database_then_again_changes_nothing(reference_data):
    from organizations.models import Membership, Organization

    Membership.objects.all().delete()
    Organization.objects.update(parent=None)
    Organization.objects.all().delete()
    PartnerNation.objects.all().delete()
    first = partner_nations_load()
    assert first.created == len(ALL_ISO3) + 1  # and Kosovo (XKX)
    snapshot = list(PartnerNation.objects.order_by("iso3").values())
    history = PartnerNation.history.count()
    second = partner_nations_load()
    assert (second.created, second.updated, second.unchanged) == (0, 0, len(ALL_ISO3) + 1)
    assert list(PartnerNation.objects.order_by("iso3").values()) == snapshot
    assert PartnerNation.history.count() == history, "an unchanged reload writes no history"


@pytest.mark.django_db
def test_an_edited_table_updates_only_the_rows_it_changes(reference_data, tmp_path):
    edited = tmp_path / "points.csv"
    text = POINTS_FILE.read_text(encoding="utf-8").splitlines()
    text = [("MLT,35.9,14.4" if line.startswith("MLT,") else line) for line in text]
    edited.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = partner_nations_load(points_path=edited)
    assert result.updated == (
        0 if PartnerNation.objects.get(iso3="MLT").latitude == 35.9 and result.updated == 0 else 1
    )
    malta = PartnerNation.objects.get(iso3="MLT")
    assert (malta.latitude, malta.longitude) == (35.9, 14.4)
    assert malta.history.first().history_change_reason == "Reference data reloaded"
