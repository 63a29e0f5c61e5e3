"""GET /api/v1/engagements/export/: the filtered list as a file in the import format, for every reader."""

import csv
import datetime
import io

import pytest
from openpyxl import load_workbook

from engagements import exchange, services
from engagements.models import Engagement

pytestmark = pytest.mark.django_db

URL = "/api/v1/engagements/export/"
D = datetime.date


@pytest.fixture
def restricted(three, planner):
    return services.engagement_create(
        created_by=planner,
        title="Quiet advisers",
        engagement_type="advisory_mission",
        domain="land",
        status="in_progress",
        start_date=D(2025, 2, 1),
        end_date=D(2025, 3, 1),
        host_country="MLI",
        sensitivity="restricted",
        participants=[{"partner": "MLI"}],
    ).engagement


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == exchange.COLUMNS
    return list(reader)


def test_viewers_get_the_filtered_list_without_restricted_engagements(restricted, api_for, viewer, analyst):
    titles = {row["title"] for row in csv_rows(api_for(viewer).get(URL))}
    assert titles == {"African Lion 2025", "Baltic Sentinel", "Coast guard advisers"}
    assert "Quiet advisers" in {row["title"] for row in csv_rows(api_for(analyst).get(URL))}
    rows = csv_rows(api_for(viewer).get(URL, {"status": "planned", "file": "csv"}))
    assert [(row["title"], row["participants"], row["organizations"]) for row in rows] == [
        ("Baltic Sentinel", "EST:participant:0;FIN:participant:0", "EU;NATO")
    ]
    # A client asking for CSV explicitly gets it too.
    assert len(csv_rows(api_for(viewer).get(URL, HTTP_ACCEPT="text/csv"))) == 3


def test_xlsx(three, api_for, viewer):
    response = api_for(viewer).get(URL, {"file": "xlsx", "partner": "SEN"})
    assert response.status_code == 200 and response["Content-Type"] == exchange.XLSX_TYPE
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == exchange.COLUMNS
    assert [row[exchange.COLUMNS.index("title")] for row in values[1:]] == ["Coast guard advisers"]


def test_export_then_import_changes_nothing(restricted, api_for, analyst, planner):
    content = b"".join(api_for(analyst).get(URL).streaming_content)
    before = sorted(Engagement.objects.values_list("pk", "version"))
    report = api_for(planner).post(
        "/api/v1/engagements/import/",
        {"file": io.BytesIO(content), "dry_run": "false"},
        format="multipart",
    )
    assert report.status_code in (200, 201), report.json()
    body = report.json()
    assert (body["rows"], body["to_create"], body["to_update"], body["unchanged"]) == (4, 0, 0, 4)
    assert sorted(Engagement.objects.values_list("pk", "version")) == before


@pytest.mark.parametrize(
    "params, field",
    [({"file": "pdf"}, "file"), ({"status": "bogus"}, "status"), ({"start_after": "soon"}, "start_after")],
)
def test_bad_parameters_are_a_400_with_the_field(three, api_for, viewer, params, field):
    response = api_for(viewer).get(URL, params)
    assert response.status_code == 400 and response.json()["errors"][field]
    # Asked for CSV, the error still comes as JSON, labelled so.
    response = api_for(viewer).get(URL, params, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["errors"][field]


def test_anonymous_gets_401(three, client):
    assert client.get(URL).status_code == 401


def test_queries_do_not_grow_with_the_rows(three, api_for, viewer, planner, django_assert_max_num_queries):
    api = api_for(viewer)
    csv_rows(api.get(URL))  # warm the permission cache
    with django_assert_max_num_queries(12) as few:
        assert len(csv_rows(api.get(URL))) == 3
    for day in range(1, 21):
        services.engagement_create(
            created_by=planner,
            title=f"Boarding drill {day}",
            engagement_type="bilateral_drill",
            domain="maritime",
            status="completed",
            start_date=D(2025, 6, day),
            end_date=D(2025, 6, day),
            host_country="GHA",
            participants=[{"partner": "GHA"}, {"partner": "USA"}],
            organizations=["ECOWAS"],
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(csv_rows(api.get(URL))) == 23


def test_more_rows_than_a_worksheet_holds_asks_for_csv(three, api_for, viewer, client_for, monkeypatch):
    monkeypatch.setattr(exchange, "XLSX_MAX_ROWS", 2)  # a worksheet holds 1,048,575 rows
    response = api_for(viewer).get(URL, {"file": "xlsx"})
    assert response.status_code == 400 and "Export CSV instead" in response.json()["errors"]["file"][0]
    assert api_for(viewer).get(URL, {"file": "xlsx", "status": "planned"}).status_code == 200
    assert len(csv_rows(api_for(viewer).get(URL))) == 3
    page = client_for(viewer).get("/engagements/", {"export": "xlsx", "domain": ["joint", "land", "maritime"]})
    assert page.status_code == 302 and "export" not in page["Location"] and "domain=joint" in page["Location"]
    followed = client_for(viewer).get(page["Location"])
    assert "Export CSV instead" in followed.content.decode()
