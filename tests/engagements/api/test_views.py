"""/api/v1/engagements/: CRUD, nested writes, status and after-action actions, per role."""

import datetime

import pytest
from rest_framework.test import APIClient

from engagements import services
from engagements.models import AfterActionReport, Engagement, Participation, PartnerChange

pytestmark = pytest.mark.django_db

URL = "/api/v1/engagements/"

CONTRACT_FIELDS = {
    "id",
    "reference",
    "title",
    "engagement_type",
    "domain",
    "status",
    "start_date",
    "end_date",
    "host_country",
    "location_name",
    "latitude",
    "longitude",
    "threat_focus",
    "description",
    "budget_usd",
    "funding_source",
    "sensitivity",
    "series",
    "owner_unit",
    "point_of_contact",
    "participants",
    "organizations",
    "after_action",
    "objectives",  # filled by the assessments app (engagements/extensions.py)
    "created_at",
    "updated_at",
    "version",
    "warnings",
}


def detail(engagement_id):
    return f"{URL}{engagement_id}/"


def make(user, **overrides):
    values = {
        "title": "Flintlock 2025",
        "engagement_type": "exercise",
        "domain": "land",
        "start_date": datetime.date(2025, 2, 10),
        "end_date": datetime.date(2025, 2, 28),
        "host_country": "CIV",
        "participants": [{"partner": "CIV", "role": "host", "personnel": 400}],
    }
    values.update(overrides)
    return services.engagement_create(created_by=user, **values).engagement


# --- create ---------------------------------------------------------------------------------------------------


def test_create_writes_everything_and_answers_the_contract_fields(api_for, planner, engagement_payload):
    response = api_for(planner).post(URL, engagement_payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == CONTRACT_FIELDS
    assert body["reference"] == "ENG-2026-000001"
    assert body["status"] == "planned" and body["sensitivity"] == "unclassified" and body["version"] == 1
    assert body["host_country"] == "MAR" and body["organizations"] == ["AU"]
    assert body["latitude"] == 28.43799 and body["budget_usd"] == "1500000.00"
    assert {(p["partner"], p["role"], p["personnel"]) for p in body["participants"]} == {
        ("MAR", "host", 3500),
        ("USA", "lead", 4200),
        ("SEN", "participant", 300),
    }
    assert body["after_action"] is None and body["warnings"] == []
    engagement = Engagement.objects.get(pk=body["id"])
    assert engagement.created_by == planner
    assert engagement.participations.count() == 3
    assert set(PartnerChange.objects.values_list("partner__iso3", flat=True)) == {"MAR", "USA", "SEN"}


def test_create_accepts_lowercase_codes_and_rounds_coordinates(api_for, planner, engagement_payload):
    payload = engagement_payload(
        host_country="mar",
        organizations=["au"],
        participants=[{"partner": "usa"}],
        latitude=28.4379912,
        longitude="-11.1032149",
    )
    body = api_for(planner).post(URL, payload, format="json").json()
    assert body["host_country"] == "MAR" and body["organizations"] == ["AU"]
    assert body["participants"] == [{"partner": "USA", "role": "participant", "personnel": 0}]
    assert body["latitude"] == 28.43799 and body["longitude"] == -11.10321


def test_create_with_after_action_records_who_submitted(api_for, planner, engagement_payload):
    report = {"summary": "Done.", "interoperability_rating": 4, "capacity_rating": 3, "trust_rating": 5}
    payload = engagement_payload(
        status="completed", start_date="2025-05-04", end_date="2025-05-22", after_action=report
    )
    body = api_for(planner).post(URL, payload, format="json").json()
    assert body["after_action"]["summary"] == "Done."
    assert body["after_action"]["trust_rating"] == 5
    assert body["after_action"]["submitted_by"] == planner.username
    assert body["after_action"]["submitted_at"]
    assert AfterActionReport.objects.get(engagement_id=body["id"]).submitted_by == planner


def test_create_answers_deconfliction_warnings(api_for, planner, engagement_payload):
    api = api_for(planner)
    first = api.post(URL, engagement_payload(), format="json").json()
    second = api.post(URL, engagement_payload(title="Maritime Sentinel", organizations=[]), format="json").json()
    # One finding per other engagement: same host and shared partners are one finding, of the stronger kind.
    assert [w["kind"] for w in second["warnings"]] == ["host_overlap"]
    assert second["warnings"][0]["partners"] and second["warnings"][0]["severity"] == "high"
    assert all(w["engagement_id"] == first["id"] and w["reference"] == first["reference"] for w in second["warnings"])
    # Reads carry no warnings: they are computed for the write that asks.
    assert api.get(detail(second["id"])).json()["warnings"] == []


def test_one_bad_participant_means_nothing_is_written(api_for, planner, engagement_payload):
    participants = [{"partner": "MAR"}, {"partner": "XYZ"}, {"partner": "SEN", "personnel": 5}]
    response = api_for(planner).post(URL, engagement_payload(participants=participants), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["participants[1].partner"]
    assert "Unknown country code" in body["errors"]["participants[1].partner"][0]
    assert Engagement.objects.count() == 0 and Participation.objects.count() == 0


@pytest.mark.parametrize(
    "participants, path, message",
    [
        ([{"partner": "USA"}, {"partner": "USA"}], "participants[1].partner", "listed twice (already listed in row 1)"),
        ([{"partner": "USA", "personnel": -1}], "participants[0].personnel", "greater than or equal to 0"),
        ([{"partner": "USA", "personnel": 10**30}], "participants[0].personnel", "less than or equal to"),
        ([{"partner": "USA", "role": "boss"}], "participants[0].role", "not a valid choice"),
        ([{"role": "host"}], "participants[0].partner", "required"),
        ({"partner": "USA"}, "participants", "list"),
        (["USA"], "participants[0]", "Invalid data"),
    ],
)
def test_participant_errors_point_at_the_row(api_for, planner, engagement_payload, participants, path, message):
    response = api_for(planner).post(URL, engagement_payload(participants=participants), format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert path in errors, errors
    assert message in " ".join(errors[path])
    assert not Engagement.objects.exists()


def test_service_errors_keep_their_field(api_for, planner, engagement_payload):
    report = {"summary": "Early.", "interoperability_rating": 4, "capacity_rating": 3, "trust_rating": 5}
    response = api_for(planner).post(
        URL, engagement_payload(end_date="2026-05-01", after_action=report, organizations=["NOPE"]), format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "cannot be before the start date" in errors["end_date"][0]
    assert "in progress or completed" in errors["after_action"][0]
    assert "Unknown organization" in errors["organizations"][0]
    assert not Engagement.objects.exists() and not Participation.objects.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"title": ""}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"engagement_type": "party"}, "engagement_type"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"start_date": 20260504}, "start_date"),
        ({"host_country": "XX"}, "host_country"),
        ({"latitude": 91}, "latitude"),
        ({"latitude": "north"}, "latitude"),
        ({"budget_usd": "-1"}, "budget_usd"),
        ({"budget_usd": "1e40"}, "budget_usd"),
        ({"budget_usd": "NaN"}, "budget_usd"),
        ({"threat_focus": ["piracy"]}, "threat_focus[0]"),
        ({"threat_focus": "terrorism"}, "threat_focus"),
        ({"series": "no-such-series"}, "series"),
        ({"organizations": "AU"}, "organizations"),
        ({"sensitivity": "secret"}, "sensitivity"),
        ({"after_action": {"summary": "x", "interoperability_rating": 9}}, "after_action.interoperability_rating"),
        ({"after_action": "good"}, "after_action"),
    ],
)
def test_bad_fields_get_400_with_the_field(api_for, planner, engagement_payload, overrides, field):
    response = api_for(planner).post(URL, engagement_payload(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not Engagement.objects.exists()


def test_create_requires_the_core_fields(api_for, planner):
    response = api_for(planner).post(URL, {}, format="json")
    assert response.status_code == 400
    assert {"title", "engagement_type", "domain", "start_date", "end_date", "host_country"} <= set(
        response.json()["errors"]
    )


# --- read -----------------------------------------------------------------------------------------------------


def test_list_and_retrieve(api_for, viewer, planner):
    engagement = make(planner)
    api = api_for(viewer)
    body = api.get(URL).json()
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    assert body["results"][0]["reference"] == engagement.reference
    one = api.get(detail(engagement.pk)).json()
    assert one["participants"] == [{"partner": "CIV", "role": "host", "personnel": 400}]
    assert set(one) == CONTRACT_FIELDS


@pytest.mark.parametrize("bad_id", ["999999", "abc", "-1", "99999999999999999999999"])
def test_unknown_id_is_404_in_the_error_shape(api_for, viewer, bad_id):
    response = api_for(viewer).get(detail(bad_id))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_deleted_engagements_vanish_from_the_api(api_for, planner):
    engagement = make(planner)
    services.engagement_delete(engagement=engagement, user=planner, reason="Entered twice")
    api = api_for(planner)
    assert api.get(URL).json()["count"] == 0
    assert api.get(detail(engagement.pk)).status_code == 404


# --- update ---------------------------------------------------------------------------------------------------


def test_patch_changes_only_what_is_given(api_for, planner):
    engagement = make(planner, organizations=["ECOWAS"], sensitivity="restricted")
    response = api_for(planner).patch(detail(engagement.pk), {"title": "Flintlock 2025 (phase 2)"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["title"] == "Flintlock 2025 (phase 2)"
    assert body["version"] == 2
    assert body["organizations"] == ["ECOWAS"] and body["sensitivity"] == "restricted"
    assert body["participants"] == [{"partner": "CIV", "role": "host", "personnel": 400}]
    engagement.refresh_from_db()
    assert engagement.title == "Flintlock 2025 (phase 2)" and engagement.updated_by == planner


def test_a_save_reads_the_engagement_with_its_relations_once(api_for, planner):
    """The engagement is checked against its row alone before the save, and read with its relations (the
    ten-table join, participants, frameworks) once, for the answer after it: not before and after."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    engagement = make(planner, organizations=["ECOWAS"])
    api = api_for(planner)
    with CaptureQueriesContext(connection) as captured:
        response = api.patch(detail(engagement.pk), {"title": "Flintlock 2025 (phase 2)"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Flintlock 2025 (phase 2)"
    with_relations = [q for q in captured if 'JOIN "engagements_afteractionreport"' in q["sql"]]
    assert len(with_relations) == 1
    assert captured.captured_queries.index(with_relations[0]) > next(
        i for i, q in enumerate(captured.captured_queries) if q["sql"].startswith("UPDATE")
    )


def test_patch_replaces_participants_and_organizations(api_for, planner):
    engagement = make(planner, organizations=["ECOWAS"])
    payload = {
        "participants": [{"partner": "USA", "role": "lead", "personnel": 50}, {"partner": "SEN"}],
        "organizations": ["AU", "ECOWAS"],
    }
    body = api_for(planner).patch(detail(engagement.pk), payload, format="json").json()
    assert {p["partner"] for p in body["participants"]} == {"USA", "SEN"}
    assert body["organizations"] == ["AU", "ECOWAS"]
    assert set(engagement.participations.values_list("partner__iso3", flat=True)) == {"USA", "SEN"}


def test_patched_participants_still_need_a_partner(api_for, planner):
    engagement = make(planner)
    payload = {"participants": [{"partner": "USA"}, {"role": "lead", "personnel": 3}]}
    response = api_for(planner).patch(detail(engagement.pk), payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"participants[1].partner": ["This field is required."]}
    assert list(engagement.participations.values_list("partner__iso3", flat=True)) == ["CIV"]


def test_a_bad_patch_writes_nothing(api_for, planner):
    engagement = make(planner)
    payload = {"title": "Renamed", "participants": [{"partner": "USA"}, {"partner": "NOPE"}]}
    response = api_for(planner).patch(detail(engagement.pk), payload, format="json")
    assert response.status_code == 400
    assert "participants[1].partner" in response.json()["errors"]
    engagement.refresh_from_db()
    assert engagement.title == "Flintlock 2025" and engagement.version == 1
    assert list(engagement.participations.values_list("partner__iso3", flat=True)) == ["CIV"]


def test_put_needs_the_required_fields_and_keeps_the_rest(api_for, planner):
    engagement = make(planner, sensitivity="restricted", organizations=["ECOWAS"])
    api = api_for(planner)
    assert "title" in api.put(detail(engagement.pk), {"status": "approved"}, format="json").json()["errors"]
    payload = {
        "title": "Flintlock 2025",
        "engagement_type": "exercise",
        "domain": "joint",
        "start_date": "2025-02-11",
        "end_date": "2025-02-28",
        "host_country": "CIV",
    }
    body = api.put(detail(engagement.pk), payload, format="json").json()
    assert body["domain"] == "joint" and body["start_date"] == "2025-02-11"
    assert body["sensitivity"] == "restricted" and body["status"] == "planned" and body["organizations"] == ["ECOWAS"]


def test_status_rules_apply_to_updates(api_for, planner):
    engagement = make(planner)
    api = api_for(planner)
    assert api.patch(detail(engagement.pk), {"status": "in_progress"}, format="json").json()["status"] == "in_progress"
    response = api.patch(detail(engagement.pk), {"status": "planned"}, format="json")
    assert response.status_code == 400
    assert "Cannot move from in progress to planned" in response.json()["errors"]["status"][0]


def test_stale_version_is_a_409_and_writes_nothing(api_for, planner):
    engagement = make(planner)
    api = api_for(planner)
    assert api.patch(detail(engagement.pk), {"title": "First", "version": 1}, format="json").status_code == 200
    response = api.patch(detail(engagement.pk), {"title": "Second", "version": 1}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert "Someone else saved this engagement" in body["detail"]
    assert "now version 2" in body["errors"]["version"][0]
    engagement.refresh_from_db()
    assert engagement.title == "First" and engagement.version == 2
    assert api.patch(detail(engagement.pk), {"title": "Second", "version": 2}, format="json").status_code == 200


def test_after_action_through_update_is_edited_not_removed(api_for, planner):
    engagement = make(planner, status="completed")
    api = api_for(planner)
    report = {"summary": "Good.", "interoperability_rating": 2, "capacity_rating": 3, "trust_rating": 4}
    assert api.patch(detail(engagement.pk), {"after_action": report}, format="json").status_code == 200
    body = api.patch(detail(engagement.pk), {"after_action": {"trust_rating": 5}}, format="json").json()
    assert body["after_action"]["trust_rating"] == 5 and body["after_action"]["summary"] == "Good."
    response = api.patch(detail(engagement.pk), {"after_action": None}, format="json")
    assert response.status_code == 400 and "cannot be removed" in response.json()["errors"]["after_action"][0]
    assert AfterActionReport.objects.filter(engagement=engagement).exists()


# --- delete ---------------------------------------------------------------------------------------------------


def test_delete_needs_a_reason(api_for, planner):
    engagement = make(planner)
    api = api_for(planner)
    response = api.delete(detail(engagement.pk))
    assert response.status_code == 400
    assert response.json()["errors"]["reason"] == ["This field is required."]
    assert api.delete(detail(engagement.pk) + "?reason=").status_code == 400
    engagement.refresh_from_db()
    assert engagement.deleted_at is None


def test_delete_with_a_query_reason_is_a_soft_delete(api_for, planner):
    engagement = make(planner)
    api = api_for(planner)
    assert api.delete(detail(engagement.pk) + "?reason=Entered+twice").status_code == 204
    assert api.get(detail(engagement.pk)).status_code == 404
    engagement.refresh_from_db()
    assert engagement.deleted_at is not None
    assert engagement.deleted_by == planner and engagement.deletion_reason == "Entered twice"


def test_delete_with_a_json_reason(api_for, planner):
    engagement = make(planner)
    response = api_for(planner).delete(detail(engagement.pk), {"reason": "Cancelled by the host"}, format="json")
    assert response.status_code == 204
    engagement.refresh_from_db()
    assert engagement.deletion_reason == "Cancelled by the host"


# --- actions --------------------------------------------------------------------------------------------------


def test_status_action(api_for, planner):
    engagement = make(planner)
    api = api_for(planner)
    url = detail(engagement.pk) + "status/"
    # Planners no longer approve (four-eyes: the approve action, approvers only).
    response = api.post(url, {"status": "approved", "version": 1}, format="json")
    assert response.status_code == 400 and "approve action" in response.json()["errors"]["status"][0]
    body = api.post(url, {"status": "in_progress", "version": 1}, format="json").json()
    assert body["status"] == "in_progress" and body["version"] == 2
    response = api.post(url, {"status": "planned"}, format="json")
    assert response.status_code == 400 and "Cannot move" in response.json()["errors"]["status"][0]
    response = api.post(url, {"status": "cancelled", "version": 1}, format="json")
    assert response.status_code == 409
    assert api.post(url, {"status": "sideways"}, format="json").json()["errors"]["status"]
    assert api.post(url, {}, format="json").json()["errors"]["status"] == ["This field is required."]
    engagement.refresh_from_db()
    assert engagement.status == "in_progress"


def test_after_action_action_creates_then_edits(api_for, planner):
    engagement = make(planner, status="in_progress")
    api = api_for(planner)
    url = detail(engagement.pk) + "after-action/"
    report = {"summary": "Went well.", "interoperability_rating": 4, "capacity_rating": 3, "trust_rating": 5}
    response = api.post(url, report, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["submitted_by"] == planner.username
    response = api.put(url, {"capacity_rating": 2, "lessons_learned": "More interpreters."}, format="json")
    assert response.status_code == 200
    assert response.json()["capacity_rating"] == 2 and response.json()["summary"] == "Went well."
    report = AfterActionReport.objects.get(engagement=engagement)
    assert report.capacity_rating == 2 and report.lessons_learned == "More interpreters."
    engagement.refresh_from_db()
    assert engagement.version == 3


def test_after_action_action_refuses_bad_input(api_for, planner):
    planned = make(planner)
    api = api_for(planner)
    report = {"summary": "Too early.", "interoperability_rating": 4, "capacity_rating": 3, "trust_rating": 5}
    response = api.post(detail(planned.pk) + "after-action/", report, format="json")
    assert response.status_code == 400 and "in progress or completed" in response.json()["errors"]["after_action"][0]
    running = make(
        planner, status="in_progress", start_date=datetime.date(2025, 6, 1), end_date=datetime.date(2025, 6, 2)
    )
    response = api.post(detail(running.pk) + "after-action/", {"summary": "x", "trust_rating": 0}, format="json")
    assert response.status_code == 400
    assert {"trust_rating", "capacity_rating", "interoperability_rating"} <= set(response.json()["errors"])
    assert not AfterActionReport.objects.exists()


# --- roles ----------------------------------------------------------------------------------------------------


def test_anonymous_gets_401(reference_data):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_user_without_a_role_reads_nothing(api_for, make_user):
    response = api_for(make_user("nobody", role=None)).get(URL)
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_viewers_never_see_restricted_engagements(api_for, viewer, planner):
    open_one = make(planner)
    secret = make(
        planner, sensitivity="restricted", start_date=datetime.date(2025, 6, 1), end_date=datetime.date(2025, 6, 2)
    )
    api = api_for(viewer)
    assert [row["id"] for row in api.get(URL).json()["results"]] == [open_one.pk]
    assert api.get(URL, {"sensitivity": "restricted"}).json()["count"] == 0
    assert api.get(detail(secret.pk)).status_code == 404
    assert api.get(detail(open_one.pk)).status_code == 200


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_readers_cannot_write(api_for, make_user, planner, engagement_payload, role):
    engagement = make(planner)
    api = api_for(make_user(f"{role}-x", role))
    assert api.get(detail(engagement.pk)).status_code == 200
    assert api.post(URL, engagement_payload(), format="json").status_code == 403
    assert api.patch(detail(engagement.pk), {"title": "x"}, format="json").status_code == 403
    assert api.put(detail(engagement.pk), engagement_payload(), format="json").status_code == 403
    assert api.delete(detail(engagement.pk) + "?reason=x").status_code == 403
    assert api.post(detail(engagement.pk) + "status/", {"status": "approved"}, format="json").status_code == 403
    assert api.post(detail(engagement.pk) + "after-action/", {}, format="json").status_code == 403
    engagement.refresh_from_db()
    assert engagement.title == "Flintlock 2025" and engagement.deleted_at is None and engagement.status == "planned"
    assert Engagement.objects.count() == 1


def test_analysts_read_restricted_engagements(api_for, analyst, planner):
    secret = make(planner, sensitivity="restricted")
    api = api_for(analyst)
    assert api.get(detail(secret.pk)).json()["sensitivity"] == "restricted"
    assert api.get(URL).json()["count"] == 1


@pytest.mark.parametrize("role", ["planner", "admin"])
def test_planners_and_admins_write(api_for, make_user, engagement_payload, role):
    api = api_for(make_user(f"{role}-x", role))
    created = api.post(URL, engagement_payload(sensitivity="restricted"), format="json")
    assert created.status_code == 201
    engagement_id = created.json()["id"]
    assert api.get(detail(engagement_id)).status_code == 200
    assert api.patch(detail(engagement_id), {"status": "in_progress"}, format="json").status_code == 200
    assert api.delete(detail(engagement_id) + "?reason=test").status_code == 204


def test_unrouted_methods_are_405(api_for, viewer, planner):
    engagement = make(planner)
    response = api_for(viewer).put(URL, {}, format="json")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    response = api_for(planner).get(detail(engagement.pk) + "status/")
    assert response.status_code == 405
