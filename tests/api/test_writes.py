"""The write contract (core/api/writes.py), on engagements and on objectives: Location on 201, ETag with
If-None-Match (304) and If-Match (412), Idempotency-Key on POST (replay, 409 for another body)."""

import datetime
import io
from unittest import mock

import pytest

from assessments.models import Objective
from core.models import IdempotentRequest
from core.tasks import purge_idempotency_keys
from engagements.models import Engagement
from tests.assessments.factories import ObjectiveFactory, partner

pytestmark = pytest.mark.django_db

OBJECTIVES = "/api/v1/assessments/objectives/"


@pytest.fixture(autouse=True)
def _no_run_queued():
    with mock.patch("assessments.tasks.run_assessment.delay"):
        yield


@pytest.fixture
def engagement_payload(reference_data):
    def _payload(**overrides):
        return {
            "title": "African Lion 2026",
            "engagement_type": "exercise",
            "domain": "joint",
            "start_date": "2099-05-04",
            "end_date": "2099-05-22",
            "host_country": "MAR",
            "participants": [{"partner": "MAR", "role": "host"}, {"partner": "USA", "role": "lead"}],
            **overrides,
        }

    return _payload


@pytest.fixture
def objective(reference_data):
    return ObjectiveFactory(partner=partner("KEN"))


def test_a_201_carries_the_new_resources_location(api_for, planner, analyst, engagement_payload):
    created = api_for(planner).post("/api/v1/engagements/", engagement_payload(), format="json")
    assert created.status_code == 201
    assert created["Location"] == f"http://testserver/api/v1/engagements/{created.json()['id']}/"
    assert api_for(planner).get(created["Location"]).status_code == 200
    made = api_for(analyst).post(
        OBJECTIVES, {"partner": "GHA", "line_of_effort": "counter_terrorism", "title": "Posts"}
    )
    assert made.status_code == 201
    assert made["Location"] == f"http://testserver{OBJECTIVES}{made.json()['id']}/"


def test_engagement_etags_follow_the_version_and_if_none_match_gives_304(api_for, planner, engagement_payload):
    api = api_for(planner)
    engagement_id = api.post("/api/v1/engagements/", engagement_payload(), format="json").json()["id"]
    url = f"/api/v1/engagements/{engagement_id}/"
    first = api.get(url)
    assert first["ETag"] == f'"{engagement_id}-v{first.json()["version"]}"'
    unchanged = api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert unchanged.status_code == 304 and not unchanged.content and unchanged["ETag"] == first["ETag"]
    patched = api.patch(url, {"title": "African Lion 2026 (revised)"}, format="json")
    assert patched["ETag"] != first["ETag"] and patched["ETag"].endswith(f'-v{patched.json()["version"]}"')
    assert api.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_if_match_on_engagement_writes_gives_412_when_stale(api_for, planner, engagement_payload):
    api = api_for(planner)
    engagement_id = api.post("/api/v1/engagements/", engagement_payload(), format="json").json()["id"]
    url = f"/api/v1/engagements/{engagement_id}/"
    stale = api.get(url)["ETag"]
    current = api.patch(url, {"title": "Renamed"}, format="json", HTTP_IF_MATCH=stale)["ETag"]
    for response in (
        api.patch(url, {"title": "Lost update"}, format="json", HTTP_IF_MATCH=stale),
        api.put(url, engagement_payload(title="Lost update"), format="json", HTTP_IF_MATCH=stale),
        api.post(url + "status/", {"status": "cancelled", "reason": "x"}, format="json", HTTP_IF_MATCH=stale),
        api.delete(url + "?reason=duplicate", HTTP_IF_MATCH=stale),
    ):
        assert response.status_code == 412, response.content
        assert response.json()["code"] == "precondition_failed"
    engagement = Engagement.objects.get(pk=engagement_id)
    assert engagement.title == "Renamed" and engagement.status == "planned"  # nothing stale was written
    # (Planners no longer approve: four-eyes. Cancelling, with its reason, is a status move they make.)
    moved = api.post(
        url + "status/", {"status": "cancelled", "reason": "Host withdrew"}, format="json", HTTP_IF_MATCH=current
    )
    assert moved.status_code == 200 and moved.json()["status"] == "cancelled"


def test_objectives_etag_is_a_hash_of_the_body_with_304_and_412(api_for, analyst, objective):
    api = api_for(analyst)
    url = f"{OBJECTIVES}{objective.pk}/"
    tag = api.get(url)["ETag"]
    assert tag and api.get(url)["ETag"] == tag
    assert api.get(url, HTTP_IF_NONE_MATCH=tag).status_code == 304
    changed = api.patch(url, {"title": "Coastal radar"}, format="json", HTTP_IF_MATCH=tag)
    assert changed.status_code == 200 and changed["ETag"] != tag
    stale = api.patch(url, {"title": "Lost update"}, format="json", HTTP_IF_MATCH=tag)
    assert stale.status_code == 412
    assert api.delete(url, HTTP_IF_MATCH=tag).status_code == 412
    assert Objective.objects.get(pk=objective.pk).title == "Coastal radar"
    assert api.delete(url, HTTP_IF_MATCH=changed["ETag"]).status_code == 204


def test_an_idempotency_key_replays_the_first_answer_and_writes_nothing_more(api_for, planner, engagement_payload):
    api = api_for(planner)
    payload = engagement_payload()
    first = api.post("/api/v1/engagements/", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-66")
    again = api.post("/api/v1/engagements/", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-66")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Engagement.objects.count() == 1
    other = api.post(
        "/api/v1/engagements/", engagement_payload(title="Other"), format="json", HTTP_IDEMPOTENCY_KEY="order-66"
    )
    assert other.status_code == 409
    assert other.json()["code"] == "conflict" and "Idempotency-Key" in other.json()["errors"]
    assert Engagement.objects.count() == 1
    # Without a key, or with a new one, a POST writes again.
    assert api.post("/api/v1/engagements/", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-67").status_code == 201
    assert Engagement.objects.count() == 2


def test_idempotency_keys_are_per_user_and_last_24_hours(api_for, analyst, make_user, reference_data):
    body = {"partner": "GHA", "line_of_effort": "counter_terrorism", "title": "Border posts"}
    first = api_for(analyst).post(OBJECTIVES, body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert api_for(analyst).post(OBJECTIVES, body, format="json", HTTP_IDEMPOTENCY_KEY="k1").json() == first.json()
    assert Objective.objects.count() == 1
    colleague = make_user("analyst2", "analyst")
    assert api_for(colleague).post(OBJECTIVES, body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    assert Objective.objects.count() == 2
    IdempotentRequest.objects.update(created_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    assert api_for(analyst).post(OBJECTIVES, body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    assert Objective.objects.count() == 3
    # The hourly purge forgets keys older than a day, and only those.
    IdempotentRequest.objects.filter(user=colleague).update(
        created_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    purge_idempotency_keys()
    assert list(IdempotentRequest.objects.values_list("user", flat=True)) == [analyst.pk]
    # A failed request keeps no answer: the same key may be sent again, fixed, and then it holds.
    bad = api_for(analyst).post(OBJECTIVES, {"partner": "XXX"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert bad.status_code == 400
    assert api_for(analyst).post(OBJECTIVES, body, format="json", HTTP_IDEMPOTENCY_KEY="k2").status_code == 201
    assert api_for(analyst).post(OBJECTIVES, body, format="json", HTTP_IDEMPOTENCY_KEY="k2").status_code == 201
    assert Objective.objects.count() == 4


def test_a_bad_idempotency_key_is_a_400(api_for, analyst, reference_data):
    response = api_for(analyst).post(OBJECTIVES, {}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["errors"]


def test_the_schema_documents_the_write_contract():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    def headers(path, method):
        return {p["name"] for p in paths[path][method]["parameters"] if p["in"] == "header"}

    assert "Idempotency-Key" in headers("/api/v1/engagements/", "post")
    assert "Idempotency-Key" in headers(OBJECTIVES, "post")
    for method in ("put", "patch", "delete"):
        assert "If-Match" in headers("/api/v1/engagements/{id}/", method)
        assert "412" in paths["/api/v1/engagements/{id}/"][method]["responses"]
    assert "If-Match" in headers("/api/v1/engagements/{id}/status/", "post")
    assert "If-None-Match" in headers("/api/v1/engagements/{id}/", "get")
    detail = paths["/api/v1/engagements/{id}/"]["get"]["responses"]
    assert "304" in detail and "ETag" in detail["200"]["headers"]
    created = paths["/api/v1/engagements/"]["post"]["responses"]
    assert "Location" in created["201"]["headers"] and "409" in created


def test_an_applied_import_is_idempotent_and_says_where_its_engagements_are(api_for, planner, reference_data):
    from tests.engagements.test_imports import csv_file, good_row

    api = api_for(planner)
    content = csv_file([good_row()]).getvalue()

    def send(data, key="import-1"):
        body = {"file": io.BytesIO(data), "dry_run": "false"}
        return api.post("/api/v1/engagements/import/", body, format="multipart", HTTP_IDEMPOTENCY_KEY=key)

    first, again = send(content), send(content)
    assert first.status_code == again.status_code == 201
    # The list of what the import wrote: its batch.
    batch = first.json()["batch"]
    assert first["Location"] == f"http://testserver/api/v1/engagements/?import_batch={batch}" == again["Location"]
    assert again.json() == first.json() and Engagement.objects.count() == 1
    other = csv_file([good_row(title="Another exercise")]).getvalue()
    assert send(other).status_code == 409
    assert Engagement.objects.count() == 1
