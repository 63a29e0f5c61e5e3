"""Confidence and provisional quarters (DESIGN.md, "Second edition": Scores), on known data.

Quarter 2024-Q4 ends on 2024-12-31; its 8-quarter window runs from 2023-01-01 to 2024-12-31. Each partner
below has its own engagements, counted by hand: the engagements and after-action reports that the score
counts, and the confidence the rule gives (low: under 3 engagements or no report; high: 8+ engagements and
3+ reports; else medium).
"""

import csv
import datetime
import io

import pytest

from assessments.models import PartnerScore
from assessments.periods import Quarter
from assessments.services import assessment_run_execute, assessment_run_request
from assessments.services.scoring import confidence_of
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

D = datetime.date
RATED = (4, 4, 4)


FIRST_DAY = D(2024, 1, 1)


def engagements(iso3, *, total, rated, first=FIRST_DAY):
    """``total`` two-day engagements of ``iso3`` in 2024, ``rated`` of them with an after-action report."""
    for n in range(total):
        start = first + datetime.timedelta(days=10 * n)
        make_engagement([iso3], start, start + datetime.timedelta(days=1), ratings=RATED if n < rated else None)


@pytest.fixture
def known(reference_data):
    engagements("GHA", total=2, rated=2)  # 2 engagements, 2 reports: low (fewer than 3)
    engagements("SEN", total=5, rated=0)  # 5 engagements, no report: low
    engagements("KEN", total=5, rated=2)  # medium
    engagements("NGA", total=8, rated=2)  # 8 engagements but 2 reports: medium
    engagements("MAR", total=8, rated=3)  # high
    # Engagements that do not count carry reports that must not be counted either: one before the window,
    # one cancelled, one planned (MAR stays at 8 engagements, 3 reports).
    make_engagement(["MAR"], D(2022, 12, 1), D(2022, 12, 31), ratings=RATED)
    make_engagement(["MAR"], D(2024, 6, 1), D(2024, 6, 2), ratings=RATED, status="cancelled")
    make_engagement(["MAR"], D(2024, 6, 1), D(2024, 6, 2), ratings=RATED, status="planned")
    assessment_run_execute(run_id=assessment_run_request(periods=["2024-Q4"], enqueue=False).pk)


def stored(iso3):
    return PartnerScore.objects.get(partner__iso3=iso3, period=D(2024, 10, 1))


@pytest.mark.parametrize(
    ("iso3", "engagement_count", "report_count", "confidence"),
    [
        ("GHA", 2, 2, "low"),
        ("SEN", 5, 0, "low"),
        ("KEN", 5, 2, "medium"),
        ("NGA", 8, 2, "medium"),
        ("MAR", 8, 3, "high"),
    ],
)
def test_a_run_stores_the_counts_and_the_confidence(known, iso3, engagement_count, report_count, confidence):
    score = stored(iso3)
    assert (score.engagement_count, score.report_count, score.confidence) == (
        engagement_count,
        report_count,
        confidence,
    )


@pytest.mark.parametrize(
    ("engagements_counted", "reports", "level"),
    [(0, 0, "low"), (2, 2, "low"), (3, 0, "low"), (3, 1, "medium"), (7, 7, "medium"), (8, 2, "medium"), (8, 3, "high")],
)
def test_the_rule_at_its_boundaries(engagements_counted, reports, level):
    assert confidence_of(engagement_count=engagements_counted, report_count=reports) == level


def test_confidence_follows_a_new_report(known):
    # A third report on one of Nigeria's 8 engagements makes its score high at the next run.
    from engagements.models import Engagement
    from tests.engagements.factories import AfterActionReportFactory

    unrated = Engagement.objects.filter(participations__partner__iso3="NGA", after_action__isnull=True).first()
    AfterActionReportFactory(engagement=unrated)
    assessment_run_execute(run_id=assessment_run_request(periods=["2024-Q4"], enqueue=False).pk)
    assert (stored("NGA").report_count, stored("NGA").confidence) == (3, "high")


def test_the_scores_api_lists_and_filters_confidence(known, viewer, api_for):
    response = api_for(viewer).get("/api/v1/assessments/scores/", {"period": "2024-Q4", "ordering": "partner"})
    assert response.status_code == 200
    rows = {row["partner"]: row for row in response.json()["results"]}
    assert {code: (rows[code]["report_count"], rows[code]["confidence"]) for code in ("GHA", "MAR")} == {
        "GHA": (2, "low"),
        "MAR": (3, "high"),
    }
    assert rows["MAR"]["provisional"] is False  # 2024-Q4 has ended
    high = api_for(viewer).get("/api/v1/assessments/scores/", {"period": "2024-Q4", "confidence": "high"})
    assert [row["partner"] for row in high.json()["results"]] == ["MAR"]
    low = api_for(viewer).get("/api/v1/assessments/scores/", {"confidence": "low"})
    assert {row["partner"] for row in low.json()["results"]} == {"GHA", "SEN"}
    bad = api_for(viewer).get("/api/v1/assessments/scores/", {"confidence": "certain"})
    assert bad.status_code == 400 and "confidence" in bad.json()["errors"]


def test_the_schema_types_the_new_fields(client_for, viewer):
    schema = client_for(viewer).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    props = schema["components"]["schemas"]["PartnerScore"]["properties"]
    assert props["report_count"]["type"] == "integer"
    assert props["provisional"]["type"] == "boolean"
    confidence = props["confidence"]
    ref = confidence.get("$ref") or (confidence.get("allOf") or [{}])[0].get("$ref")
    enum = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["enum"] if ref else confidence["enum"]
    assert set(enum) == {"low", "medium", "high"}


def test_the_score_csv_has_the_new_columns(known, analyst, client_for):
    response = client_for(analyst).get("/assessments/", {"period": "2024-Q4", "export": "csv", "table": "scores"})
    rows = {
        row["partner"]: row
        for row in csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff")))
    }
    assert (rows["KEN"]["report_count"], rows["KEN"]["confidence"], rows["KEN"]["provisional"]) == (
        "2",
        "medium",
        "False",
    )


def test_the_overview_and_partner_page_show_the_badge(known, viewer, client_for):
    client = client_for(viewer)
    page = client.get("/assessments/", {"period": "2024-Q4"}).content.decode()
    assert 'data-confidence="high"' in page and 'data-confidence="low"' in page
    assert "provisional: the quarter ends on" not in page
    partner = client.get("/assessments/partners/MAR/", {"period": "2024-Q4"}).content.decode()
    assert "high confidence" in partner and "8 engagements counted, 3 with an after-action report" in partner


def test_the_group_page_shows_the_badge(known, viewer, client_for):
    page = client_for(viewer).get("/assessments/regions/africa/", {"period": "2024-Q4"}).content.decode()
    assert 'data-confidence="medium"' in page


# --- provisional ---------------------------------------------------------------------------------------------


def test_a_quarter_is_provisional_until_its_last_day_has_passed():
    q = Quarter(2026, 4)
    assert q.is_provisional(today=D(2026, 10, 1))
    assert q.is_provisional(today=D(2026, 12, 31))  # its last day: not ended yet
    assert not q.is_provisional(today=D(2027, 1, 1))


@pytest.fixture
def current_quarter_scored(reference_data):
    current = Quarter.current()
    today = datetime.date.today()
    engagements("KEN", total=3, rated=1, first=current.start)  # days 1..22 of the quarter
    make_engagement(["KEN"], current.shift(-1).start, current.shift(-1).start, ratings=RATED)
    runs = [str(current.shift(-1)), str(current)]
    assessment_run_execute(run_id=assessment_run_request(periods=runs, enqueue=False).pk)
    return current, today


def test_the_current_quarter_is_provisional_everywhere_and_the_previous_is_not(
    current_quarter_scored, viewer, client_for, api_for
):
    current, _today = current_quarter_scored
    rows = {
        row["period"]: row
        for row in api_for(viewer).get("/api/v1/assessments/scores/", {"partner": "KEN"}).json()["results"]
    }
    assert rows[str(current)]["provisional"] is True
    assert rows[str(current.shift(-1))]["provisional"] is False
    page = client_for(viewer).get("/assessments/", {"period": str(current)}).content.decode()
    assert "provisional: the quarter ends on" in page
    before = client_for(viewer).get("/assessments/", {"period": str(current.shift(-1))}).content.decode()
    assert "provisional: the quarter ends on" not in before


def test_an_alert_of_a_provisional_quarter_is_raised_and_marked(reference_data, viewer, client_for, api_for):
    # All-5 ratings in the previous quarter's last month, all-1 in the current quarter: a drop of more
    # than 10 points (as in the ghana_senegal_drop fixture, one year on).
    current = Quarter.current()
    before = current.shift(-1)
    make_engagement(["GHA", "SEN"], before.end - datetime.timedelta(days=29), before.end, ratings=(5, 5, 5))
    make_engagement(["GHA", "SEN"], current.start, current.start + datetime.timedelta(days=30), ratings=(1, 1, 1))
    assessment_run_execute(run_id=assessment_run_request(periods=[str(before), str(current)], enqueue=False).pk)
    rows = api_for(viewer).get("/api/v1/assessments/alerts/", {"period": str(current)}).json()["results"]
    assert {row["partner"] for row in rows} == {"GHA", "SEN"}
    assert all(row["provisional"] for row in rows)
    page = client_for(viewer).get("/assessments/", {"period": str(current)}).content.decode()
    alerts = page[page.index('id="alerts"') :]
    assert "provisional: the quarter ends on" in alerts[: alerts.index("</section>")]


def test_the_methodology_page_states_the_rule_from_the_code(reference_data, viewer, client_for):
    page = client_for(viewer).get("/assessments/methodology/").content.decode()
    section = page[page.index('id="confidence"') :]
    assert "fewer than 3 engagements" in section and "8 or more engagements counted and 3 or more" in section
    # The example rows are confidence_of's answers: 8 engagements with 2 reports is medium, with 3 high.
    assert '<td class="num">8</td><td class="num">2</td><td><span class="badge badge-confidence-medium">' in section
    assert '<td class="num">8</td><td class="num">3</td><td><span class="badge badge-confidence-high">' in section
    assert "marked provisional" in section


def test_the_migration_fills_in_scores_stored_before_it(known):
    # Scores stored before the fields existed had the defaults (0 reports, low); the migration's backfill
    # gives them what a run would.
    import importlib

    from django.apps import apps

    PartnerScore.objects.update(report_count=0, confidence="low")
    migration = importlib.import_module("assessments.migrations.0007_score_confidence")
    migration.backfill(apps, None)
    assert (stored("MAR").report_count, stored("MAR").confidence) == (3, "high")
    assert (stored("KEN").report_count, stored("KEN").confidence) == (2, "medium")
    assert (stored("SEN").report_count, stored("SEN").confidence) == (0, "low")
