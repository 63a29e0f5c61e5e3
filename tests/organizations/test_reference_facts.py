"""Facts an analyst quotes to partners, asked by date through the API, and the data check that guards them."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from organizations.checks import PublishedCount, member_counts_off, read_published_counts
from organizations.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_for, viewer):
    return api_for(viewer)


@pytest.mark.parametrize(
    ("acronym", "on", "present", "absent", "count"),
    [
        # South Africa joined the OAU in 1994; Namibia (1990) and Eritrea (1993) came later too.
        ("AU", "1990-01-01", {"NGA", "KEN", "ZMB", "AGO", "ZWE"}, {"ZAF", "NAM", "ERI", "SSD"}, 50),
        ("AU", "1995-01-01", {"ZAF", "ERI"}, {"SSD"}, 53),
        # SADC on 2000-01-01: 14 members; Madagascar joined in 2005 and Comoros in 2017.
        ("SADC", "2000-01-01", {"ZAF", "MUS", "COD", "SYC"}, {"MDG", "COM"}, 14),
        # Seychelles left SADC from 2004-07-01 until 2008; Madagascar was suspended (still a member) 2009-2014.
        ("SADC", "2006-01-01", {"MDG"}, {"SYC", "COM"}, 14),
        ("SADC", "2010-06-01", {"MDG", "SYC"}, {"COM"}, 15),
        # IGAD was founded as IGADD in 1986; South Sudan did not exist before 2011.
        ("IGAD", "1980-01-01", set(), {"KEN", "ETH", "SSD"}, 0),
        ("IGAD", "1990-01-01", {"DJI", "ETH", "KEN", "SOM", "SDN", "UGA"}, {"ERI", "SSD"}, 6),
        ("IGAD", "2010-01-01", {"ERI"}, {"SSD"}, 7),
        ("IGAD", "2012-01-01", {"SSD"}, set(), 8),
        # Cabo Verde joined ECOWAS in 1977.
        ("ECOWAS", "1976-01-01", {"NGA", "GHA"}, {"CPV"}, 15),
        ("ECOWAS", "1978-01-01", {"CPV"}, set(), 16),
    ],
)
def test_members_on_past_dates(api, acronym, on, present, absent, count):
    body = api.get(f"/api/v1/organizations/{acronym}/members/", {"on": on}).json()
    found = {row["partner"] for row in body["members"]}
    assert body["count"] == count == len(found)
    assert present <= found
    assert not absent & found


def test_every_shipped_membership_has_a_first_day_and_a_source():
    shipped = Membership.objects.filter(source="reference_data")
    assert shipped.exists()
    assert not shipped.filter(joined__isnull=True).exists()
    igad = Membership.objects.get(organization__acronym="IGAD", partner__iso3="KEN")
    assert "IGADD" in igad.notes and igad.joined.isoformat() == "1986-01-16"


def test_names_are_the_ones_practitioners_write_with_the_iso_name_kept(api):
    congo = api.get("/api/v1/partners/COD/").json()
    assert congo["name"] == "Democratic Republic of the Congo"
    assert congo["official_name"] == "Congo, The Democratic Republic of the"
    assert api.get("/api/v1/partners/TUR/").json()["name"] == "Türkiye"
    assert api.get("/api/v1/partners/CIV/").json()["name"] == "Côte d'Ivoire"
    taiwan = api.get("/api/v1/partners/TWN/").json()
    assert (taiwan["region"], taiwan["subregion"]) == ("Asia", "Eastern Asia")
    assert api.get("/api/v1/partners/XKX/").json()["name"] == "Kosovo"


@pytest.mark.parametrize(
    ("query", "iso3"),
    [
        ("Democratic Republic of the Congo", "COD"),
        ("DR Congo", "COD"),
        ("Zaire", "COD"),
        ("Turkey", "TUR"),
        ("turkiye", "TUR"),
        ("Ivory", "CIV"),
        ("Cote d'Ivoire", "CIV"),
        ("Côte d’Ivoire", "CIV"),
        ("Cape Verde", "CPV"),
        ("Swaziland", "SWZ"),
        ("Burma", "MMR"),
        ("curacao", "CUW"),
        ("Aland", "ALA"),
    ],
)
def test_partner_search_finds_former_common_and_accent_free_names(api, query, iso3):
    body = api.get("/api/v1/partners/", {"q": query, "page_size": 50}).json()
    assert iso3 in {p["iso3"] for p in body["results"]}


def test_the_data_check_passes_on_the_shipped_data():
    out, err = io.StringIO(), io.StringIO()
    call_command("check_reference_data", stdout=out, stderr=err)
    assert "no problem found" in out.getvalue() and err.getvalue() == ""


def test_the_data_check_fails_on_an_empty_joined_an_overlap_a_missing_region_and_a_wrong_count():
    from partners.models import PartnerNation

    row = Membership.objects.get(organization__acronym="ECOWAS", partner__iso3="CPV")
    Membership.objects.filter(pk=row.pk).update(joined=None)
    Membership.objects.create(organization=row.organization, partner=row.partner, status="member", joined="2000-01-01")
    PartnerNation.objects.filter(iso3="NGA").update(region="")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_reference_data", stdout=io.StringIO(), stderr=err)
    text = err.getvalue()
    assert "ECOWAS CPV (member): no joined date" in text
    assert "ECOWAS CPV: member from" in text and "overlaps member from" in text
    assert "NGA (Nigeria): no UN M49 region" in text
    # The empty joined makes Cabo Verde a member in 1975 too: the published count of 15 catches it.
    assert "ECOWAS on 1975-05-28: 16 members in the data, 15 published" in text


def test_published_counts_are_compared_date_by_date():
    assert {c.organization for c in read_published_counts()} >= {"NATO", "EU", "AU", "SADC", "IGAD", "ECOWAS"}
    wrong = PublishedCount("NATO", datetime.date(1999, 3, 12), 18, "test")
    assert member_counts_off([wrong]) == ["NATO on 1999-03-12: 19 members in the data, 18 published (test)"]
