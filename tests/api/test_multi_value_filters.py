"""One multi-value convention: every list filter takes repeated parameters and commas alike, and
``ordering`` takes several keys either way (core/filters.py); the schema says so (arrays, exploded)."""

import datetime

import pytest
from drf_spectacular.generators import SchemaGenerator

from assessments.services import assessment_run_execute, assessment_run_request
from tests.assessments.factories import make_engagement, partner

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def data(reference_data):
    made = {
        "gha": make_engagement(
            ["GHA"], D(2024, 11, 1), D(2024, 11, 2), status="completed", host_country=partner("GHA")
        ),
        "sen": make_engagement(
            ["SEN"], D(2024, 11, 3), D(2024, 11, 4), status="completed", host_country=partner("SEN")
        ),
        "mar": make_engagement(
            ["MAR"], D(2024, 10, 5), D(2024, 10, 6), status="in_progress", host_country=partner("MAR")
        ),
        "ken": make_engagement(["KEN"], D(2024, 10, 7), D(2099, 10, 8), status="planned", host_country=partner("KEN")),
    }
    assessment_run_execute(run_id=assessment_run_request(periods=["2024-Q4"], enqueue=False).pk)
    return made


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_repeated_and_comma_separated_values_are_the_same_filter(data, api_for, analyst):
    api = api_for(analyst)
    url = "/api/v1/engagements/"
    expected = sorted([data["gha"].pk, data["sen"].pk])
    assert ids(api.get(url + "?partner=GHA&partner=SEN")) == expected
    assert ids(api.get(url + "?partner=GHA,SEN")) == expected
    assert ids(api.get(url + "?host_country=GHA&host_country=sen")) == expected
    assert ids(api.get(url + "?host_country=GHA,SEN")) == expected
    both = sorted([data["mar"].pk, data["ken"].pk])
    assert ids(api.get(url + "?status=planned,in_progress")) == both
    assert ids(api.get(url + "?status=planned&status=in_progress")) == both
    assert ids(api.get(url + "?status=planned,in_progress&status=completed")) == sorted(e.pk for e in data.values())


def test_a_bad_choice_among_several_is_a_400_naming_the_field(data, api_for, analyst):
    response = api_for(analyst).get("/api/v1/engagements/?status=planned,nonsense")
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_scores_and_partners_take_both_forms(data, api_for, analyst):
    api = api_for(analyst)
    for query in ("partner=GHA&partner=SEN", "partner=GHA,SEN"):
        rows = api.get(f"/api/v1/assessments/scores/?{query}").json()["results"]
        assert sorted(row["partner"] for row in rows) == ["GHA", "SEN"]
    one = {row["iso3"] for row in api.get("/api/v1/partners/?region=Africa&page_size=500").json()["results"]}
    other = {row["iso3"] for row in api.get("/api/v1/partners/?region=Europe&page_size=500").json()["results"]}
    assert one and other
    for query in ("region=Africa&region=Europe", "region=Africa,Europe"):
        both = {row["iso3"] for row in api.get(f"/api/v1/partners/?{query}&page_size=500").json()["results"]}
        assert both == one | other


@pytest.mark.parametrize("query", ["ordering=status&ordering=-date", "ordering=status,-date"])
def test_ordering_takes_several_keys_repeated_or_comma_separated(data, api_for, analyst, query):
    rows = api_for(analyst).get(f"/api/v1/engagements/?{query}").json()["results"]
    keys = [(row["status"], row["start_date"]) for row in rows]
    by_status_then_latest = sorted(keys, key=lambda k: k[1], reverse=True)
    by_status_then_latest.sort(key=lambda k: k[0])
    assert keys == by_status_then_latest
    completed = [row["id"] for row in rows if row["status"] == "completed"]
    assert completed == [data["sen"].pk, data["gha"].pk]  # the later one first: the second key counted


def test_the_engagement_page_takes_both_forms(data, client, analyst):
    client.force_login(analyst)
    for query in ("partner=GHA&partner=SEN", "partner=GHA,SEN"):
        page = client.get(f"/engagements/?{query}")
        assert page.status_code == 200
        shown = {e.pk for e in page.context["page"].object_list}
        assert shown == {data["gha"].pk, data["sen"].pk}
    # The status boxes show what was asked, in either form.
    for query in ("status=planned&status=completed", "status=planned,completed"):
        page = client.get(f"/engagements/?{query}")
        assert page.context["selected"]["status"] == ["planned", "completed"]
        assert b'value="planned" checked' in page.content and b'value="completed" checked' in page.content


def test_schema_declares_list_filters_as_exploded_arrays():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    expected = {
        "/api/v1/engagements/": {"engagement_type", "status", "domain", "partner", "organization", "host_country"},
        "/api/v1/assessments/scores/": {"partner", "region", "organization"},
        "/api/v1/assessments/alerts/": {"partner", "region"},
        "/api/v1/partners/": {"region", "subregion", "organization"},
    }
    for path, names in expected.items():
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        for name in [*names, "ordering"] if "ordering" in parameters else names:
            parameter = parameters[name]
            assert parameter["schema"]["type"] == "array", (path, name)
            assert parameter["explode"] is True and parameter["style"] == "form", (path, name)
            assert "commas" in parameter["description"], (path, name)
    ordering = {p["name"]: p for p in schema["paths"]["/api/v1/engagements/"]["get"]["parameters"]}["ordering"]
    assert {"status", "-date"} <= set(ordering["schema"]["items"]["enum"])
