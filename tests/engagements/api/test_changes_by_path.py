"""Every path that creates, changes or deletes an engagement shows in the change feed: pages, API, admin,
the demo generator. (Imports have their own test with the import.)"""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from engagements.models import Engagement
from tests.engagements.test_views import form_data

pytestmark = pytest.mark.django_db

FEED = "/api/v1/changes/"
BODY = {
    "title": "Through the API",
    "engagement_type": "exercise",
    "domain": "land",
    "start_date": "2025-02-10",
    "end_date": "2025-02-20",
    "host_country": "GHA",
    "participants": [{"partner": "GHA", "role": "host"}],
}
REPORT = {"summary": "Done.", "interoperability_rating": 4, "capacity_rating": 3, "trust_rating": 4}


def feed(api, since, user=None) -> list[tuple[int, str, str | None]]:
    rows, body = [], api.get(FEED, {"since": since.isoformat(), "page_size": 500}).json()
    rows += body["results"]
    while body["next"]:
        body = api.get(FEED, {"cursor": body["next_cursor"], "page_size": 500}).json()
        rows += body["results"]
    return [(row["id"], row["action"], row["user"]) for row in rows]


def test_pages(client_for, api_for, planner, analyst):
    since, client = timezone.now(), client_for(planner)
    assert client.post("/engagements/new/", form_data()).status_code == 302
    engagement = Engagement.objects.get(title="Flintlock 2025")
    data = form_data(title="Flintlock 2025 revised", version="1")
    data["participants-INITIAL_FORMS"] = "2"
    assert client.post(f"/engagements/{engagement.pk}/edit/", data).status_code == 302
    assert client.post(f"/engagements/{engagement.pk}/delete/", {"reason": "Entered twice"}).status_code == 302
    rows = feed(api_for(analyst), since)
    # An edit of fields and frameworks may record more than one row: each is an "updated".
    assert [row for n, row in enumerate(rows) if n == 0 or rows[n - 1] != row] == [
        (engagement.pk, "created", planner.username),
        (engagement.pk, "updated", planner.username),
        (engagement.pk, "deleted", planner.username),
    ]


def test_api(api_for, planner, analyst):
    since, api = timezone.now(), api_for(planner)
    created = api.post("/api/v1/engagements/", BODY, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    assert api.patch(f"/api/v1/engagements/{pk}/", {"title": "Renamed"}, format="json").status_code == 200
    moved = api.post(f"/api/v1/engagements/{pk}/status/", {"status": "completed"}, format="json")
    assert moved.status_code == 200, moved.json()
    assert api.post(f"/api/v1/engagements/{pk}/after-action/", REPORT, format="json").status_code == 201
    assert api.delete(f"/api/v1/engagements/{pk}/?reason=Duplicate").status_code == 204
    rows = feed(api_for(analyst), since)
    assert [action for _id, action, _user in rows] == ["created", "updated", "updated", "updated", "deleted"]
    assert {(engagement_id, user) for engagement_id, _action, user in rows} == {(pk, planner.username)}


def test_admin(client_for, api_for, planner, analyst, make_user):
    engagement_id = (
        api_for(planner)
        .post("/api/v1/engagements/", {**BODY, "status": "completed", "after_action": REPORT}, format="json")
        .json()["id"]
    )
    engagement = Engagement.objects.get(pk=engagement_id)
    since = timezone.now()
    admin = make_user("root", "admin", is_staff=True)
    client = client_for(admin)
    url = f"/admin/engagements/afteractionreport/{engagement.after_action.pk}/change/"
    changed = client.post(url, {**REPORT, "trust_rating": 2, "lessons_learned": "", "recommendations": ""})
    assert changed.status_code == 302
    deleted = client.post(f"/admin/engagements/engagement/{engagement.pk}/delete/", {"reason": "Entered twice"})
    assert deleted.status_code == 302
    rows = feed(api_for(analyst), since)
    assert (engagement.pk, "updated", admin.username) in rows
    assert rows[-1] == (engagement.pk, "deleted", admin.username)


def test_the_demo_generator(api_for, analyst, viewer, make_user, reference_data):
    make_user("generator", "admin")
    since = timezone.now() - datetime.timedelta(seconds=1)
    call_command("generate_demo_data", "--engagements", "30", "--years", "1", "--user", "generator", verbosity=0)
    for reader, engagements in [
        (analyst, Engagement.objects.all()),
        (viewer, Engagement.objects.exclude(sensitivity="restricted")),  # restricted means invisible
    ]:
        rows = feed(api_for(reader), since)
        first = {}
        for engagement_id, action, user in rows:
            first.setdefault(engagement_id, action)
            assert user == "generator"
        # Each generated engagement is created (its generated report, if any, follows as an update).
        assert first == dict.fromkeys(engagements.values_list("pk", flat=True), "created")
    assert Engagement.objects.filter(sensitivity="restricted").exists()
