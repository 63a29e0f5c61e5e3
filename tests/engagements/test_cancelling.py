"""Cancelling asks why, on every path; an admin (only) may reopen a cancelled engagement as planned, with a reason."""

import pytest
from django.core.exceptions import ValidationError

from engagements import exchange, services
from engagements.models import Engagement
from tests.engagements import test_imports as files
from tests.engagements.test_views import content, create, errors_for

pytestmark = pytest.mark.django_db

REASON = "The host nation withdrew its invitation."


def status_url(engagement):
    return f"/engagements/{engagement.pk}/status/"


def history_reasons(engagement):
    return [r.history_change_reason for r in engagement.history.order_by("history_date") if r.history_change_reason]


# --- the page -------------------------------------------------------------------------------------------


def test_cancelling_on_the_page_asks_why_and_keeps_the_reason(client_for, planner, admin_user_role, reference_data):
    engagement = create(admin_user_role, status="approved")  # recorded as approved: admins only
    client = client_for(planner)
    detail = content(client.get(f"/engagements/{engagement.pk}/"))
    assert f"{status_url(engagement)}?status=cancelled" in detail  # a link to the confirmation, not a move

    # Following it (or an old one-click form posting without a reason) shows the confirmation form only.
    page = client.get(status_url(engagement), {"status": "cancelled"})
    assert page.status_code == 200 and 'name="reason"' in content(page)
    one_click = client.post(status_url(engagement), {"status": "cancelled", "version": "1"})
    assert one_click.status_code == 200 and 'name="reason"' in content(one_click)
    engagement.refresh_from_db()
    assert engagement.status == "approved" and engagement.version == 1

    blank = client.post(status_url(engagement), {"status": "cancelled", "version": "1", "reason": "   "})
    assert blank.status_code == 200
    assert errors_for(content(blank), "id_reason") == ["This field is required."]
    too_long = client.post(status_url(engagement), {"status": "cancelled", "version": "1", "reason": "x" * 101})
    assert "100 characters" in errors_for(content(too_long), "id_reason")[0]
    engagement.refresh_from_db()
    assert engagement.status == "approved"

    done = client.post(status_url(engagement), {"status": "cancelled", "version": "1", "reason": REASON}, follow=True)
    assert "Status changed to Cancelled." in content(done)
    engagement.refresh_from_db()
    assert engagement.status == "cancelled" and history_reasons(engagement) == [REASON]
    assert REASON in content(client.get(f"/engagements/{engagement.pk}/"))  # shown in the history


def test_the_edit_form_cannot_cancel_without_a_reason(client_for, planner, admin_user_role, reference_data):
    from tests.engagements.test_rules import form_for

    engagement = create(admin_user_role, status="approved")  # recorded as approved: admins only
    client = client_for(planner)
    edit = content(client.get(f"/engagements/{engagement.pk}/edit/"))
    select = edit[edit.index('name="status"') : edit.index("</select>", edit.index('name="status"'))]
    assert 'value="cancelled"' not in select
    response = client.post(f"/engagements/{engagement.pk}/edit/", form_for(engagement, "cancelled"))
    assert response.status_code == 200
    engagement.refresh_from_db()
    assert engagement.status == "approved"


def test_an_admin_reopens_a_cancelled_engagement_with_a_reason(client_for, admin_user_role, planner, reference_data):
    engagement = create(planner, status="cancelled")
    client = client_for(admin_user_role)
    detail = content(client.get(f"/engagements/{engagement.pk}/"))
    assert f"{status_url(engagement)}?status=planned" in detail and "Reopen as Planned" in detail
    page = client.get(status_url(engagement), {"status": "planned"})
    assert page.status_code == 200 and 'name="reason"' in content(page)
    blank = client.post(status_url(engagement), {"status": "planned", "reason": ""})
    assert errors_for(content(blank), "id_reason") == ["This field is required."]
    engagement.refresh_from_db()
    assert engagement.status == "cancelled"
    client.post(status_url(engagement), {"status": "planned", "reason": "Rescheduled for the autumn."})
    engagement.refresh_from_db()
    assert engagement.status == "planned" and history_reasons(engagement) == ["Rescheduled for the autumn."]
    # Reopened, it follows the ordinary life cycle again (planned may not become cancelled without a reason).
    assert "Rescheduled for the autumn." in content(client.get(f"/engagements/{engagement.pk}/"))


def test_a_planner_may_not_reopen(client_for, planner, reference_data):
    engagement = create(planner, status="cancelled")
    client = client_for(planner)
    detail = content(client.get(f"/engagements/{engagement.pk}/"))
    assert "?status=planned" not in detail and "Reopen" not in detail
    refused = client.get(status_url(engagement), {"status": "planned"}, follow=True)
    assert 'name="reason"' not in content(refused) and "cannot move to Planned" in content(refused)
    posted = client.post(status_url(engagement), {"status": "planned", "reason": "Please"}, follow=True)
    assert "Only an administrator may reopen" in content(posted)
    with pytest.raises(ValidationError) as refused_by_service:
        services.engagement_change_status(engagement=engagement, status="planned", user=planner, reason="Please")
    assert "Only an administrator" in refused_by_service.value.message_dict["status"][0]
    engagement.refresh_from_db()
    assert engagement.status == "cancelled" and engagement.version == 1


# --- the API --------------------------------------------------------------------------------------------


def test_the_api_needs_a_reason_to_cancel(api_for, planner, admin_user_role):
    engagement = create(admin_user_role, status="approved")  # recorded as approved: admins only
    api = api_for(planner)
    url = f"/api/v1/engagements/{engagement.pk}/status/"
    missing = api.post(url, {"status": "cancelled"}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"]["reason"] == ["This field is required."]
    blank = api.post(url, {"status": "cancelled", "reason": " "}, format="json")
    assert blank.status_code == 400 and blank.json()["errors"]["reason"] == ["This field is required."]
    wrong_type = api.post(url, {"status": "cancelled", "reason": ["a"]}, format="json")
    assert wrong_type.status_code == 400 and "reason" in wrong_type.json()["errors"]
    patched = api.patch(f"/api/v1/engagements/{engagement.pk}/", {"status": "cancelled"}, format="json")
    assert patched.status_code == 400 and "Cancelling needs a reason" in patched.json()["errors"]["status"][0]
    engagement.refresh_from_db()
    assert engagement.status == "approved"
    done = api.post(url, {"status": "cancelled", "reason": REASON}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    engagement.refresh_from_db()
    assert history_reasons(engagement) == [REASON]


def test_the_api_lets_only_an_admin_reopen(api_for, planner, admin_user_role):
    engagement = create(planner, status="cancelled")
    url = f"/api/v1/engagements/{engagement.pk}/status/"
    by_planner = api_for(planner).post(url, {"status": "planned", "reason": "Please"}, format="json")
    assert by_planner.status_code == 400 and "Only an administrator" in by_planner.json()["errors"]["status"][0]
    admin = api_for(admin_user_role)
    assert admin.post(url, {"status": "planned"}, format="json").json()["errors"]["reason"]
    assert admin.post(url, {"status": "approved", "reason": "x"}, format="json").status_code == 400  # planned only
    done = admin.post(url, {"status": "planned", "reason": "Rescheduled."}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "planned"


# --- the import -----------------------------------------------------------------------------------------


def test_an_import_cannot_cancel_or_reopen(planner, admin_user_role, reference_data):
    """The file has no reason column: moving to cancelled (or out of it) by import is a row error that says
    where to do it instead."""
    engagement = create(admin_user_role, status="approved")  # recorded as approved: admins only
    row = dict(zip(exchange.COLUMNS, exchange.rows_by_id([engagement.pk])[engagement.pk], strict=True))
    report = files.run(files.csv_file([row | {"status": "cancelled"}]), planner, dry_run=False)
    assert [(e.line, e.column) for e in report.errors] == [(2, "status")]
    assert "Cancelling needs a reason" in report.errors[0].message and not report.applied
    cancelled = create(planner, status="cancelled", title="Called off")
    row = dict(zip(exchange.COLUMNS, exchange.rows_by_id([cancelled.pk])[cancelled.pk], strict=True))
    report = files.run(files.csv_file([row | {"status": "planned"}]), admin_user_role, dry_run=False)
    assert [e.column for e in report.errors] == ["status"] and not report.applied
    assert sorted(Engagement.objects.values_list("status", flat=True)) == ["approved", "cancelled"]
    # A new engagement may still be imported as cancelled (history entered after the fact).
    new = files.run(
        files.csv_file(
            [
                files.good_row(
                    status="cancelled", aar_summary="", interoperability_rating="", capacity_rating="", trust_rating=""
                )
            ]
        ),
        planner,
        dry_run=False,
    )
    assert new.ok and new.applied
