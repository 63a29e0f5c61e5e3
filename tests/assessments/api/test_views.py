"""The assessments API per role: scores, explanations, runs, objectives, indicators, measurements."""

import datetime
from unittest import mock

import pytest
from rest_framework.test import APIClient

from assessments.models import AssessmentRun, Indicator, Measurement, Objective
from assessments.services import assessment_run_execute, assessment_run_request
from tests.assessments.factories import IndicatorFactory, ObjectiveFactory, make_engagement, partner

pytestmark = pytest.mark.django_db

D = datetime.date
ROW_FIELDS = [
    "partner",
    "period",
    "overall",
    "activity",
    "interoperability",
    "capacity",
    "trust",
    "continuity",
    "multilateral",
    "objectives",
    "engagement_count",
    "report_count",
    "confidence",
    "provisional",
    "delta_overall",
    "scoring_model",
    "run",
    "computed_at",
]


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def scored(reference_data):
    make_engagement(["KEN", "TZA", "UGA"], D(2024, 10, 1), D(2024, 10, 10), ratings=(5, 3, 4))
    make_engagement(["KEN", "ETH"], D(2023, 6, 1), D(2023, 6, 30), ratings=(2, 4, 1))
    make_engagement(["FRA", "DEU"], D(2024, 9, 1), D(2024, 9, 5), organizations=["NATO"])
    run = assessment_run_request(periods=["2024-Q3", "2024-Q4"], enqueue=False)
    return assessment_run_execute(run_id=run.pk)


def test_anonymous_gets_401(reference_data):
    for url in ("/api/v1/assessments/scores/", "/api/v1/assessments/runs/", "/api/v1/assessments/objectives/"):
        assert APIClient().get(url).status_code == 401


def test_score_rows_have_the_contract_fields(scored, viewer):
    body = api_for(viewer).get("/api/v1/assessments/scores/", {"partner": "ken", "period": "2024-Q4"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert list(row) == ROW_FIELDS
    assert (row["partner"], row["period"], row["scoring_model"], row["run"]) == ("KEN", "2024-Q4", 1, str(scored.pk))
    assert round(row["overall"], 2) == 50.63 and row["objectives"] is None and row["engagement_count"] == 2


def test_score_filters(scored, viewer):
    api = api_for(viewer)

    def partners(**params):
        return sorted(r["partner"] for r in api.get("/api/v1/assessments/scores/", params).json()["results"])

    assert partners(period="2024-Q4") == ["DEU", "ETH", "FRA", "KEN", "TZA", "UGA"]
    assert partners(period="2024-Q4", region="europe") == ["DEU", "FRA"]
    assert partners(period="2024-Q4", intermediate_region="eastern africa") == ["ETH", "KEN", "TZA", "UGA"]
    assert partners(period="2024-Q4", organization="EAC") == ["KEN", "TZA", "UGA"]
    assert partners(period="2024-Q3", organization="nato") == ["DEU", "FRA"]
    assert partners(partner="KEN,FRA", period="2024-Q3") == ["FRA", "KEN"]


@pytest.mark.parametrize("period", ["2025-Q5", "Q3-2025", "2025", "9999-Q1"])
def test_bad_period_is_a_400_with_a_clear_message(scored, viewer, period):
    response = api_for(viewer).get("/api/v1/assessments/scores/", {"period": period})
    assert response.status_code == 400
    assert (
        "2025-Q3" in response.json()["errors"]["period"][0] or "out of range" in response.json()["errors"]["period"][0]
    )
    response = api_for(viewer).get(f"/api/v1/assessments/scores/KEN/{period}/explain/")
    assert response.status_code == 400 and "period" in response.json()["errors"]


def test_score_list_queries_are_constant(scored, viewer, django_assert_max_num_queries):
    api = api_for(viewer)
    api.get("/api/v1/assessments/scores/")  # warm the permission cache
    with django_assert_max_num_queries(6) as small:
        assert api.get("/api/v1/assessments/scores/", {"page_size": 2}).json()["count"] == 10
    for day in range(1, 20):
        make_engagement(["GHA", "SEN", "NGA", "BEN"][day % 3 :], D(2024, 11, day), D(2024, 11, day))
    assessment_run_execute(run_id=assessment_run_request(periods=["2024-Q4"], enqueue=False).pk)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api.get("/api/v1/assessments/scores/", {"page_size": 500}).json()["results"]) == 14


def test_explain(scored, viewer):
    body = api_for(viewer).get("/api/v1/assessments/scores/ken/2024-Q4/explain/").json()
    assert body["partner"] == "KEN" and body["period"] == "2024-Q4" and body["stored_matches"] is True
    assert [e["age_days"] for e in body["engagements"]] == [82, 550]
    assert body["inputs"]["continuity"]["quarters"] == ["2023-Q2", "2024-Q4"]
    assert round(body["overall"], 2) == round(body["stored"]["overall"], 2) == 50.63
    assert api_for(viewer).get("/api/v1/assessments/scores/XXX/2024-Q4/explain/").status_code == 404


def test_explain_gives_viewers_aggregate_lines_instead_of_restricted_engagements(reference_data, viewer, analyst):
    secret = make_engagement(
        ["KEN", "ETH"],
        D(2023, 6, 7),
        D(2023, 6, 23),
        ratings=(2, 4, 1),
        organizations=["IGAD"],
        sensitivity="restricted",
        title="Quiet Horizon",
        location_name="Hidden Bay",
    )
    make_engagement(["KEN", "TZA", "UGA"], D(2024, 10, 1), D(2024, 10, 10), ratings=(5, 3, 4))
    url = "/api/v1/assessments/scores/KEN/2024-Q4/explain/"
    response = api_for(viewer).get(url)
    text = response.content.decode()
    for leak in (secret.reference, "Quiet Horizon", "Hidden Bay", "2023-06-07", "2023-06-23", "IGAD"):
        assert leak not in text, leak
    body = response.json()
    weight = 0.5 ** (557 / 365)
    assert [e["restricted"] for e in body["engagements"]] == [False]
    assert [(line["component"], line["engagement_count"]) for line in body["restricted"]] == [
        ("activity", 1),
        ("interoperability", 1),
        ("capacity", 1),
        ("trust", 1),
        ("continuity", 1),
        ("multilateral", 1),
    ]
    assert all(set(line) == {"component", "engagement_count", "weight"} for line in body["restricted"])
    assert body["restricted"][0]["weight"] == pytest.approx(weight) and body["engagement_count"] == 2
    assert body["inputs"]["continuity"]["quarters"] == ["2024-Q4"]  # 2023-Q2 would date it
    full = api_for(analyst).get(url).json()
    assert full["restricted"] == [] and secret.reference in {e["reference"] for e in full["engagements"]}
    assert full["overall"] == pytest.approx(body["overall"])


@pytest.mark.parametrize("role, allowed", [("viewer", False), ("planner", False), ("analyst", True), ("admin", True)])
def test_starting_a_run_per_role(reference_data, make_user, role, allowed):
    api = api_for(make_user(f"{role}-x", role))
    with mock.patch("assessments.tasks.run_assessment.delay"):
        response = api.post("/api/v1/assessments/runs/", {"periods": ["2024-Q3", "2024-Q4"]}, format="json")
    if not allowed:
        assert response.status_code == 403 and not AssessmentRun.objects.exists()
        assert api.get("/api/v1/assessments/runs/").status_code == 200
        return
    assert response.status_code == 202
    body = response.json()
    run = AssessmentRun.objects.get()
    assert body["id"] == str(run.pk) and body["status"] == "queued" and body["periods"] == ["2024-Q3", "2024-Q4"]
    detail = api.get(f"/api/v1/assessments/runs/{run.pk}/").json()
    assert detail["trigger"] == "api" and set(detail) >= {"partners_scored", "started_at", "finished_at", "error"}


def test_run_without_periods_and_with_bad_ones(reference_data, analyst):
    api = api_for(analyst)
    with mock.patch("assessments.tasks.run_assessment.delay"):
        assert len(api.post("/api/v1/assessments/runs/", {}, format="json").json()["periods"]) == 2
        response = api.post("/api/v1/assessments/runs/", {"periods": ["2025-Q7"]}, format="json")
        assert response.status_code == 400 and "YYYY-Qn" in response.json()["errors"]["periods"][0]
        response = api.post("/api/v1/assessments/runs/", {"periods": "2025-Q3"}, format="json")
        assert response.status_code == 400
    assert AssessmentRun.objects.count() == 1


def test_run_executes_in_embedded_mode(reference_data, analyst, django_capture_on_commit_callbacks):
    from assessments.tasks import run_assessment

    make_engagement(["KEN", "TZA"], D(2024, 10, 1), D(2024, 10, 10))
    # Embedded mode (no broker): the task runs in-process once the request's transaction commits.
    in_process = mock.patch.object(run_assessment, "delay", side_effect=lambda run_id: run_assessment.apply([run_id]))
    with in_process, django_capture_on_commit_callbacks(execute=True):
        response = api_for(analyst).post("/api/v1/assessments/runs/", {"periods": ["2024-Q4"]}, format="json")
    assert response.status_code == 202
    run = AssessmentRun.objects.get()
    assert str(run.pk) == response.json()["id"] and run.status == "succeeded" and run.partners_scored == 2


@pytest.mark.parametrize("role, allowed", [("viewer", False), ("planner", False), ("analyst", True), ("admin", True)])
def test_objective_indicator_measurement_crud_per_role(reference_data, make_user, role, allowed):
    api = api_for(make_user(f"{role}-y", role))
    objective = ObjectiveFactory(partner=partner("KEN"))
    indicator = IndicatorFactory(objective=objective)
    assert api.get("/api/v1/assessments/objectives/").status_code == 200
    assert api.get(f"/api/v1/assessments/indicators/{indicator.pk}/").status_code == 200
    with mock.patch("assessments.tasks.run_assessment.delay"):
        created = api.post(
            "/api/v1/assessments/objectives/",
            {"partner": "gha", "line_of_effort": "counter_terrorism", "title": "Border posts"},
            format="json",
        )
        measured = api.post(
            "/api/v1/assessments/measurements/",
            {"indicator": indicator.pk, "date": "2024-05-01", "value": 25, "source": "Ministry report"},
            format="json",
        )
        changed = api.patch(f"/api/v1/assessments/indicators/{indicator.pk}/", {"target_value": 80}, format="json")
        deleted = api.delete(f"/api/v1/assessments/objectives/{objective.pk}/")
    if not allowed:
        assert {created.status_code, measured.status_code, changed.status_code, deleted.status_code} == {403}
        assert Objective.objects.count() == 1 and not Measurement.objects.exists()
        return
    assert created.status_code == 201 and created.json()["partner"] == "GHA"
    assert measured.status_code == 201 and measured.json()["value"] == 25
    assert changed.status_code == 200 and changed.json()["target_value"] == 80
    assert changed.json()["progress"] == pytest.approx(25 / 80) and changed.json()["latest_date"] == "2024-05-01"
    assert deleted.status_code == 204
    assert list(Objective.objects.values_list("title", flat=True)) == ["Border posts"]


def test_bad_input_is_a_400_with_the_fields_message(reference_data, analyst):
    api = api_for(analyst)
    objective = ObjectiveFactory()
    response = api.post(
        "/api/v1/assessments/indicators/",
        {"objective": objective.pk, "name": "Flat", "baseline_value": 3, "target_value": 3},
        format="json",
    )
    assert response.status_code == 400
    assert "must differ from the baseline" in response.json()["errors"]["target_value"][0]
    indicator = IndicatorFactory(objective=objective)
    with mock.patch("assessments.tasks.run_assessment.delay"):
        first = {"indicator": indicator.pk, "date": "2024-05-01", "value": 1}
        assert api.post("/api/v1/assessments/measurements/", first, format="json").status_code == 201
        response = api.post("/api/v1/assessments/measurements/", first, format="json")
    assert response.status_code == 400 and "already has a measurement" in response.json()["errors"]["date"][0]
    response = api.post(
        "/api/v1/assessments/objectives/", {"partner": "ZZZ", "line_of_effort": "x", "title": ""}, format="json"
    )
    assert response.status_code == 400 and set(response.json()["errors"]) == {"partner", "line_of_effort", "title"}
    assert not Indicator.objects.filter(name="Flat").exists()


def test_objective_list_queries_are_constant(reference_data, viewer, django_assert_max_num_queries):
    api = api_for(viewer)
    IndicatorFactory()
    api.get("/api/v1/assessments/objectives/")
    with django_assert_max_num_queries(5) as small:
        api.get("/api/v1/assessments/objectives/")
        api.get("/api/v1/assessments/indicators/")
    for _ in range(15):
        IndicatorFactory()
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert api.get("/api/v1/assessments/objectives/").json()["count"] == 16
        assert api.get("/api/v1/assessments/indicators/").json()["count"] == 16
