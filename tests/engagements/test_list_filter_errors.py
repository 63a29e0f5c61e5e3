"""A filter value the list cannot read is an error beside its field and a 400, never silently ignored."""

import re

import pytest

from tests.engagements.test_views import content, create

pytestmark = pytest.mark.django_db


def error_beside(html: str, name: str) -> list[str]:
    return re.findall(rf'<span class="field-error" data-for="{name}">([^<]*)</span>', html)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("start_after", "notadate", "Enter a valid date."),
        ("start_before", "2025-02-30", "Enter a valid date."),
        ("end_after", "2025-13-01", "Enter a valid date."),
        ("status", "sideways", "Select a valid choice."),
        ("engagement_type", "exercise,picnic", "Select a valid choice."),
        ("domain", "underground", "Select a valid choice."),
        ("sensitivity", "secret", "Select a valid choice."),
        ("aar_overdue", "maybe", "Write true or false."),
    ],
)
def test_an_invalid_filter_is_an_error_beside_its_field(client_for, planner, reference_data, name, value, message):
    create(planner)
    response = client_for(planner).get("/engagements/", {name: value})
    html = content(response)
    assert response.status_code == 400
    beside = error_beside(html, name)
    assert beside and beside[0].startswith(message)
    assert "Some filters were not understood" in html
    assert "· filtered ·" not in html.replace("\n", " ")  # the page no longer claims to be filtered
    assert "Flintlock 2025" not in html  # no rows listed as if the filter had been applied


def test_invalid_filters_export_nothing(client_for, planner, reference_data):
    create(planner)
    client = client_for(planner)
    for export in ("csv", "xlsx"):
        response = client.get("/engagements/", {"start_after": "notadate", "export": export})
        assert response.status_code == 400 and response["Content-Type"].startswith("text/html")


def test_valid_filters_still_filter(client_for, planner, reference_data):
    create(planner)
    client = client_for(planner)
    response = client.get("/engagements/", {"start_after": "2025-01-01", "status": "planned"})
    assert response.status_code == 200 and "Flintlock 2025" in content(response)
    assert client.get("/engagements/", {"start_after": ""}).status_code == 200  # an empty filter is no filter


@pytest.mark.parametrize("params", [{"start_after": "notadate"}, {"end_after": "2025-13-01"}, {"status": "sideways"}])
def test_the_api_answers_400_on_the_field(api_for, planner, params):
    response = api_for(planner).get("/api/v1/engagements/", params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(params)
