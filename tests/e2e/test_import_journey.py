"""The import journey in a real browser: a planner fills the downloaded template, uploads it with one bad
row, reads that row's line, column and reason with nothing saved, fixes it, confirms, and finds the rows."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from engagements.models import Engagement
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [
    {
        "title": "Sahel logistics course",
        "engagement_type": "training_exchange",
        "domain": "land",
        "status": "completed",
        "start_date": "2026-04-06",
        "end_date": "2026-04-17",
        "host_country": "SEN",
        "participants": "SEN:host:40;MRT:trainee:25;USA:trainer:8",
        "organizations": "ECOWAS",
    },
    {
        "title": "Coastal radar workshop",
        "engagement_type": "conference",
        "domain": "maritime",
        "status": "planned",
        "start_date": "2026-05-11",
        "end_date": "2026-05-13",
        "host_country": "XGH",  # a typo for GHA
        "participants": "GHA:host:12;CIV:participant:6",
    },
    {
        "title": "Lake Chad medical exchange",
        "engagement_type": "humanitarian_assistance",
        "domain": "joint",
        "status": "planned",  # a planner's new engagement starts planned (approval is four-eyes)
        "start_date": "2026-06-01",
        "end_date": "2026-06-05",
        "host_country": "TCD",
        "participants": "TCD:host:30;CMR:participant:20",
        "threat_focus": "disaster_response",
    },
]


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_planner_imports_a_file_after_fixing_its_bad_row(page, login, make_user, reference_data, tmp_path):
    make_user("planner-e2e", "planner")
    login("planner-e2e")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Engagements").click()
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import engagements")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the CSV template").click()
    template = Path(download.value.path()).read_text(encoding="utf-8-sig")
    header = next(csv.reader(io.StringIO(template)))
    assert {"title", "host_country", "participants", "start_date"} <= set(header)

    rows = [dict(row) for row in ROWS]
    bad = write_csv(tmp_path / "engagements.csv", header, rows)
    page.get_by_label("File (CSV or XLSX)").set_input_files(bad)
    page.get_by_role("button", name="Check the file").click()

    report = page.locator("#report")
    expect(report).to_contain_text("1 problem found. Nothing was written: fix the file and upload it again.")
    problem = report.get_by_role("row").filter(has_text="host_country")
    expect(problem.get_by_role("cell").nth(0)).to_have_text("3")  # the header is line 1
    expect(problem).to_contain_text("Unknown country code “XGH”")
    expect(report.get_by_role("button", name="Import", exact=False)).to_have_count(0)
    assert not Engagement.objects.exists()
    screenshot(page, "import-1-bad-row-reported")

    rows[1]["host_country"] = "GHA"
    fixed = write_csv(tmp_path / "engagements.csv", header, rows)
    page.get_by_label("File (CSV or XLSX)").set_input_files(fixed)
    page.get_by_role("button", name="Check the file").click()
    expect(report).to_contain_text("3 rows: 3 to create, 0 to update, 0 unchanged.")
    assert not Engagement.objects.exists()  # checked, not yet written
    screenshot(page, "import-2-ready-to-confirm")
    page.get_by_role("button", name="Import 3 engagements").click()

    expect(page.get_by_role("status")).to_contain_text("Imported engagements.csv: 3 created, 0 updated, 0 unchanged.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Engagements")
    for row in rows:
        expect(page.get_by_role("link", name=row["title"])).to_be_visible()
    screenshot(page, "import-3-imported-in-the-list")
    assert Engagement.objects.count() == 3
    page.get_by_role("link", name="Sahel logistics course").click()
    expect(page.get_by_role("table").first).to_contain_text("Mauritania")
    assert page.js_errors == []
