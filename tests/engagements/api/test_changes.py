"""/api/v1/changes/: what happened to engagements since a time, from the change history."""

import datetime

import pytest
from django.utils import timezone

from engagements import services

pytestmark = pytest.mark.django_db

URL = "/api/v1/changes/"
D = datetime.date


def make(user, **overrides):
    values = {
        "title": "Flintlock 2025",
        "engagement_type": "exercise",
        "domain": "land",
        "start_date": D(2025, 2, 10),
        "end_date": D(2025, 2, 28),
        "host_country": "CIV",
        "participants": [{"partner": "CIV"}],
    }
    values.update(overrides)
    return services.engagement_create(created_by=user, **values).engagement


def test_created_updated_and_deleted_oldest_first(api_for, planner, analyst):
    since = timezone.now()
    engagement = make(planner)
    services.engagement_update(engagement=engagement, updated_by=planner, title="Flintlock 2025 (2)")
    services.engagement_delete(engagement=engagement, user=planner, reason="Entered twice")
    body = api_for(analyst).get(URL, {"since": since.isoformat()}).json()
    assert [(row["id"], row["reference"], row["action"], row["user"]) for row in body["results"]] == [
        (engagement.pk, engagement.reference, "created", planner.username),
        (engagement.pk, engagement.reference, "updated", planner.username),
        (engagement.pk, engagement.reference, "deleted", planner.username),
    ]
    times = [row["time"] for row in body["results"]]
    assert times == sorted(times)


def test_only_changes_since_the_time_given(api_for, planner, viewer):
    make(planner)
    later = timezone.now()
    newer = make(planner, title="Later one", start_date=D(2025, 6, 1), end_date=D(2025, 6, 2))
    rows = api_for(viewer).get(URL, {"since": later.isoformat()}).json()["results"]
    assert {row["id"] for row in rows} == {newer.pk}
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    assert api_for(viewer).get(URL, {"since": future}).json()["count"] == 0


def test_after_action_changes_count_as_updates(api_for, planner):
    engagement = make(planner, status="completed")
    since = timezone.now()
    services.after_action_submit(
        engagement=engagement,
        user=planner,
        summary="Done.",
        interoperability_rating=3,
        capacity_rating=3,
        trust_rating=3,
    )
    rows = api_for(planner).get(URL, {"since": since.isoformat()}).json()["results"]
    assert [(row["id"], row["action"]) for row in rows] == [(engagement.pk, "updated")]


def test_viewers_do_not_see_restricted_changes(api_for, planner, viewer):
    since = timezone.now()
    visible = make(planner)
    secret = make(planner, sensitivity="restricted", title="Quiet", start_date=D(2025, 6, 1), end_date=D(2025, 6, 2))
    # Made restricted after the fact: its earlier, unclassified history is hidden too.
    later_secret = make(planner, title="Later", start_date=D(2025, 8, 1), end_date=D(2025, 8, 2), status="completed")
    services.engagement_update(engagement=later_secret, updated_by=planner, sensitivity="restricted")
    services.after_action_submit(
        engagement=later_secret, user=planner, summary="x", interoperability_rating=3, capacity_rating=3, trust_rating=3
    )
    assert {row["id"] for row in api_for(viewer).get(URL, {"since": since.isoformat()}).json()["results"]} == {
        visible.pk
    }
    assert {row["id"] for row in api_for(planner).get(URL, {"since": since.isoformat()}).json()["results"]} == {
        visible.pk,
        secret.pk,
        later_secret.pk,
    }


def test_paginated(api_for, planner):
    since = timezone.now()
    for n in range(3):
        make(planner, title=f"E{n}", start_date=D(2025, 1 + n, 1), end_date=D(2025, 1 + n, 2))
    api = api_for(planner)
    first = api.get(URL, {"since": since.isoformat(), "page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    rest = api.get(first["next"]).json()
    assert first["count"] == len(first["results"]) + len(rest["results"])


@pytest.mark.parametrize("params", [{}, {"since": ""}, {"since": "last tuesday"}, {"since": "2025-13-45T00:00"}])
def test_since_is_required_and_checked(api_for, viewer, params):
    response = api_for(viewer).get(URL, params)
    assert response.status_code == 400
    assert response.json()["errors"]["since"]


def test_a_date_alone_means_its_midnight(api_for, planner):
    make(planner)
    assert api_for(planner).get(URL, {"since": "2000-01-01"}).json()["count"] >= 1


def test_needs_a_role(api_for, make_user):
    assert api_for(make_user("nobody", role=None)).get(URL, {"since": "2000-01-01"}).status_code == 403


def test_queries_are_constant(api_for, planner, django_assert_max_num_queries):
    for n in range(12):
        make(planner, title=f"E{n}", start_date=D(2025, 1, 1 + n), end_date=D(2025, 1, 2 + n))
    for page_size in (2, 50):
        with django_assert_max_num_queries(4):
            body = api_for(planner).get(URL, {"since": "2000-01-01", "page_size": page_size}).json()
        assert body["count"] == 12 and len(body["results"]) == min(page_size, body["count"])
