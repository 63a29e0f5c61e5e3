"""Who was a member on date D: the facts the issue names, history kept, reloads idempotent."""

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from organizations import selectors
from organizations.models import Membership, Organization
from organizations.services import DATA_FILE, reference_data_load
from partners.models import PartnerNation
from partners.selectors import membership_timeline

pytestmark = pytest.mark.django_db

D = datetime.date


def count_on(acronym, day):
    return selectors.members_on(organization=Organization.objects.get(acronym=acronym), on=day).count()


def status_on(acronym, iso3, day):
    rows = Membership.objects.active_on(day).filter(organization__acronym=acronym, partner__iso3=iso3)
    return [row.status for row in rows]


def test_nato_grows_from_31_to_32_when_sweden_joins(reference_data):
    assert count_on("NATO", D(2024, 3, 6)) == 31
    assert count_on("NATO", D(2024, 3, 7)) == 32
    assert count_on("NATO", D(2023, 4, 3)) == 30
    assert count_on("NATO", D(2023, 4, 4)) == 31


def test_ecowas_loses_three_members_on_2025_01_29(reference_data):
    assert count_on("ECOWAS", D(2025, 1, 28)) == 15
    assert count_on("ECOWAS", D(2025, 1, 29)) == 12
    assert status_on("ECOWAS", "MLI", D(2025, 2, 1)) == ["withdrawn"]
    assert status_on("ECOWAS", "MRT", D(1999, 1, 1)) == ["member"]
    assert status_on("ECOWAS", "MRT", D(2005, 1, 1)) == ["withdrawn"]


def test_gabon_suspended_then_readmitted_in_the_au(reference_data):
    assert status_on("AU", "GAB", D(2024, 1, 1)) == ["suspended"]
    assert status_on("AU", "GAB", D(2025, 5, 1)) == ["member"]
    # A suspended member is still a member.
    gabon = PartnerNation.objects.get(iso3="GAB")
    on_2024 = selectors.organizations_of(partner=gabon, on=D(2024, 1, 1))
    assert "AU" in {m.organization.acronym for m in on_2024}
    assert count_on("AU", D(2025, 1, 1)) == 55


def test_other_organizations_have_their_published_sizes(reference_data):
    today = D(2025, 11, 1)
    assert count_on("EU", today) == 27
    assert count_on("UN", today) == 193
    assert count_on("SADC", today) == 16
    assert count_on("EAC", today) == 8
    assert count_on("AES", today) == 3
    assert count_on("ASEAN", today) == 11
    assert count_on("ASEAN", D(2025, 10, 25)) == 10
    parents = dict(Organization.objects.filter(parent__isnull=False).values_list("acronym", "parent__acronym"))
    assert parents == {"ECOWAS": "AU", "SADC": "AU", "ECCAS": "AU", "EAC": "AU", "IGAD": "AU"}


def test_observers_and_partners_are_not_members(reference_data):
    holy_see = PartnerNation.objects.get(iso3="VAT")
    un = Organization.objects.get(acronym="UN")
    assert status_on("UN", "VAT", D(2025, 1, 1)) == ["observer"]
    assert not selectors.members_on(organization=un, on=D(2025, 1, 1)).filter(partner=holy_see).exists()


def test_membership_history_of_a_partner_keeps_every_state(reference_data):
    morocco = PartnerNation.objects.get(iso3="MAR")
    au_rows = [
        (row.status, row.joined, row.left)
        for row in membership_timeline(partner=morocco)
        if row.organization.acronym == "AU"
    ]
    assert [status for status, *_ in au_rows] == ["member", "withdrawn", "member"]
    assert au_rows[-1][1] == D(2017, 1, 30)
    assert au_rows[-1][2] is None


def test_reloading_changes_nothing(reference_data):
    before = list(Membership.objects.order_by("pk").values())
    history = Membership.history.count()
    result = reference_data_load()
    assert result.memberships["created"] == result.memberships["updated"] == result.memberships["removed"] == 0
    assert list(Membership.objects.order_by("pk").values()) == before
    assert Membership.history.count() == history


def test_an_edited_file_updates_named_rows_and_never_deletes_user_rows(reference_data, tmp_path):
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    sweden = next(r for r in data["memberships"] if r["organization"] == "NATO" and r["partner"] == "SWE")
    sweden["notes"] = "Edited in a newer data file"
    dropped = next(r for r in data["memberships"] if r["organization"] == "EU" and r["partner"] == "MLT")
    data["memberships"].remove(dropped)
    edited = tmp_path / "organizations.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    user_row = Membership.objects.create(
        organization=Organization.objects.get(acronym="NATO"),
        partner=PartnerNation.objects.get(iso3="UKR"),
        status="partner",
        joined=D(1997, 7, 9),
        notes="Entered by an analyst",
    )
    result = reference_data_load(path=edited)
    assert result.memberships["updated"] == 1
    assert result.memberships["removed"] == 1
    assert (
        Membership.objects.get(organization__acronym="NATO", partner__iso3="SWE").notes == "Edited in a newer data file"
    )
    assert not Membership.objects.filter(organization__acronym="EU", partner__iso3="MLT").exists()
    assert Membership.objects.filter(pk=user_row.pk).exists()


def test_a_bad_file_loads_nothing(reference_data, tmp_path):
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    data["memberships"][0]["notes"] = "changed"
    data["memberships"].append(
        {"organization": "NATO", "partner": "XXX", "status": "member", "joined": None, "left": None, "notes": ""}
    )
    bad = tmp_path / "organizations.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown country code"):
        reference_data_load(path=bad)
    assert not Membership.objects.filter(notes="changed").exists()


def test_overlapping_rows_for_one_partner_are_refused(reference_data):
    row = Membership(
        organization=Organization.objects.get(acronym="NATO"),
        partner=PartnerNation.objects.get(iso3="FIN"),
        status="suspended",
        joined=D(2024, 1, 1),
    )
    with pytest.raises(ValidationError, match="overlaps"):
        row.full_clean()


def test_the_database_refuses_a_period_ending_before_it_starts(reference_data):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            organization=Organization.objects.get(acronym="NATO"),
            partner=PartnerNation.objects.get(iso3="UKR"),
            status="partner",
            joined=D(2020, 1, 1),
            left=D(2019, 1, 1),
        )


def test_the_management_command_reports_counts(reference_data, capsys):
    call_command("load_reference_data")
    out = capsys.readouterr().out
    assert "Partner nations: 0 created, 0 updated, 250 unchanged" in out
    assert "data as of 2025-11-01" in out
