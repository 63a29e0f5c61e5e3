"""/api/v1/changes/: what happened to engagements since a time, from the change history."""

import datetime

import pytest
from django.utils import timezone

from core.api.pagination import encode_cursor
from engagements import services
from engagements.models import AfterActionReport, Engagement

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
    services.engagement_update(engagement=secret, updated_by=planner, title="Quiet (2)")
    services.engagement_delete(engagement=secret, user=planner, reason="Entered twice")
    assert {row["id"] for row in api_for(viewer).get(URL, {"since": since.isoformat()}).json()["results"]} == {
        visible.pk
    }
    assert {row["id"] for row in api_for(planner).get(URL, {"since": since.isoformat()}).json()["results"]} == {
        visible.pk,
        secret.pk,
    }


def test_becoming_restricted_is_a_withdrawal_for_viewers_and_lifting_it_a_creation(api_for, planner, viewer, analyst):
    since = timezone.now()
    engagement = make(planner, title="Later", start_date=D(2025, 8, 1), end_date=D(2025, 8, 2), status="completed")
    services.engagement_update(engagement=engagement, updated_by=planner, sensitivity="restricted")
    # Changed while restricted: a viewer's feed says nothing of these.
    services.after_action_submit(
        engagement=engagement, user=planner, summary="x", interoperability_rating=3, capacity_rating=3, trust_rating=3
    )
    services.engagement_update(engagement=engagement, updated_by=planner, location_name="Somewhere quiet")
    services.engagement_update(engagement=engagement, updated_by=planner, sensitivity="unclassified")
    services.engagement_update(engagement=engagement, updated_by=planner, title="Later (public)")

    rows = api_for(viewer).get(URL, {"since": since.isoformat()}).json()["results"]
    assert [(row["id"], row["reference"], row["action"]) for row in rows] == [
        (engagement.pk, engagement.reference, "created"),
        (engagement.pk, engagement.reference, "withdrawn"),
        (engagement.pk, engagement.reference, "created"),
        (engagement.pk, engagement.reference, "updated"),
    ]
    # Users who may read restricted engagements see every change, and never "withdrawn".
    actions = [row["action"] for row in api_for(analyst).get(URL, {"since": since.isoformat()}).json()["results"]]
    assert actions == ["created", "updated", "updated", "updated", "updated", "updated"]


def test_a_viewer_sync_client_drops_and_regains_its_copy(api_for, planner, viewer):
    """A client that applies the feed holds exactly what the viewer may read, whenever it syncs."""
    engagement = make(planner, status="completed")
    client = api_for(viewer)
    copy: set[int] = set()
    since = "2000-01-01T00:00:00Z"

    def sync():
        nonlocal since
        for row in client.get(URL, {"since": since, "page_size": 500}).json()["results"]:
            if row["action"] in ("created", "updated"):
                copy.add(row["id"])
            else:
                copy.discard(row["id"])
            since = row["time"]

    sync()
    assert engagement.pk in copy
    services.engagement_update(engagement=engagement, updated_by=planner, sensitivity="restricted")
    sync()
    assert engagement.pk not in copy
    services.engagement_update(engagement=engagement, updated_by=planner, sensitivity="unclassified")
    sync()
    assert engagement.pk in copy


def test_report_rows_follow_the_sensitivity_of_their_time(api_for, planner, viewer):
    engagement = make(planner, status="completed")
    since = timezone.now()
    services.after_action_submit(
        engagement=engagement, user=planner, summary="x", interoperability_rating=3, capacity_rating=3, trust_rating=3
    )
    services.engagement_update(engagement=engagement, updated_by=planner, sensitivity="restricted")
    actions = [row["action"] for row in api_for(viewer).get(URL, {"since": since.isoformat()}).json()["results"]]
    assert actions == ["updated", "withdrawn"]


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


@pytest.mark.parametrize("role", ["planner", "viewer"])
def test_queries_are_constant(api_for, planner, make_user, django_assert_max_num_queries, role):
    for n in range(12):
        engagement = make(planner, title=f"E{n}", start_date=D(2025, 1, 1 + n), end_date=D(2025, 1, 2 + n))
        if n % 3 == 0:  # viewers see these as created, then withdrawn
            services.engagement_update(engagement=engagement, updated_by=planner, sensitivity="restricted")
    reader = planner if role == "planner" else make_user("feed-viewer", "viewer")
    for page_size in (2, 50):
        with django_assert_max_num_queries(4):
            body = api_for(reader).get(URL, {"since": "2000-01-01", "page_size": page_size}).json()
        assert body["count"] == 16 and len(body["results"]) == min(page_size, body["count"])


# --- the cursor: a stable position, however many changes share a time ------------------------------------


def read_all(api, params):
    """Follow next_cursor until an answer has no next: every row, and the cursor to poll with later."""
    rows, body = [], api.get(URL, params).json()
    rows += body["results"]
    while body["next"]:
        assert "cursor=" in body["next"]
        body = api.get(URL, {"cursor": body["next_cursor"], "page_size": params.get("page_size", 50)}).json()
        rows += body["results"]
    return rows, body["next_cursor"]


def test_the_cursor_neither_repeats_nor_misses_changes_sharing_a_time(api_for, planner):
    since = timezone.now()
    engagements = [
        make(
            planner,
            title=f"Same time {n}",
            start_date=D(2025, 1, 1 + n),
            end_date=D(2025, 1, 2 + n),
            status="completed",
        )
        for n in range(7)
    ]
    services.after_action_submit(
        engagement=engagements[0],
        user=planner,
        summary="Done.",
        interoperability_rating=3,
        capacity_rating=3,
        trust_rating=3,
    )
    services.after_action_submit(
        engagement=engagements[1],
        user=planner,
        summary="Done.",
        interoperability_rating=3,
        capacity_rating=3,
        trust_rating=3,
    )
    same = since
    # Every change at one instant: engagement rows and report rows alike.
    Engagement.history.filter(history_date__gte=since).update(history_date=same)
    AfterActionReport.history.filter(history_date__gte=since).update(history_date=same)
    api = api_for(planner)
    everything = api.get(URL, {"since": since.isoformat(), "page_size": 500}).json()["results"]
    assert len(everything) == 9 and {row["time"] for row in everything} == {everything[0]["time"]}
    for page_size in (1, 2, 3, 4):  # page boundaries fall between rows of the same time
        rows, cursor = read_all(api, {"since": since.isoformat(), "page_size": page_size})
        assert rows == everything, page_size
    # Later changes come with the cursor of the last answer, and only they.
    newer = make(planner, title="Later", start_date=D(2025, 3, 1), end_date=D(2025, 3, 2))
    body = api.get(URL, {"cursor": cursor}).json()
    assert [(row["id"], row["action"]) for row in body["results"]] == [(newer.pk, "created")]
    assert api.get(URL, {"cursor": body["next_cursor"]}).json()["results"] == []


def test_an_empty_answer_gives_a_cursor_that_catches_what_comes_next(api_for, planner):
    api = api_for(planner)
    body = api.get(URL, {"since": (timezone.now() + datetime.timedelta(seconds=1)).isoformat()}).json()
    assert body["results"] == [] and body["next"] is None and body["next_cursor"]
    engagement = make(planner)
    Engagement.history.filter(id=engagement.pk).update(history_date=timezone.now() + datetime.timedelta(seconds=2))
    assert [row["id"] for row in api.get(URL, {"cursor": body["next_cursor"]}).json()["results"]] == [engagement.pk]


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not-a-cursor",
        "WzEsMiwzXQ",  # [1,2,3]
        "bnVsbA",  # null
        encode_cursor(["2025-01-01T00:00:00+00:00", 0, 10**30]),
        encode_cursor(["2025-13-45T00:00:00+00:00", 0, 1]),
        encode_cursor(["2025-01-01T00:00:00+00:00", 7, 1]),
    ],
)
def test_a_bad_cursor_is_a_400(api_for, viewer, cursor):
    response = api_for(viewer).get(URL, {"cursor": cursor})
    assert response.status_code == 400
    assert set(response.json()["errors"]) & {"cursor", "since"}


def test_the_cursor_keeps_restricted_engagements_invisible(api_for, planner, viewer):
    api = api_for(viewer)
    _rows, cursor = read_all(api, {"since": timezone.now().isoformat()})
    engagement = make(planner)
    services.engagement_update(engagement=engagement, updated_by=planner, title="Secret now", sensitivity="restricted")
    services.engagement_update(engagement=engagement, updated_by=planner, title="Still secret")
    services.engagement_update(engagement=engagement, updated_by=planner, sensitivity="unclassified")
    rows, cursor = read_all(api, {"cursor": cursor, "page_size": 1})
    assert [row["action"] for row in rows] == ["created", "withdrawn", "created"]
