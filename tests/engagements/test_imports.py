"""Import and export in the exchange format: all or nothing, every bad row reported, exact round trips."""

import csv
import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from engagements import exchange, imports, services
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation

pytestmark = pytest.mark.django_db

D = datetime.date


def csv_file(rows, columns=None):
    columns = columns or exchange.COLUMNS
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return io.BytesIO(buffer.getvalue().encode("utf-8"))


def good_row(**overrides):
    row = {
        "title": "Obangame Express 2025",
        "engagement_type": "exercise",
        "domain": "maritime",
        "status": "completed",
        "start_date": "2025-03-03",
        "end_date": "2025-03-14",
        "host_country": "GHA",
        "participants": "GHA:host:300;USA:lead:250;NGA:participant:180",
        "organizations": "ECOWAS",
        "threat_focus": "maritime_crime",
        "aar_summary": "Boarding drills went well.",
        "interoperability_rating": "4",
        "capacity_rating": "3",
        "trust_rating": "5",
    }
    row.update(overrides)
    return row


def run(handle, user=None, dry_run=True, name="file.csv"):
    return imports.engagements_import(handle=handle, name=name, user=user, dry_run=dry_run)


def export_csv(queryset=None):
    rows = exchange.export_rows(queryset if queryset is not None else Engagement.objects.order_by("reference"))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(exchange.COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.fixture
def series(db):
    return ExerciseSeries.objects.create(slug="obangame-express", name="Obangame Express")


def test_dry_run_reports_and_writes_nothing(planner, reference_data):
    report = run(
        csv_file(
            [
                good_row(),
                good_row(
                    title="Port visit", engagement_type="port_visit", start_date="2025-06-01", end_date="2025-06-02"
                ),
            ]
        ),
        planner,
    )
    assert (report.rows, report.to_create, report.error_count, report.applied) == (2, 2, 0, False)
    assert not Engagement.objects.exists()


def test_commit_creates_everything_with_history(planner, reference_data):
    report = run(csv_file([good_row()]), planner, dry_run=False)
    assert report.applied and report.to_create == 1
    engagement = Engagement.objects.get()
    assert engagement.reference == "ENG-2025-000001"
    assert sorted(engagement.participations.values_list("partner__iso3", "role", "personnel")) == [
        ("GHA", "host", 300),
        ("NGA", "participant", 180),
        ("USA", "lead", 250),
    ]
    assert list(engagement.organizations.values_list("acronym", flat=True)) == ["ECOWAS"]
    assert engagement.after_action.trust_rating == 5
    assert engagement.history.get().history_user == planner
    assert Participation.history.filter(engagement_id=engagement.pk, history_user=planner).count() == 3
    # References drawn afterwards continue after the imported ones.
    later = services.engagement_create(
        created_by=planner,
        title="x",
        engagement_type="conference",
        domain="joint",
        start_date=D(2025, 9, 1),
        end_date=D(2025, 9, 1),
        host_country="GHA",
    ).engagement
    assert later.reference == "ENG-2025-000002"


@pytest.mark.parametrize(
    "overrides, column, message",
    [
        ({"host_country": "XYZ"}, "host_country", "Unknown country code"),
        ({"end_date": "2025-03-01"}, "end_date", "cannot be before the start date"),
        ({"trust_rating": "7"}, "trust_rating", "1 (poor) to 5"),
        ({"interoperability_rating": "four"}, "interoperability_rating", "whole number"),
        ({"participants": "GHA:host:300;ZZZ:participant:5"}, "participants", "Unknown country code"),
        ({"participants": "GHA:host:-4"}, "participants", "cannot be negative"),
        ({"participants": "GHA:host:1:extra"}, "participants", "is not ISO3:role:personnel"),
        ({"participants": "GHA;GHA"}, "participants", "listed twice"),
        ({"organizations": "ECOWAS;NOPE"}, "organizations", "Unknown organization"),
        ({"start_date": "03/03/2025"}, "start_date", "valid date"),
        ({"status": "planned"}, "aar_summary", "in progress or completed"),
        ({"engagement_type": "party"}, "engagement_type", "not a valid choice"),
        ({"budget_usd": "-10"}, "budget_usd", "cannot be negative"),
        ({"latitude": "95", "longitude": "10"}, "latitude", "between -90 and 90"),
        ({"series": "no-such-series"}, "series", "Unknown exercise series"),
        ({"reference": "ENG-25-1"}, "reference", "looks like ENG-2025-000123"),
    ],
)
def test_each_kind_of_bad_row_is_reported_with_line_and_column(planner, reference_data, overrides, column, message):
    handle = csv_file([good_row(title="A good one"), good_row(**overrides)])
    report = run(handle, planner, dry_run=False)
    assert not report.ok and not report.applied
    assert [(e.line, e.column) for e in report.errors] == [(3, column)]
    assert message in report.errors[0].message
    assert not Engagement.objects.exists()


def test_every_bad_row_is_listed_not_just_the_first(planner, reference_data):
    rows = [good_row(host_country="XXX"), good_row(), good_row(end_date="2020-01-01", trust_rating="0")]
    report = run(csv_file(rows), planner, dry_run=False)
    assert sorted((e.line, e.column) for e in report.errors) == [
        (2, "host_country"),
        (4, "end_date"),
        (4, "trust_rating"),
    ]
    assert not Engagement.objects.exists()


def test_duplicate_references_in_one_file(planner, reference_data):
    rows = [good_row(reference="ENG-2025-000500"), good_row(reference="ENG-2025-000500", title="Again")]
    report = run(csv_file(rows), planner)
    assert [(e.line, e.column) for e in report.errors] == [(3, "reference")]
    assert "also on line 2" in report.errors[0].message


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"title,engagement_type\nx,exercise\n", "missing columns"),
        (b"title,engagement_type,domain,start_date,end_date,host_country,colour\n", "unknown columns: colour"),
        (b"title,engagement_type,domain,start_date,end_date,host_country\n" + b"\xff\xfe bad\n", "not UTF-8"),
        (b"title,engagement_type,domain,start_date,end_date,host_country\n", "no rows"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(planner, reference_data, content, message):
    with pytest.raises(imports.ImportFileError, match=message):
        run(io.BytesIO(content), planner)


def test_round_trip_is_exact_and_reimport_changes_nothing(planner, reference_data, series):
    run(
        csv_file(
            [
                good_row(
                    series="obangame-express",
                    latitude="5.55",
                    longitude="-0.2",
                    budget_usd="1250000.50",
                    location_name="Tema",
                    description="Line one\nline two, with a comma",
                    funding_source="Programme",
                    threat_focus="maritime_crime;transnational_crime",
                ),
                good_row(
                    title="Restricted advisory",
                    engagement_type="advisory_mission",
                    domain="joint",
                    status="in_progress",
                    sensitivity="restricted",
                    participants="MLI:trainee:12",
                    organizations="",
                    aar_summary="",
                    interoperability_rating="",
                    capacity_rating="",
                    trust_rating="",
                    start_date="2025-07-01",
                    end_date="2025-12-31",
                    host_country="MLI",
                ),
                good_row(
                    title="Planned course",
                    status="planned",
                    aar_summary="",
                    interoperability_rating="",
                    capacity_rating="",
                    trust_rating="",
                    participants="",
                    start_date="2026-02-01",
                    end_date="2026-02-03",
                ),
            ]
        ),
        planner,
        dry_run=False,
    )
    first = export_csv()
    history_rows = Engagement.history.count() + Participation.history.count() + AfterActionReport.history.count()

    again = run(io.BytesIO(first.encode()), planner, dry_run=False)
    assert (again.to_create, again.to_update, again.unchanged) == (0, 0, 3)
    assert export_csv() == first
    assert (
        Engagement.history.count() + Participation.history.count() + AfterActionReport.history.count() == history_rows
    )

    # Into an empty database: the same rows come back, references included.
    AfterActionReport.objects.all().delete()
    Participation.objects.all().delete()
    Engagement.objects.all().delete()
    restored = run(io.BytesIO(first.encode()), planner, dry_run=False)
    assert restored.to_create == 3
    assert export_csv() == first


def test_xlsx_round_trip(planner, reference_data):
    run(
        csv_file(
            [good_row(), good_row(title="Second", start_date="2025-04-01", end_date="2025-04-02", budget_usd="99.90")]
        ),
        planner,
        dry_run=False,
    )
    rows = list(exchange.export_rows(Engagement.objects.order_by("reference")))
    content = exchange.xlsx_bytes(rows)
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == exchange.COLUMNS
    report = run(io.BytesIO(content), planner, dry_run=False, name="export.xlsx")
    assert (report.rows, report.unchanged, report.error_count) == (2, 2, 0)


def test_xlsx_with_typed_cells_imports(planner, reference_data):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        ["title", "engagement_type", "domain", "start_date", "end_date", "host_country", "participants", "budget_usd"]
    )
    sheet.append(
        [
            "Typed cells",
            "conference",
            "joint",
            datetime.datetime(2025, 5, 5),
            datetime.datetime(2025, 5, 6),
            "SEN",
            "SEN:host:10",
            1500,
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = run(io.BytesIO(buffer.getvalue()), planner, dry_run=False, name="typed.xlsx")
    assert report.ok, report.errors
    engagement = Engagement.objects.get()
    assert (engagement.start_date, engagement.budget_usd) == (D(2025, 5, 5), 1500)


def test_import_updates_an_existing_engagement_by_reference(planner, make_user, reference_data):
    run(csv_file([good_row()]), planner, dry_run=False)
    editor = make_user("planner2", "planner")
    row = good_row(
        reference="ENG-2025-000001", title="Obangame Express 2025 (corrected)", participants="GHA:host:320;USA:lead:250"
    )
    report = run(csv_file([row]), editor, dry_run=False)
    assert (report.to_update, report.to_create) == (1, 0)
    engagement = Engagement.objects.get()
    assert engagement.title.endswith("(corrected)")
    assert engagement.history.first().history_user == editor
    assert sorted(engagement.participations.values_list("partner__iso3", "personnel")) == [("GHA", 320), ("USA", 250)]


def test_a_status_move_backwards_is_refused_on_update(planner, reference_data):
    run(csv_file([good_row()]), planner, dry_run=False)
    report = run(
        csv_file(
            [
                good_row(
                    reference="ENG-2025-000001",
                    status="approved",
                    aar_summary="",
                    interoperability_rating="",
                    capacity_rating="",
                    trust_rating="",
                )
            ]
        ),
        planner,
    )
    # The blank report is refused too: a report, once written, is never removed.
    assert [(e.line, e.column) for e in report.errors] == [(2, "status"), (2, "aar_summary")]


def test_an_import_failing_halfway_writes_nothing(planner, reference_data, monkeypatch):
    rows = [good_row(title=f"Row {n}", start_date="2025-03-03") for n in range(imports.BATCH_SIZE + 10)]
    calls = {"n": 0}
    real = services.engagements_bulk_create

    def failing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(**kwargs)

    monkeypatch.setattr(services, "engagements_bulk_create", failing)
    with pytest.raises(RuntimeError):
        run(csv_file(rows), planner, dry_run=False)
    assert calls["n"] == 2
    assert not Engagement.objects.exists()
    assert not Participation.objects.exists()


def test_command_dry_run_and_commit(planner, reference_data, tmp_path, capsys):
    path = tmp_path / "engagements.csv"
    path.write_bytes(csv_file([good_row()]).getvalue())
    call_command("import_engagements", str(path))
    assert "Dry run" in capsys.readouterr().out
    assert not Engagement.objects.exists()
    call_command("import_engagements", str(path), "--commit", "--user", planner.username)
    assert Engagement.objects.get().created_by == planner
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_file([good_row(host_country="QQQ")]).getvalue())
    with pytest.raises(CommandError, match="Nothing was written"):
        call_command("import_engagements", str(bad), "--commit")
    assert "line 2, column host_country" in capsys.readouterr().err


def test_api_import(planner, viewer, analyst, reference_data):
    client = APIClient()
    client.force_authenticate(planner)
    content = csv_file([good_row()]).getvalue()
    response = client.post("/api/v1/engagements/import/", {"file": io.BytesIO(content)}, format="multipart")
    assert response.status_code == 200 and response.json()["to_create"] == 1 and response.json()["dry_run"] is True
    assert not Engagement.objects.exists()
    response = client.post(
        "/api/v1/engagements/import/", {"file": io.BytesIO(content), "dry_run": "false"}, format="multipart"
    )
    assert response.status_code == 201 and response.json()["applied"] is True
    bad = csv_file([good_row(end_date="2020-01-01")]).getvalue()
    response = client.post(
        "/api/v1/engagements/import/", {"file": io.BytesIO(bad), "dry_run": "false"}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["report"]["errors"][0]["column"] == "end_date"
    assert response.json()["errors"]["rows"][0].startswith("line 2, end_date")
    response = client.post("/api/v1/engagements/import/", {"file": io.BytesIO(b"\x00\x01garbage")}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]
    for user in (viewer, analyst):
        client.force_authenticate(user)
        assert (
            client.post("/api/v1/engagements/import/", {"file": io.BytesIO(content)}, format="multipart").status_code
            == 403
        )
    assert Engagement.objects.count() == 1


@pytest.mark.parametrize("threshold, refreshed", [(3, True), (4, False)])
def test_a_large_import_refreshes_the_planner_statistics(planner, reference_data, monkeypatch, threshold, refreshed):
    """The scoring run queued on commit must not plan against statistics from before the load."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")

    def tuples():
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'engagements_participation'")
            return cursor.fetchone()[0]

    from core.db import analyze

    analyze(Participation)  # the table is empty here: its statistics now say so, whatever ran before
    assert tuples() == 0
    monkeypatch.setattr(imports, "ANALYZE_AFTER_ROWS", threshold)
    report = run(csv_file([good_row(), good_row(), good_row()]), user=planner, dry_run=False)
    assert report.applied and Participation.objects.count() == 9
    assert tuples() == (9 if refreshed else 0)


@pytest.fixture
def announced():
    """The engagement_data_changed signals sent, in order (after commit)."""
    from engagements.signals import engagement_data_changed

    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    engagement_data_changed.connect(listener, dispatch_uid="test-announced")
    yield received
    engagement_data_changed.disconnect(dispatch_uid="test-announced")


def test_an_import_announces_its_changes_once_and_queues_one_run(
    planner, reference_data, monkeypatch, announced, django_capture_on_commit_callbacks
):
    """Every batch and every updated row used to queue its own recompute: in the embedded mode (eager tasks)
    a 100,000-row import then ran 100 scoring runs one after the other."""
    from unittest import mock

    from assessments.models import AssessmentRun
    from partners.models import PartnerNation

    run(csv_file([good_row()]), planner, dry_run=False)  # ENG-2025-000001, updated below
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    rows = [
        good_row(reference="ENG-2025-000001", title="Obangame Express 2025 (corrected)"),
        good_row(title="Old", start_date="2016-02-01", end_date="2016-02-03", participants="KEN:host:5"),
        good_row(title="New", start_date="2025-07-01", end_date="2025-07-02", participants="FRA:lead:1"),
        good_row(title="Newer", start_date="2025-08-01", end_date="2025-08-02", participants="SEN:lead:1"),
        good_row(title="Newest", start_date="2025-09-01", end_date="2025-09-02", participants="KEN:lead:1"),
    ]
    with (
        mock.patch("assessments.tasks.run_assessment.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = run(csv_file(rows), planner, dry_run=False)
    assert (report.to_create, report.to_update) == (4, 1)
    assert len(announced) == 1
    ids = dict(PartnerNation.objects.filter(iso3__in=["KEN", "FRA", "SEN", "GHA"]).values_list("iso3", "pk"))
    assert set(ids.values()) <= announced[0]["partner_ids"]
    spans = announced[0]["spans"]
    assert {(D(2016, 2, 1), D(2016, 2, 3)), (D(2025, 7, 1), D(2025, 7, 2)), (D(2025, 3, 3), D(2025, 3, 14))} <= set(
        spans
    )
    assert (announced[0]["first_day"], announced[0]["last_day"]) == (D(2016, 2, 1), D(2025, 9, 2))
    queued = AssessmentRun.objects.get()  # one run for the whole file
    assert delay.call_count == 1
    assert {"2016-Q1", "2017-Q4", "2025-Q1", "2025-Q3"} <= set(queued.periods)
    assert "2020-Q1" not in queued.periods  # the spans' quarters, not every quarter from 2016 to 2025
    assert set(ids.values()) <= set(queued.partner_ids)


def test_after_a_failed_import_changes_are_announced_again(
    planner, reference_data, monkeypatch, announced, django_capture_on_commit_callbacks
):
    def failing(**kwargs):
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(services, "engagements_bulk_create", failing)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
            run(csv_file([good_row()]), planner, dry_run=False)
    assert announced == []
    with django_capture_on_commit_callbacks(execute=True):
        run(csv_file([good_row()]), planner, dry_run=False)
    assert len(announced) == 1 and announced[0]["spans"] == [(D(2025, 3, 3), D(2025, 3, 14))]


def test_cancelling_a_reported_engagement_is_a_bad_row(planner, reference_data):
    run(csv_file([good_row(status="in_progress")]), planner, dry_run=False)
    cancelled = good_row(
        reference="ENG-2025-000001",
        status="cancelled",
        aar_summary="",
        interoperability_rating="",
        capacity_rating="",
        trust_rating="",
    )
    report = run(csv_file([cancelled]), planner)
    # Refused twice over: the move (a reported engagement took place) and the blank report (none is removed).
    assert [(e.line, e.column) for e in report.errors] == [(2, "status"), (2, "aar_summary")]
    assert "after-action report" in report.errors[0].message
    assert "cannot be removed" in report.errors[1].message
    assert Engagement.objects.get().status == "in_progress"


def test_a_country_name_in_host_country_is_read_as_its_code_and_said(planner, reference_data):
    rows = [good_row(host_country="Ivory Coast", participants="CIV:host:50"), good_row(host_country="Türkiye")]
    report = run(csv_file(rows), user=planner, dry_run=False)
    assert report.ok and report.applied
    assert sorted(Engagement.objects.values_list("host_country__iso3", flat=True)) == ["CIV", "TUR"]
    notices = [(n.line, n.column, n.message) for n in report.notices]
    assert notices == [
        (2, "host_country", "“Ivory Coast” read as CIV (Côte d'Ivoire)."),
        (3, "host_country", "“Türkiye” read as TUR (Türkiye)."),
    ]
    assert report.as_dict()["notices"][0]["message"].startswith("“Ivory Coast”")


def test_an_ambiguous_or_unknown_country_name_is_still_refused(planner, reference_data):
    report = run(csv_file([good_row(host_country="Korea"), good_row(host_country="Atlantis")]))
    assert [(e.line, e.column) for e in report.errors] == [(2, "host_country"), (3, "host_country")]
    assert not report.notices
