"""?ordering= on the API lists: rows that tie keep one order from page to page, and an empty choice keeps
the list's own order (it used to leave the rows unordered, so pages could repeat and skip rows)."""

import datetime
import warnings

import pytest
from django.core.paginator import UnorderedObjectListWarning

from assessments.services import assessment_run_execute, assessment_run_request
from engagements.models import Engagement
from tests.assessments.factories import make_engagement

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def data(reference_data):
    for day in range(1, 13):
        make_engagement(["GHA", "SEN", "KEN", "FRA"][day % 4 :], D(2024, 11, day), D(2024, 11, day), status="completed")
    for day in range(1, 6):
        make_engagement(["NGA"], D(2024, 10, day), D(2024, 10, day), status="in_progress")
    assessment_run_execute(run_id=assessment_run_request(periods=["2024-Q4"], enqueue=False).pk)


def all_pages(api, url, params):
    rows, page = [], 1
    while True:
        body = api.get(url, {**params, "page_size": 2, "page": page}).json()
        rows += body["results"]
        if not body["next"]:
            return rows, body["count"]
        page += 1


@pytest.mark.parametrize(
    "url, ordering, key",
    [
        ("/api/v1/engagements/", "status", "id"),
        ("/api/v1/engagements/", "-status", "id"),
        ("/api/v1/assessments/scores/", "engagement_count", "partner"),
        ("/api/v1/assessments/scores/", "-continuity", "partner"),
    ],
)
def test_ties_keep_one_order_across_pages(data, api_for, analyst, url, ordering, key):
    rows, count = all_pages(api_for(analyst), url, {"ordering": ordering})
    keys = [row[key] for row in rows]
    assert len(keys) == count and len(set(keys)) == count  # every row once
    if url.endswith("/engagements/"):
        # Ties broken by id, in the direction of the first key.
        by_status = {e.pk: e.status for e in Engagement.objects.all()}
        expected = sorted(keys, key=lambda pk: (by_status[pk], pk), reverse=ordering.startswith("-"))
        assert keys == expected


@pytest.mark.parametrize("url", ["/api/v1/engagements/", "/api/v1/assessments/scores/", "/api/v1/assessments/alerts/"])
@pytest.mark.parametrize("ordering", [",", ",,"])
def test_an_empty_ordering_keeps_the_lists_own_order(data, api_for, analyst, url, ordering):
    api = api_for(analyst)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnorderedObjectListWarning)
        response = api.get(url, {"ordering": ordering, "page_size": 500})
    assert response.status_code == 200
    assert response.json()["results"] == api.get(url, {"page_size": 500}).json()["results"]
