"""Large imports: the rows COPY writes batch by batch are complete (history, search names, partner changes,
text exactly as given), and a bad row anywhere, the last batch included, leaves nothing saved."""

import pytest

from core.models import Unit
from engagements import imports, services
from engagements.models import (
    AfterActionReport,
    Engagement,
    ImportBatch,
    Participation,
    PartnerChange,
    ReferenceCounter,
)
from engagements.services.search import engagement_search_refresh
from tests.engagements.test_imports import csv_file, good_row, run

pytestmark = pytest.mark.django_db

HOSTILE_TEXT = 'Tab\there, a back\\slash, \\N, a "quote",\nand a new line'


def rows(count):
    hosts = ["GHA", "NGA", "SEN", "KEN"]
    made = []
    for n in range(count):
        made.append(
            good_row(
                title=f"Exercise {n}",
                host_country=hosts[n % 4],
                participants=f"{hosts[n % 4]}:host:{n};USA:lead:5" if n % 3 else "",
                organizations="ECOWAS" if n % 2 else "",
                description=HOSTILE_TEXT if n % 5 == 0 else "",
                status="completed" if n % 3 else "planned",
                aar_summary="Boarding drills went well." if n % 3 else "",
                interoperability_rating="4" if n % 3 else "",
                capacity_rating="3" if n % 3 else "",
                trust_rating="5" if n % 3 else "",
                start_date=f"{2020 + n % 5}-03-03",
                end_date=f"{2020 + n % 5}-03-14",
            )
        )
    return made


def test_a_large_import_writes_history_search_names_and_changes_for_every_row(planner, reference_data, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 40)  # four batches
    report = run(csv_file(rows(130)), planner, dry_run=False)
    assert report.ok and report.applied and report.to_create == 130, report.as_dict()
    engagements = Engagement.objects.filter(import_batch_id=report.batch_id)
    ids = list(engagements.values_list("pk", flat=True))
    assert len(ids) == 130
    batch = ImportBatch.objects.get(pk=report.batch_id)
    assert (batch.rows, batch.created_count, batch.created_by) == (130, 130, planner)
    # One "created" history record per engagement, participation and report, by the importer.
    assert Engagement.history.filter(id__in=ids, history_type="+", history_user=planner).count() == 130
    participations = Participation.objects.filter(engagement_id__in=ids)
    assert participations.count() == 2 * 86  # the rows with participants: n % 3 != 0
    assert Participation.history.filter(engagement_id__in=ids, history_type="+").count() == participations.count()
    assert AfterActionReport.objects.filter(engagement_id__in=ids).count() == 86
    assert AfterActionReport.history.filter(engagement_id__in=ids, history_type="+").count() == 86
    assert PartnerChange.objects.filter(engagement_id__in=ids).count() == participations.count()
    # The search names are those the services keep: recomputing them changes nothing.
    assert engagement_search_refresh(engagement_ids=ids) == 0
    assert "ghana" in engagements.get(title="Exercise 0").search_names.lower()
    # Text with tabs, backslashes, new lines and COPY's own null marker comes back exactly as given.
    assert engagements.get(title="Exercise 5").description == HOSTILE_TEXT
    assert engagements.get(title="Exercise 1").description == ""
    assert list(engagements.get(title="Exercise 1").organizations.values_list("acronym", flat=True)) == ["ECOWAS"]
    # Defaults as a single create gives them: the importer's unit, version 1, not deleted.
    one = engagements.get(title="Exercise 2")
    assert one.owner_unit == Unit.objects.get(members=planner)
    assert (one.version, one.deleted_at, one.created_by, one.updated_by) == (1, None, planner, planner)
    assert one.threat_focus == ["maritime_crime"]
    # Reference numbers are drawn per year without gaps or repeats, and the counters follow.
    references = sorted(engagements.filter(start_date__year=2020).values_list("reference", flat=True))
    assert references == [f"ENG-2020-{n:06d}" for n in range(1, 27)]
    assert ReferenceCounter.objects.get(year=2020).last_number == 26


def test_a_bad_row_in_the_last_batch_leaves_nothing_saved(planner, reference_data, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 40)
    written = []
    real = services.engagements_bulk_create

    def spy(**kwargs):
        written.append(len(kwargs["engagements"]))
        return real(**kwargs)

    monkeypatch.setattr(services, "engagements_bulk_create", spy)
    file_rows = rows(130)
    file_rows[-1]["end_date"] = "2001-01-01"  # before its start date
    report = run(csv_file(file_rows), planner, dry_run=False)
    assert written == [40, 40, 40]  # the first batches were written ...
    assert not report.ok and not report.applied and report.batch_id is None
    assert [e.column for e in report.errors] == ["end_date"]  # its line counts the descriptions' new lines
    assert "cannot be before the start date" in report.errors[0].message
    # ... and rolled back with the rest: nothing of the import remains.
    assert not Engagement.objects.exists()
    assert not Engagement.history.exists()
    assert not Participation.objects.exists() and not Participation.history.exists()
    assert not AfterActionReport.objects.exists() and not PartnerChange.objects.exists()
    assert not ImportBatch.objects.exists()
    assert not ReferenceCounter.objects.filter(last_number__gt=0).exists()
    # The same file corrected imports whole.
    file_rows[-1]["end_date"] = "2024-03-14"
    assert run(csv_file(file_rows), planner, dry_run=False).to_create == 130


def test_a_reference_the_import_itself_drew_is_refused_further_down(planner, reference_data, monkeypatch):
    """A row naming a reference that a row above it, written in an earlier batch, was just given is a bad
    row: it would otherwise update that new engagement."""
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    file_rows = [
        good_row(title="First", start_date="2025-03-03"),
        good_row(title="Second", start_date="2025-03-03"),
        good_row(title="Third", reference="ENG-2025-000001"),
    ]
    report = run(csv_file(file_rows), planner, dry_run=False)
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (4, "reference", "Reference ENG-2025-000001 is already used.")
    ]
    assert not Engagement.objects.exists()


def test_references_of_several_years_are_drawn_at_once_after_those_drawn_one_by_one():
    from engagements.services.references import reference_allocate, references_allocate

    assert reference_allocate(year=2031, count=2) == ["ENG-2031-000001", "ENG-2031-000002"]
    drawn = references_allocate({2032: 2, 2031: 3, 2033: 0})
    assert drawn == {
        2031: ["ENG-2031-000003", "ENG-2031-000004", "ENG-2031-000005"],
        2032: ["ENG-2032-000001", "ENG-2032-000002"],
    }
    assert reference_allocate(year=2032) == ["ENG-2032-000003"]
    assert dict(ReferenceCounter.objects.filter(year__gte=2031).values_list("year", "last_number")) == {
        2031: 5,
        2032: 3,
    }


def test_an_import_draws_ids_and_references_ahead_and_leaves_no_gap_in_the_numbering(
    planner, reference_data, monkeypatch
):
    """Each batch no longer draws its own ids and reference numbers (each query of the checking thread waits
    for the writer's statement under way): the draws grow up to four batches' worth, so 13 batches draw ids six
    times, and the reference
    numbers drawn and not used are given back, so each year is numbered from 1 without a gap and the next
    engagement of the year follows on."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(imports, "BATCH_SIZE", 10)
    with CaptureQueriesContext(connection) as queries:
        report = run(csv_file(rows(130)), planner, dry_run=False)
    assert report.ok and report.to_create == 130, report.as_dict()
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum("nextval" in sql for sql in statements) == 6  # 10, 10, 20, then 40 ids at a time
    assert sum("referencecounter" in sql.lower() and "insert" in sql.lower() for sql in statements) == 1  # 32 a year
    for year in range(2020, 2025):
        references = sorted(Engagement.objects.filter(start_date__year=year).values_list("reference", flat=True))
        assert references == [f"ENG-{year}-{n:06d}" for n in range(1, 27)]
        assert ReferenceCounter.objects.get(year=year).last_number == 26
    assert Engagement.objects.values("pk").distinct().count() == 130
    follow = run(
        csv_file([good_row(title="Next", start_date="2022-05-02", end_date="2022-05-03")]), planner, dry_run=False
    )
    assert Engagement.objects.get(title="Next").reference == "ENG-2022-000027", follow.as_dict()


def test_a_reference_given_in_the_file_among_the_numbers_drawn_ahead_is_kept_and_not_drawn_again(
    planner, reference_data, monkeypatch
):
    """Numbers drawn ahead and not yet handed out may be named by a row below: that row gets its number, no
    other row gets it, and what is left is given back."""
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    auto = [good_row(title=f"Auto {n}", start_date="2025-03-03") for n in range(6)]  # 32 drawn at the first batch
    named = good_row(title="Named", reference="ENG-2025-000007", start_date="2025-03-03")
    report = run(csv_file([*auto, named]), planner, dry_run=False)
    assert report.ok and report.to_create == 7, report.as_dict()
    assert Engagement.objects.get(title="Named").reference == "ENG-2025-000007"
    drawn = sorted(Engagement.objects.exclude(title="Named").values_list("reference", flat=True))
    assert drawn == [f"ENG-2025-{n:06d}" for n in range(1, 7)]
    assert ReferenceCounter.objects.get(year=2025).last_number == 7  # 8 to 32 were drawn ahead and given back
    run(csv_file([good_row(title="Later", start_date="2025-04-01", end_date="2025-04-02")]), planner, dry_run=False)
    assert Engagement.objects.get(title="Later").reference == "ENG-2025-000008"


def test_values_accepted_on_earlier_rows_are_still_refused_where_they_are_bad_in_the_last_row(
    planner, reference_data, monkeypatch
):
    """Repeated cells are answered from the import's kept answers (``Lookups.accepted``) without checking
    them again; a cell that is bad on the last row of the last batch is still checked and reported with its
    message, and the batches written before it are rolled back with the rest."""
    monkeypatch.setattr(imports, "BATCH_SIZE", 40)
    file_rows = rows(130)
    file_rows[-1].update(domain="maritim", participants="GHA:host:-5;USA:leader:5", sensitivity="")
    report = run(csv_file(file_rows), planner, dry_run=False)
    assert not report.ok and not report.applied
    assert sorted(e.column for e in report.errors) == ["domain", "participants", "participants"]
    assert len({e.line for e in report.errors}) == 1  # the last row's line, counting the descriptions' new lines
    messages = " ".join(e.message for e in report.errors)
    assert "“maritim” is not a valid choice" in messages
    assert "Participant 1, personnel" in messages and "Participant 2, role" in messages
    assert not Engagement.objects.exists() and not Participation.objects.exists()
    assert not PartnerChange.objects.exists() and not ImportBatch.objects.exists()


@pytest.mark.parametrize("with_reports", [True, False])
def test_a_large_import_analyzes_only_the_tables_it_wrote_to(planner, reference_data, monkeypatch, with_reports):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(imports, "ANALYZE_AFTER_ROWS", 3)
    file_rows = rows(4)
    if not with_reports:
        for row in file_rows:
            row.update(aar_summary="", interoperability_rating="", capacity_rating="", trust_rating="")
    with CaptureQueriesContext(connection) as captured:
        report = run(csv_file(file_rows), planner, dry_run=False)
    assert report.applied and report.to_create == 4
    analyzed = {q["sql"].split()[1].strip('"') for q in captured.captured_queries if q["sql"].startswith("ANALYZE")}
    expected = {"engagements_engagement", "engagements_participation", "engagements_partnerchange"}
    assert analyzed == (expected | {"engagements_afteractionreport"} if with_reports else expected)
    assert AfterActionReport.objects.count() == (2 if with_reports else 0)
    if connection.vendor == "postgresql":  # the fields' columns, not the generated search document (core.db)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attname FROM pg_stats WHERE tablename = 'engagements_engagement' AND attname IN "
                "('start_date', 'status', 'search_vector')"
            )
            assert sorted(row[0] for row in cursor.fetchall()) == ["start_date", "status"]


def test_the_indexes_no_query_reads_are_gone_and_a_deleted_user_is_still_cleared(planner, reference_data):
    """Migration 0021: each index costs every imported row; these answered no query (bench/README.md)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the dropped indexes are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename IN "
            "('engagements_engagement', 'engagements_partnerchange', 'engagements_historicalparticipation')"
        )
        found = cursor.fetchall()
    indexed = {(table, definition.split("(", 1)[1].split(")")[0]) for table, definition in found}
    for table, column in [
        ("engagements_engagement", "created_by_id"),
        ("engagements_engagement", "updated_by_id"),
        ("engagements_engagement", "deleted_by_id"),
        ("engagements_engagement", "reference varchar_pattern_ops"),
        ("engagements_partnerchange", "engagement_id"),
        ("engagements_partnerchange", "partner_id"),
        ("engagements_historicalparticipation", "partner_id"),
    ]:
        assert (table, column) not in indexed
    assert ("engagements_engagement", "reference") in indexed  # the unique index finds a reference
    assert ("engagements_partnerchange", "processed_at, partner_id") in indexed  # what is pending
    # The foreign keys stay: deleting a user still clears who created the engagements.
    report = run(csv_file([good_row()]), user=planner, dry_run=False)
    assert report.applied
    engagement = Engagement.objects.get()
    assert engagement.created_by_id == planner.pk
    get_user_model().objects.filter(pk=planner.pk).delete()
    engagement.refresh_from_db()
    assert engagement.created_by_id is None and engagement.updated_by_id is None


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_runs_by_batch_during_an_import_and_is_left_as_it_was(
    planner, reference_data, monkeypatch, enabled
):
    import gc

    monkeypatch.setattr(imports, "BATCH_SIZE", 10)  # three batches
    seen = []
    write = imports._Writer.write

    def spy(self, accepted, report):
        seen.append(gc.isenabled())
        return write(self, accepted, report)

    monkeypatch.setattr(imports._Writer, "write", spy)
    collected = []
    monkeypatch.setattr(imports.gc, "collect", lambda generation=2: collected.append(generation) or 0)
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        report = run(csv_file(rows(25)), planner, dry_run=False)
        after = gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
    assert report.applied and report.to_create == 25, report.as_dict()
    assert seen == [False, False, False]  # no automatic collection while the rows are checked and written
    assert collected == [1, 1, 1]  # the young generations, once per batch
    assert after is enabled


def test_the_series_and_contact_indexes_hold_only_rows_that_name_one_and_still_find_them(planner, reference_data):
    """Migration 0023: a row without a series or a point of contact adds nothing to their indexes, and asking
    for a series or a contact (what every query of them does) still reads the index."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("partial indexes are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'engagements_engagement' "
            "AND (indexdef LIKE '%%(series_id%%' OR indexdef LIKE '%%(point_of_contact_id%%')"
        )
        found = dict(cursor.fetchall())
    assert set(found) == {"engagement_series_start", "engagement_contact"}, found
    assert found["engagement_series_start"].endswith("WHERE (series_id IS NOT NULL)")
    assert found["engagement_contact"].endswith("WHERE (point_of_contact_id IS NOT NULL)")
    report = run(
        csv_file([good_row(title="Named", point_of_contact=planner.username), good_row()]), planner, dry_run=False
    )
    assert report.applied, report.as_dict()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM engagements_engagement WHERE point_of_contact_id = %s", [planner.pk])
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "engagement_contact" in plan, plan
    assert list(Engagement.objects.filter(point_of_contact=planner).values_list("title", flat=True)) == ["Named"]


def test_numbers_drawn_ahead_are_taken_out_when_named_and_the_rest_given_back():
    """``ReferenceNumbers`` on its own: a named number among those drawn ahead is not handed out again, the
    numbers above the last one handed out or named go back to the counter, and a named number above every
    draw keeps the counter where it put it."""
    from engagements.services.references import ReferenceNumbers

    numbers = ReferenceNumbers()
    assert numbers.take({2040: 2}) == {2040: ["ENG-2040-000001", "ENG-2040-000002"]}  # 32 drawn
    numbers.reserve("ENG-2040-000004")
    assert numbers.take({2040: 2}) == {2040: ["ENG-2040-000003", "ENG-2040-000005"]}
    numbers.give_back()
    assert ReferenceCounter.objects.get(year=2040).last_number == 5
    numbers.take({2041: 1})
    numbers.reserve("ENG-2041-000100")  # above the 16 drawn: the counter moves there and stays
    numbers.give_back()
    assert ReferenceCounter.objects.get(year=2041).last_number == 100
