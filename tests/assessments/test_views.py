"""Analyst pages per role: scores overview and partner page, runs, objectives/indicators/measurements."""

import datetime
from unittest import mock

import pytest

from assessments.models import Alert, AssessmentRun, Indicator, Measurement, Objective
from assessments.services import assessment_run_execute, assessment_run_request
from tests.assessments.factories import IndicatorFactory, ObjectiveFactory, partner

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def scored(ghana_senegal_drop):
    return ghana_senegal_drop


@pytest.fixture
def no_enqueue():
    with mock.patch("assessments.tasks.run_assessment.delay") as delay:
        yield delay


def test_pages_need_a_login(reference_data, client):
    response = client.get("/assessments/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_overview_shows_the_latest_quarter(scored, viewer, client_for):
    response = client_for(viewer).get("/assessments/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Partner scores, 2024-Q4" in html and "Ghana" in html and "Italy" in html
    assert "Start a run" not in html  # viewers cannot
    assert "Europe" in html  # region means
    assert Alert.objects.filter(partner__iso3="GHA").exists() and "/acknowledge/" not in html


def test_overview_filters_sorts_and_exports(scored, viewer, client_for):
    client = client_for(viewer)
    html = client.get(
        "/assessments/", {"period": "2024-Q4", "region": "Europe", "ordering": "partner"}
    ).content.decode()
    top = html[: html.index('id="alerts"')]  # tiles, map (Ghana only as a shape "not in this view") and movers
    assert 'data-iso3="FRA"' in top and 'data-iso3="GHA"' not in top and ">Ghana<" not in top
    scores = html[html.index('id="scores"') :]  # the scores table
    assert "France" in scores and "Ghana" not in scores and scores.index("France") < scores.index("Italy")
    response = client.get("/assessments/", {"period": "2024-Q4", "organization": "ECOWAS", "export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert lines[0].startswith("partner,name,region,period,overall,activity")
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["GHA", "SEN"]


def test_overview_bad_period_is_explained(scored, viewer, client_for):
    response = client_for(viewer).get("/assessments/", {"period": "2024-Q9"})
    assert response.status_code == 400
    assert "write it as YYYY-Qn" in response.content.decode()


def test_analyst_acknowledges_an_alert(scored, analyst, client_for):
    alert = Alert.objects.get(partner__iso3="GHA")
    client = client_for(analyst)
    assert f"/assessments/alerts/{alert.pk}/acknowledge/" in client.get("/assessments/").content.decode()
    response = client.post(f"/assessments/alerts/{alert.pk}/acknowledge/", {"note": "Exercise cut short"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == analyst and alert.note == "Exercise cut short"


def test_viewer_cannot_acknowledge(scored, viewer, client_for):
    alert = Alert.objects.get(partner__iso3="GHA")
    assert client_for(viewer).post(f"/assessments/alerts/{alert.pk}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_partner_page_shows_history_and_explanation(scored, viewer, client_for):
    client = client_for(viewer)
    html = client.get("/assessments/partners/gha/").content.decode()
    for slug in ("africa", "sub-saharan-africa", "western-africa"):  # each M49 level links to its page
        assert f'href="/assessments/regions/{slug}/?period=2024-Q4"' in html
    assert "Score history" in html and "2024-Q3" in html and "2024-Q4" in html
    assert "Why the score for 2024-Q4 is what it is" in html and "engagements that contributed" in html
    html = client.get("/assessments/partners/GHA/", {"period": "2024-Q3"}).content.decode()
    assert "Why the score for 2024-Q3" in html
    response = client.get("/assessments/partners/GHA/", {"period": "junk"})
    assert response.status_code == 400 and "write it as YYYY-Qn" in response.content.decode()
    assert client.get("/assessments/partners/XXX/").status_code == 404
    assert "nothing to score" in client.get("/assessments/partners/ISL/").content.decode().lower()


def test_runs_page_and_starting_a_run(reference_data, analyst, viewer, client_for, no_enqueue):
    response = client_for(viewer).post("/assessments/runs/", {"first": "2024-Q1", "last": "2024-Q2"})
    assert response.status_code == 403 and not AssessmentRun.objects.exists()
    client = client_for(analyst)
    response = client.post("/assessments/runs/", {"first": "2024-Q1", "last": "2024-Q3"})
    run = AssessmentRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assessments/runs/{run.pk}/"
    assert run.periods == ["2024-Q1", "2024-Q2", "2024-Q3"] and run.requested_by == analyst
    html = client.get(response["Location"]).content.decode()
    assert "Queued" in html and 'http-equiv="refresh"' in html
    response = client.post("/assessments/runs/", {"first": "2024-Q3", "last": "2024-Q1"})
    assert response.status_code == 400 and "cannot be before the first" in response.content.decode()
    response = client.post("/assessments/runs/", {"first": "1900-Q1", "last": "2100-Q4"})
    assert response.status_code == 400 and "At most 400 quarters" in response.content.decode()
    assert AssessmentRun.objects.count() == 1
    assessment_run_execute(run_id=run.pk)
    html = client_for(viewer).get("/assessments/runs/").content.decode()
    assert "Succeeded" in html and "2024-Q1, 2024-Q2, 2024-Q3" in html and "Start run" not in html


def test_failed_run_shows_its_error(reference_data, viewer, client_for):
    run = assessment_run_request(periods=["2024-Q1"], enqueue=False)
    AssessmentRun.objects.filter(pk=run.pk).update(status="failed", error="OperationalError: server closed")
    html = client_for(viewer).get(f"/assessments/runs/{run.pk}/").content.decode()
    assert "OperationalError: server closed" in html and "left as they were" in html


@pytest.mark.parametrize("role, allowed", [("viewer", False), ("planner", False), ("analyst", True), ("admin", True)])
def test_objective_pages_per_role(reference_data, make_user, client_for, role, allowed, no_enqueue):
    client = client_for(make_user(f"{role}-p", role))
    objective = ObjectiveFactory(partner=partner("KEN"), title="Coastal patrols")
    indicator = IndicatorFactory(objective=objective, name="Patrol hours", baseline_value=0, target_value=200)
    assert "Coastal patrols" in client.get("/assessments/objectives/").content.decode()
    assert "Patrol hours" in client.get(f"/assessments/objectives/{objective.pk}/").content.decode()
    assert client.get(f"/assessments/indicators/{indicator.pk}/").status_code == 200
    create = client.post(
        "/assessments/objectives/new/",
        {"partner": "tza", "line_of_effort": "capacity_building", "title": "Staff college", "status": "active"},
    )
    measure = client.post(
        f"/assessments/measurements/new/?indicator={indicator.pk}",
        {"indicator": indicator.pk, "date": "2024-06-01", "value": "50", "source": "Navy log"},
    )
    if not allowed:
        assert create.status_code == measure.status_code == 403
        assert Objective.objects.count() == 1 and not Measurement.objects.exists()
        return
    assert create.status_code == 302 and Objective.objects.get(title="Staff college").partner.iso3 == "TZA"
    assert measure.status_code == 302 and measure["Location"] == f"/assessments/indicators/{indicator.pk}/"
    html = client.get(f"/assessments/objectives/{objective.pk}/").content.decode()
    assert "<progress" in html and "25%" in html  # 50 of 200
    assert client.post(f"/assessments/indicators/{indicator.pk}/delete/").status_code == 302
    assert not Indicator.objects.filter(pk=indicator.pk).exists()


def test_form_errors_are_shown_beside_the_field(reference_data, analyst, client_for, no_enqueue):
    client = client_for(analyst)
    objective = ObjectiveFactory()
    response = client.post(
        "/assessments/indicators/new/",
        {"objective": objective.pk, "name": "Flat", "baseline_value": "5", "target_value": "5"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "must differ from the baseline" in form.errors["target_value"][0]
    indicator = IndicatorFactory(objective=objective)
    data = {"indicator": indicator.pk, "date": "2024-06-01", "value": "1"}
    assert client.post("/assessments/measurements/new/", data).status_code == 302
    response = client.post("/assessments/measurements/new/", data)
    assert response.status_code == 400 and "already has a measurement" in response.context["form"].errors["date"][0]
    response = client.post("/assessments/objectives/new/", {"partner": "ZZZ", "line_of_effort": "", "title": ""})
    assert response.status_code == 400 and set(response.context["form"].errors) >= {"partner", "title"}
