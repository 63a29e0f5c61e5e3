"""A planner's new engagement starts planned, on every creation path (page, API, bulk, import, service):
approved is four-eyes, given by an approver, never by the planner who creates it. Admins may record an
engagement as approved (history entered after the fact). Refused input writes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from engagements import rules, services
from engagements.models import Approval, Engagement
from tests.engagements import test_imports as files
from tests.engagements.test_views import content, create, errors_for, form_data

pytestmark = pytest.mark.django_db

REFUSAL = "A new engagement starts as planned; ask an approver to approve it."
NO_REPORT = {"aar_summary": "", "interoperability_rating": "", "capacity_rating": "", "trust_rating": ""}


def test_the_rule_refuses_approved_at_creation_to_all_but_admins(planner, make_user, admin_user_role):
    approver = make_user("approver1", "approver")
    for user in (planner, approver):
        assert rules.creation_status_refusal(user, "approved") == REFUSAL
        assert rules.creation_status_refusal(user, "planned") is None
        assert rules.creation_status_refusal(user, "completed") is None  # history after the fact
        assert "approved" not in rules.creation_statuses(user)
    assert rules.creation_status_refusal(admin_user_role, "approved") is None
    assert rules.creation_status_refusal(None, "approved") is None  # the system (demo data, commands)
    assert "approved" in rules.creation_statuses(admin_user_role)


def test_the_service_refuses_a_planner_and_accepts_an_admin(planner, admin_user_role, reference_data):
    with pytest.raises(ValidationError) as refused:
        create(planner, status="approved")
    assert refused.value.message_dict["status"] == [REFUSAL]
    assert not Engagement.objects.exists()
    assert create(admin_user_role, status="approved").status == "approved"


def test_the_api_answers_400_on_status_and_writes_nothing(api_for, planner, admin_user_role, engagement_payload):
    response = api_for(planner).post("/api/v1/engagements/", engagement_payload(status="approved"), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["status"] == [REFUSAL]
    assert not Engagement.objects.exists()
    # Every problem at once: the status joins the other fields' messages.
    both = api_for(planner).post(
        "/api/v1/engagements/", engagement_payload(status="approved", end_date="2026-05-01"), format="json"
    )
    assert both.status_code == 400 and {"status", "end_date"} <= set(both.json()["errors"])
    created = api_for(admin_user_role).post(
        "/api/v1/engagements/", engagement_payload(status="approved"), format="json"
    )
    assert created.status_code == 201 and created.json()["status"] == "approved"


def test_the_bulk_create_reports_the_row_and_writes_nothing(api_for, planner, engagement_payload):
    batch = [engagement_payload(title="Planned one"), engagement_payload(title="Approved one", status="approved")]
    response = api_for(planner).post("/api/v1/engagements/bulk/", batch, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errors"] == {"[1].status": [REFUSAL]}
    assert body["rows"] == [{"index": 1, "field": "status", "message": REFUSAL}]
    assert not Engagement.objects.exists()


def test_the_create_page_offers_no_approved_to_a_planner_and_refuses_it(
    client_for, planner, admin_user_role, reference_data
):
    client = client_for(planner)
    page = content(client.get("/engagements/new/"))
    select = page[page.index('name="status"') : page.index("</select>", page.index('name="status"'))]
    assert 'value="planned"' in select and 'value="approved"' not in select
    response = client.post("/engagements/new/", form_data(status="approved"))
    assert response.status_code == 200
    assert errors_for(content(response), "id_status")  # beside the field
    assert not Engagement.objects.exists()
    admin_page = content(client_for(admin_user_role).get("/engagements/new/"))
    admin_select = admin_page[
        admin_page.index('name="status"') : admin_page.index("</select>", admin_page.index('name="status"'))
    ]
    assert 'value="approved"' in admin_select
    saved = client_for(admin_user_role).post("/engagements/new/", form_data(status="approved"))
    assert saved.status_code == 302 and Engagement.objects.get().status == "approved"


def test_an_import_reports_a_new_approved_row_and_writes_nothing(planner, admin_user_role, reference_data):
    handle = files.csv_file(
        [files.good_row(title="Completed row"), files.good_row(title="Approved row", status="approved", **NO_REPORT)]
    )
    report = files.run(handle, planner, dry_run=False)
    assert [(e.line, e.column, e.message) for e in report.errors] == [(3, "status", REFUSAL)]
    assert not report.applied and not Engagement.objects.exists()
    handle = files.csv_file([files.good_row(title="Approved row", status="approved", **NO_REPORT)])
    report = files.run(handle, admin_user_role, dry_run=False)
    assert report.applied and Engagement.objects.get().status == "approved"


def test_an_update_moves_to_approved_only_through_approval(api_for, client_for, planner, make_user, reference_data):
    from tests.engagements.test_rules import form_for

    engagement = create(planner)
    with pytest.raises(ValidationError) as refused:
        services.engagement_update(engagement=engagement, updated_by=planner, status="approved")
    assert "approve action" in refused.value.message_dict["status"][0]
    api = api_for(planner)
    patched = api.patch(f"/api/v1/engagements/{engagement.pk}/", {"status": "approved"}, format="json")
    assert patched.status_code == 400 and "approve action" in patched.json()["errors"]["status"][0]
    edited = client_for(planner).post(f"/engagements/{engagement.pk}/edit/", form_for(engagement, "approved"))
    assert edited.status_code == 200
    row = dict(zip(files.exchange.COLUMNS, files.exchange.rows_by_id([engagement.pk])[engagement.pk], strict=True))
    report = files.run(files.csv_file([row | {"status": "approved"}]), planner, dry_run=False)
    assert [e.column for e in report.errors] == ["status"]
    engagement.refresh_from_db()
    assert engagement.status == "planned" and engagement.version == 1 and not Approval.objects.exists()
    approver = make_user("approver1", "approver")
    services.engagement_approve(engagement=engagement, user=approver)
    engagement.refresh_from_db()
    assert engagement.status == "approved"
