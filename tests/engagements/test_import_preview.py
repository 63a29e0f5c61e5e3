"""The import's check shows every row as it will be written, with its warnings; a committed import is a
recorded batch that the list (page and API) filters by, and its changes are in the history and the feed."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from engagements import services
from engagements.models import Engagement, ImportBatch
from tests.engagements.test_imports import csv_file, good_row, run
from tests.engagements.test_views import content

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def recorded(planner, reference_data):
    """One engagement already recorded in Ghana in March 2025, and its exported reference."""
    return services.engagement_create(
        created_by=planner,
        title="Ghana coastal drill",
        engagement_type="exercise",
        domain="maritime",
        status="completed",
        start_date=D(2025, 3, 5),
        end_date=D(2025, 3, 9),
        host_country="GHA",
        participants=[{"partner": "GHA", "role": "host"}],
    ).engagement


def three_rows(recorded):
    return csv_file(
        [
            good_row(),  # new, same host and dates as the recorded drill: a warning
            good_row(title="Port visit", engagement_type="port_visit", start_date="2025-08-01", end_date="2025-08-02"),
            good_row(
                reference=recorded.reference,
                title="Ghana coastal drill (renamed)",
                domain="maritime",
                engagement_type="exercise",
                start_date="2025-03-05",
                end_date="2025-03-09",
                host_country="GHA",
                participants="GHA:host:0",
                organizations="",
                threat_focus="",
                aar_summary="",
                interoperability_rating="",
                capacity_rating="",
                trust_rating="",
            ),
        ]
    )


def test_the_check_lists_each_row_as_it_will_be_written_with_warnings(planner, recorded):
    report = run(three_rows(recorded), planner)
    assert report.ok and not Engagement.objects.filter(title="Port visit").exists()
    assert [(row["line"], row["action"]) for row in report.preview] == [(2, "create"), (3, "create"), (4, "update")]
    new, port, update = report.preview
    assert new["title"] == "Obangame Express 2025" and new["host_country"] == "GHA"
    assert [w["engagement_id"] for w in new["warnings"]] == [recorded.pk]
    assert new["warnings"][0]["kind"] == "host_overlap"
    assert port["warnings"] == []
    assert update["reference"] == recorded.reference and "title" in update["changed"]
    # The engagement itself is no conflict of its own update.
    assert all(w["engagement_id"] != recorded.pk for w in update["warnings"])


def test_an_unchanged_row_is_listed_as_unchanged(planner, recorded):
    from engagements import exchange

    row = dict(
        zip(exchange.COLUMNS, next(iter(exchange.export_rows(Engagement.objects.filter(pk=recorded.pk)))), strict=True)
    )
    report = run(csv_file([row]), planner)
    assert [r["action"] for r in report.preview] == ["unchanged"] and report.unchanged == 1


def test_the_preview_is_bounded_and_says_so(planner, reference_data, monkeypatch):
    from engagements import imports

    monkeypatch.setattr(imports, "MAX_PREVIEW_ROWS", 2)
    report = run(csv_file([good_row(), good_row(), good_row()]), planner)
    assert len(report.preview) == 2 and report.preview_truncated and report.to_create == 3


def test_a_bad_row_keeps_the_bad_row_report_and_no_preview(planner, reference_data):
    report = run(csv_file([good_row(), good_row(end_date="2020-01-01")]), planner)
    assert not report.ok and report.preview == []
    assert report.errors[0].line == 3 and report.errors[0].column == "end_date"


def test_a_committed_import_is_a_batch_its_engagements_point_to(planner, recorded):
    report = imports_commit(three_rows(recorded), planner)
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert (batch.file_name, batch.created_by, batch.rows) == ("planning.csv", planner, 3)
    assert (batch.created_count, batch.updated_count, batch.unchanged_count) == (2, 1, 0)
    assert set(batch.engagements.values_list("title", flat=True)) == {
        "Obangame Express 2025",
        "Port visit",
        "Ghana coastal drill (renamed)",
    }


def imports_commit(handle, user):
    from engagements import imports

    return imports.engagements_import(handle=handle, name="x.csv", user=user, dry_run=False, file_name="planning.csv")


def test_imports_record_history_for_every_created_and_updated_engagement(planner, recorded, api_for):
    from django.utils import timezone

    since = timezone.now()
    report = imports_commit(three_rows(recorded), planner)
    written = Engagement.objects.filter(import_batch_id=report.batch_id)
    history = Engagement.history.model.objects.filter(id__in=written.values("pk"), history_date__gt=since)
    assert sorted(history.values_list("history_type", flat=True)) == ["+", "+", "~"]
    assert set(history.values_list("history_user", flat=True)) == {planner.pk}
    # The change feed covers imports.
    feed = api_for(planner).get("/api/v1/changes/", {"since": since.isoformat()}).json()
    rows = feed["results"] if isinstance(feed, dict) else feed
    actions = {(row["reference"], row["action"]) for row in rows}
    for engagement in written:
        expected = "updated" if engagement.pk == recorded.pk else "created"
        assert (engagement.reference, expected) in actions


def test_the_import_page_previews_rows_then_lands_on_the_batch(planner, recorded, client_for):
    client = client_for(planner)
    upload = SimpleUploadedFile("planning.csv", three_rows(recorded).getvalue(), content_type="text/csv")
    html = content(client.post("/engagements/import/", {"file": upload}))
    preview = html[html.index('class="data import-preview"') :]
    assert preview.count('class="preview-create"') == 2 and preview.count('class="preview-update"') == 1
    assert "Port visit" in preview and recorded.reference in preview
    token = client.session["engagement_import"]["token"]
    response = client.post("/engagements/import/", {"confirm": token})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/engagements/?import_batch={batch.pk}"
    listed = content(client.get(response["Location"]))
    assert "Port visit" in listed and "Obangame Express 2025" in listed
    assert "Ghana coastal drill (renamed)" in listed


def test_the_list_filters_by_batch_in_a_fixed_number_of_queries(
    planner, recorded, client_for, api_for, django_assert_max_num_queries
):
    report = imports_commit(three_rows(recorded), planner)
    other = services.engagement_create(
        created_by=planner,
        title="Not imported",
        engagement_type="exercise",
        domain="land",
        start_date=D(2025, 5, 1),
        end_date=D(2025, 5, 2),
        host_country="SEN",
    ).engagement
    with django_assert_max_num_queries(12):
        body = api_for(planner).get("/api/v1/engagements/", {"import_batch": report.batch_id}).json()
    assert body["count"] == 3 and other.pk not in [row["id"] for row in body["results"]]
    bad = api_for(planner).get("/api/v1/engagements/", {"import_batch": "abc"})
    assert bad.status_code == 400 and "import_batch" in bad.json()["errors"]
    page = client_for(planner).get("/engagements/", {"import_batch": "abc"})
    assert page.status_code == 400


def test_api_import_answers_the_preview_and_points_at_the_batch(planner, recorded):
    client = APIClient()
    client.force_authenticate(planner)
    payload = three_rows(recorded).getvalue()
    checked = client.post("/api/v1/engagements/import/", {"file": io.BytesIO(payload)}, format="multipart").json()
    assert [row["action"] for row in checked["preview"]] == ["create", "create", "update"]
    assert checked["preview"][0]["warnings"][0]["engagement_id"] == recorded.pk and checked["batch"] is None
    response = client.post(
        "/api/v1/engagements/import/", {"file": io.BytesIO(payload), "dry_run": "false"}, format="multipart"
    )
    assert response.status_code == 201
    batch = response.json()["batch"]
    assert batch == ImportBatch.objects.get().pk
    assert response["Location"].endswith(f"/api/v1/engagements/?import_batch={batch}")
