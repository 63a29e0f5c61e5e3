import csv
import io

import pytest

pytestmark = pytest.mark.django_db


def content(response):
    return response.content.decode()


def test_list_shows_member_counts(client_for, viewer, reference_data, django_assert_max_num_queries):
    client = client_for(viewer)
    with django_assert_max_num_queries(8):
        html = content(client.get("/organizations/"))
    for acronym in ("NATO", "AU", "ECOWAS", "SADC", "EU", "ASEAN", "UN", "AES"):
        assert f"/organizations/{acronym}/" in html
    html = content(client.get("/organizations/", {"kind": "military_alliance"}))
    assert "NATO" in html and "ECOWAS" not in html


def test_list_csv(client_for, viewer, reference_data):
    response = client_for(viewer).get("/organizations/", {"export": "csv", "q": "nato"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert len(rows) == 1 and rows[0]["acronym"] == "NATO"
    assert int(rows[0]["members_today"]) == 32


def test_members_on_a_chosen_date(client_for, viewer, reference_data, django_assert_max_num_queries):
    client = client_for(viewer)
    with django_assert_max_num_queries(10):
        html = content(client.get("/organizations/NATO/", {"on": "2024-03-06"}))
    assert "31 members on 2024-03-06" in html
    assert "32 members on 2024-03-07" in content(client.get("/organizations/NATO/", {"on": "2024-03-07"}))
    html = content(client.get("/organizations/ECOWAS/", {"on": "2025-01-29"}))
    assert "12 members on 2025-01-29" in html
    assert "Membership history" in html and "Withdrawn" in html


def test_a_bad_date_gets_a_400_with_the_message_beside_the_field(client_for, viewer, reference_data):
    response = client_for(viewer).get("/organizations/NATO/", {"on": "2024-13-45"})
    assert response.status_code == 400
    html = content(response)
    assert "Enter a real date as YYYY-MM-DD" in html
    assert 'aria-invalid="true"' in html


def test_unknown_organization_is_a_404(client_for, viewer, reference_data):
    assert client_for(viewer).get("/organizations/NOPE/").status_code == 404


def test_members_csv_for_the_date(client_for, viewer, reference_data):
    response = client_for(viewer).get("/organizations/AU/", {"on": "2024-01-01", "export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    gabon = next(r for r in rows if r["iso3"] == "GAB")
    assert gabon["status"] == "suspended"
