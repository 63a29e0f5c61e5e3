import csv
import io
import re

import pytest

pytestmark = pytest.mark.django_db


def content(response):
    return response.content.decode()


def csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def test_list_searches_by_name_and_code(client_for, viewer, reference_data):
    client = client_for(viewer)
    html = content(client.get("/partners/", {"q": "fra"}))
    assert "France" in html and "Germany" not in html
    assert "France" in content(client.get("/partners/", {"q": "FR"}))
    html = content(client.get("/partners/", {"q": "Tanzania"}))
    assert "TZA" in html


def test_list_filters_by_region_subregion_and_organization(client_for, viewer, reference_data):
    client = client_for(viewer)
    html = content(client.get("/partners/", {"subregion": "Northern America", "page_size": 200}))
    assert "Canada" in html and "Mexico" not in html
    west = csv_rows(client.get("/partners/", {"intermediate_region": "western africa", "export": "csv"}))
    assert {r["intermediate_region"] for r in west} == {"Western Africa"}
    assert {"GHA", "SEN", "NGA", "CIV"} <= {r["iso3"] for r in west} and len(west) == 17
    html = content(client.get("/partners/", {"intermediate_region": "Caribbean", "page_size": 200}))
    assert "Jamaica" in html and "Mexico" not in html
    assert '<option value="Western Africa">' in html and '<option value="Caribbean" selected>' in html
    rows = csv_rows(client.get("/partners/", {"organization": "NATO", "export": "csv"}))
    assert len(rows) == 32
    assert {r["iso3"] for r in rows} >= {"SWE", "FIN", "USA", "TUR"}
    assert all("NATO" in r["organizations"].split(";") for r in rows)
    africa = csv_rows(client.get("/partners/", {"region": "Africa", "export": "csv"}))
    assert {r["region"] for r in africa} == {"Africa"}
    assert len(africa) > 50


def test_csv_export_is_the_whole_filtered_set_not_one_page(client_for, viewer, reference_data):
    response = client_for(viewer).get("/partners/", {"export": "csv", "page_size": 25})
    assert response["Content-Type"].startswith("text/csv")
    assert len(csv_rows(response)) == 250  # the ISO countries and Kosovo


@pytest.mark.parametrize("page_size", [25, 200])
def test_list_runs_in_constant_queries(client_for, viewer, reference_data, django_assert_max_num_queries, page_size):
    client = client_for(viewer)
    # 11: the page's 10 and the unread count of the inbox in the header (one COUNT on every page).
    with django_assert_max_num_queries(11):
        response = client.get("/partners/", {"page_size": page_size})
    assert response.status_code == 200
    assert content(response).count('href="/partners/') >= page_size


def test_pagination_survives_bad_input(client_for, viewer, reference_data):
    client = client_for(viewer)
    assert client.get("/partners/", {"page": "abc", "page_size": "-3"}).status_code == 200
    assert client.get("/partners/", {"page": "99999"}).status_code == 200


def test_detail_shows_codes_region_and_dated_memberships(
    client_for, viewer, reference_data, django_assert_max_num_queries
):
    client = client_for(viewer)
    with django_assert_max_num_queries(8):
        response = client.get("/partners/FIN/")
    html = content(response)
    assert "Finland" in html and "FIN · FI · 246" in html
    assert "Northern Europe" in html
    assert "from 2023-04-04" in html
    # The map frames Finland and its neighbours, not the world (viewBox "0 0 1000 500").
    left, top, width, height = map(float, re.search(r'class="map map-zoomed" viewBox="([^"]+)"', html).group(1).split())
    x, y = (25.0 + 180) / 360 * 1000, (90 - 64.0) / 180 * 500  # Finland's centre, projected
    assert width < 150 and left < x < left + width and top < y < top + height
    # lower-case codes work too
    assert client.get("/partners/fin/").status_code == 200


def test_unknown_partner_is_a_404(client_for, viewer, reference_data):
    assert client_for(viewer).get("/partners/XYZ/").status_code == 404


def test_api_filters_by_intermediate_region(api_for, viewer):
    api = api_for(viewer)
    body = api.get("/api/v1/partners/", {"intermediate_region": "Western Africa", "page_size": 100}).json()
    assert body["count"] == 17 and {row["intermediate_region"] for row in body["results"]} == {"Western Africa"}
    both = api.get("/api/v1/partners/", {"intermediate_region": "Western Africa", "organization": "ECOWAS"}).json()
    assert {row["iso3"] for row in both["results"]} >= {"GHA", "NGA", "SEN"} and both["count"] < 17
    assert api.get("/api/v1/partners/", {"intermediate_region": "Western Europe"}).json()["count"] == 0


@pytest.mark.parametrize(
    "query, iso3",
    [
        ("Ivory Coast", "CIV"),  # a common alias
        ("cote d'ivoire", "CIV"),  # the name without its accent
        ("Burma", "MMR"),  # a former name
        ("Turkey", "TUR"),
        ("Swaziland", "SWZ"),
        ("sen", "SEN"),  # an ISO code, any case
        ("SN", "SEN"),
    ],
)
def test_partner_search_finds_names_aliases_and_codes(api_for, viewer, query, iso3):
    body = api_for(viewer).get("/api/v1/partners/", {"q": query}).json()
    assert iso3 in [row["iso3"] for row in body["results"]]
