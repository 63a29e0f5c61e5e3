"""The inbox API: own notifications only, marking read, preferences with every error at once."""

import pytest
from rest_framework.test import APIClient

from notifications import services
from notifications.choices import Delivery, NotificationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(make_user):
    me = make_user("me", "planner")
    client = APIClient()
    client.force_authenticate(me)
    return client, me


def _notify(user, n):
    return services.notifications_create(
        kind=NotificationKind.REPORT_DUE, key=f"k:{n}", recipient_ids=[user.pk], title=f"Report {n} due", url="/x/"
    )[0]


def test_list_read_and_read_all(api, make_user, django_assert_max_num_queries):
    client, me = api
    ids = [_notify(me, n) for n in range(5)]
    theirs = _notify(make_user("other", "planner"), 9)
    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/notifications/").json()
    assert body["count"] == 5 and {row["id"] for row in body["results"]} == set(ids)
    assert body["results"][0]["is_read"] is False and body["results"][0]["kind"] == "report_due"
    assert client.get(f"/api/v1/notifications/{theirs}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{theirs}/read/").status_code == 404
    answer = client.post(f"/api/v1/notifications/{ids[0]}/read/")
    assert answer.status_code == 200 and answer.json()["is_read"] is True
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 4
    assert client.get("/api/v1/notifications/?unread=maybe").status_code == 400
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 4}
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 0


def test_preferences(api):
    client, me = api
    assert client.get("/api/v1/notifications/preferences/").json()[NotificationKind.APPROVAL_REQUESTED] == "immediate"
    answer = client.put(
        "/api/v1/notifications/preferences/", {"approval_requested": "digest", "alert_raised": "none"}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["approval_requested"] == Delivery.DIGEST
    bad = client.put(
        "/api/v1/notifications/preferences/", {"approval_requested": "hourly", "report_due": "weekly"}, format="json"
    )
    assert bad.status_code == 400
    assert {"approval_requested", "report_due"} <= set(bad.json()["errors"])
    assert me.notification_preferences.get(kind="approval_requested").delivery == Delivery.DIGEST
