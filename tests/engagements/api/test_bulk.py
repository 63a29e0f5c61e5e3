"""POST /api/v1/engagements/bulk/: all or nothing, every bad row reported with the single create's messages,
a cap on the list, planners and admins only, a fixed number of queries, and one announcement per batch."""

from __future__ import annotations

import pytest

from engagements import rules, services
from engagements.models import Engagement, Participation
from engagements.signals import engagement_data_changed, engagement_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/engagements/bulk/"


@pytest.fixture
def rows(engagement_payload):
    def _rows(count: int, **overrides):
        return [engagement_payload(title=f"Bulk exercise {n}", **overrides) for n in range(count)]

    return _rows


def test_a_planner_creates_many_in_one_request(api_for, planner, rows):
    response = api_for(planner).post(URL, rows(3), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 3
    assert [r["title"] for r in body["results"]] == ["Bulk exercise 0", "Bulk exercise 1", "Bulk exercise 2"]
    assert all(r["reference"].startswith("ENG-2026-") for r in body["results"])
    assert body["results"][0]["participants"][0] == {"partner": "MAR", "role": "host", "personnel": 3500}
    assert body["results"][0]["organizations"] == ["AU"]
    assert response["Location"].endswith("/api/v1/engagements/")
    created = Engagement.objects.filter(pk__in=[r["id"] for r in body["results"]])
    assert created.count() == 3 and set(created.values_list("created_by", flat=True)) == {planner.pk}
    assert Participation.objects.filter(engagement__in=created).count() == 9
    # The change history has them, by whom (the change feed reads it).
    history = Engagement.history.filter(id__in=created.values("pk"))
    assert history.count() == 3 and {h.history_type for h in history} == {"+"}
    assert {h.history_user_id for h in history} == {planner.pk}


def test_one_bad_row_writes_nothing_and_every_bad_row_is_reported(api_for, planner, rows):
    batch = rows(4)
    batch[0]["end_date"] = "2026-05-01"  # before its start
    batch[2]["participants"][1]["partner"] = "XYZ"
    batch[2]["host_country"] = "QQQ"
    batch[3]["domain"] = "underwater"  # refused by the parser
    response = api_for(planner).post(URL, batch, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert not Engagement.objects.exists()
    assert body["detail"] == "3 rows have problems: nothing was written."
    assert {row["index"] for row in body["rows"]} == {0, 2, 3}
    errors = body["errors"]
    assert {"[0].end_date", "[2].host_country", "[2].participants[1].partner", "[3].domain"} <= set(errors)
    assert not any(path.startswith("[1]") for path in errors)
    # The same messages as a single create: the service's check steps.
    with pytest.raises(services.InputError) as single:
        services.engagement_create_clean(**{**_service_arguments(batch[0]), "participants": [], "organizations": []})
    assert errors["[0].end_date"] == single.value.fields["end_date"]
    assert {"index": 2, "field": "participants[1].partner", "message": errors["[2].participants[1].partner"][0]} in (
        body["rows"]
    )


def _service_arguments(row):
    return {k: v for k, v in row.items() if k not in ("participants", "organizations", "latitude", "longitude")}


def test_rows_that_are_not_objects_are_reported_by_index(api_for, planner, rows):
    response = api_for(planner).post(URL, [*rows(1), 42, "x"], format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"[1]", "[2]"}
    assert not Engagement.objects.exists()


def test_the_list_size_is_capped(api_for, planner, rows, monkeypatch):
    client = api_for(planner)
    assert client.post(URL, [], format="json").status_code == 400
    not_a_list = client.post(URL, rows(1)[0], format="json")
    assert not_a_list.status_code == 400 and "list" in not_a_list.json()["detail"]
    monkeypatch.setattr(rules, "BULK_CREATE_MAX", 3)
    too_many = client.post(URL, rows(4), format="json")
    assert too_many.status_code == 400 and "at most 3" in too_many.json()["detail"]
    assert not Engagement.objects.exists()
    assert client.post(URL, rows(3), format="json").status_code == 201


def test_the_documented_cap_is_500():
    assert rules.BULK_CREATE_MAX == 500
    assert rules.bulk_size_problem(500) is None and "at most 500" in rules.bulk_size_problem(501)


def test_only_planners_and_admins(api_for, viewer, analyst, admin_user_role, rows, client):
    for user in (viewer, analyst):
        assert api_for(user).post(URL, rows(1), format="json").status_code == 403
    assert client.post(URL, rows(1), content_type="application/json").status_code in (401, 403)
    assert not Engagement.objects.exists()
    assert api_for(admin_user_role).post(URL, rows(1), format="json").status_code == 201


def test_a_constant_number_of_queries_whatever_the_number_of_rows(
    api_for, planner, rows, django_assert_max_num_queries
):
    client = api_for(planner)
    # Auth, the three lookups, references, the bulk inserts and history, the outbox, the answer's rows:
    # 30 queries for 2 rows (the first reference of a year makes its counter): with the search names, the
    # units (default and scope), the point-of-contact lookup and the objectives extension, all read once.
    with django_assert_max_num_queries(31):
        assert client.post(URL, rows(2), format="json").status_code == 201
    with django_assert_max_num_queries(31):
        assert client.post(URL, rows(60), format="json").status_code == 201
    assert Engagement.objects.count() == 62


def test_scores_and_webhooks_are_told_once_per_batch(api_for, planner, rows, django_capture_on_commit_callbacks):
    events, changes = [], []

    def on_event(sender, **kwargs):
        events.append(kwargs)

    def on_change(sender, **kwargs):
        changes.append(kwargs)

    engagement_event.connect(on_event, dispatch_uid="test-bulk-event")
    engagement_data_changed.connect(on_change, dispatch_uid="test-bulk-change")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api_for(planner).post(URL, rows(5), format="json")
    finally:
        engagement_event.disconnect(dispatch_uid="test-bulk-event")
        engagement_data_changed.disconnect(dispatch_uid="test-bulk-change")
    assert response.status_code == 201
    ids = [r["id"] for r in response.json()["results"]]
    assert len(events) == 1 and events[0]["event"] == "created" and sorted(events[0]["engagement_ids"]) == sorted(ids)
    assert len(changes) == 1
    assert {p.iso3 for p in _partners(changes[0]["partner_ids"])} == {"MAR", "USA", "SEN"}


def _partners(ids):
    from partners.models import PartnerNation

    return PartnerNation.objects.filter(pk__in=ids)


def test_a_retry_with_the_same_idempotency_key_creates_the_batch_once(api_for, planner, rows):
    client = api_for(planner)
    batch = rows(2)
    first = client.post(URL, batch, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    again = client.post(URL, batch, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Engagement.objects.count() == 2
    other = client.post(URL, rows(1), format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert other.status_code == 409 and Engagement.objects.count() == 2
