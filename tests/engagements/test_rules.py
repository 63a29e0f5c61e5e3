"""One rule set (engagements/rules.py) asked by every path: what a path offers is what every path accepts."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import exchange, rules, services
from engagements.choices import Status
from engagements.models import AfterActionReport, Engagement, PartnerChange
from tests.engagements import test_imports as files
from tests.engagements import test_views as pages

pytestmark = pytest.mark.django_db

D = datetime.date
TODAY = timezone.localdate()
REPORT = {"summary": "Went well.", "interoperability_rating": 4, "capacity_rating": 3, "trust_rating": 4}
PAST = {"start_date": D(2025, 2, 10), "end_date": D(2025, 2, 28)}
STARTS_TOMORROW = {"start_date": TODAY + datetime.timedelta(days=1), "end_date": TODAY + datetime.timedelta(days=9)}
ENDS_NEXT_WEEK = {"start_date": TODAY - datetime.timedelta(days=2), "end_date": TODAY + datetime.timedelta(days=7)}


class _RolledBack(Exception):
    pass


def rolled_back(action):
    """What ``action`` returns, with everything it wrote undone (to try every move on one engagement)."""
    result = None
    try:
        with transaction.atomic():
            result = action()
            raise _RolledBack
    except _RolledBack:
        pass
    return result


def make(planner, status, *, has_report=False, dates=PAST):
    # A planner's new engagement starts planned (rules.creation_status_refusal): an approved one is recorded
    # by the system, as history is, and the planner then works on it.
    creator = None if status == "approved" else planner
    return pages.create(creator, status=status, after_action=REPORT if has_report else None, **dates)


CASES = [
    ("planned", False, PAST),
    ("approved", False, PAST),
    ("in_progress", False, PAST),
    ("in_progress", True, PAST),
    ("completed", False, PAST),
    ("completed", True, PAST),
    ("cancelled", False, PAST),
    ("approved", False, STARTS_TOMORROW),
    ("in_progress", True, ENDS_NEXT_WEEK),
]


def offered_by_policy(engagement, has_report, **options):
    return rules.status_moves(
        current=engagement.status,
        has_report=has_report,
        start_date=engagement.start_date,
        end_date=engagement.end_date,
        **options,
    )


def form_for(engagement, status):
    data = pages.form_data(
        status=status,
        version=str(engagement.version),
        start_date=engagement.start_date.isoformat(),
        end_date=engagement.end_date.isoformat(),
    )
    data["participants-INITIAL_FORMS"] = "2"
    return data


@pytest.mark.parametrize("status, has_report, dates", CASES)
def test_status_policy_offered_is_accepted_on_every_path(
    client_for, api_for, planner, reference_data, status, has_report, dates
):
    engagement = make(planner, status, has_report=has_report, dates=dates)
    offered = offered_by_policy(engagement, has_report)
    # Cancelling (and reopening) say why: a page of their own, the API with a reason; never the edit form or a file.
    one_click = offered_by_policy(engagement, has_report, with_reason=False)
    client, api = client_for(planner), api_for(planner)

    detail = pages.content(client.get(f"/engagements/{engagement.pk}/"))
    assert re.findall(r'name="status" value="([a-z_]+)"', detail) == one_click  # the buttons
    asking = re.findall(rf"/engagements/{engagement.pk}/status/\?status=([a-z_]+)", detail)
    assert one_click + asking == offered  # the links to the page that asks why
    edit = pages.content(client.get(f"/engagements/{engagement.pk}/edit/"))
    select = edit[edit.index('name="status"') : edit.index("</select>", edit.index('name="status"'))]
    assert re.findall(r'<option value="([a-z_]+)"', select) == [status, *one_click]  # the edit form's choices

    stored = exchange.rows_by_id([engagement.pk])[engagement.pk]
    for wanted in Status.values:
        if wanted == status:
            continue
        allowed = wanted in offered
        without_reason = wanted in one_click

        def by_service(wanted=wanted, reason="Called off by the host."):
            try:
                services.engagement_change_status(engagement=engagement, status=wanted, user=planner, reason=reason)
            except ValidationError as error:
                return error.message_dict
            return None

        def by_api(wanted=wanted):
            body = {"status": wanted, "reason": "Called off by the host."}
            return api.post(f"/api/v1/engagements/{engagement.pk}/status/", body, format="json")

        def by_edit_form(wanted=wanted):
            return client.post(f"/engagements/{engagement.pk}/edit/", form_for(engagement, wanted))

        assert (rolled_back(by_service) is None) == allowed, (wanted, "service")
        assert (rolled_back(lambda wanted=wanted: by_service(wanted, "")) is None) == without_reason, (wanted, "")
        assert (rolled_back(by_api).status_code == 200) == allowed, (wanted, "API")
        assert (rolled_back(by_edit_form).status_code == 302) == without_reason, (wanted, "edit form")
        row = dict(zip(exchange.COLUMNS, stored, strict=True)) | {"status": wanted}
        report = files.run(files.csv_file([row]), planner)
        assert report.ok == without_reason, (wanted, "import", [e.as_dict() for e in report.errors])
        if not without_reason:  # (a report on a planned or cancelled engagement is refused beside its own column too)
            assert "status" in [e.column for e in report.errors]
    engagement.refresh_from_db()
    assert engagement.status == status and engagement.version == 1


def test_the_date_rules_hold_for_moves_and_new_reports_but_not_for_creation(
    client_for, api_for, planner, reference_data
):
    early = make(planner, "in_progress", dates=STARTS_TOMORROW)  # history and plans may be entered as they are
    assert early.status == "in_progress"
    approved = make(planner, "approved", dates=STARTS_TOMORROW)
    with pytest.raises(ValidationError) as refused:
        services.engagement_change_status(engagement=approved, status="in_progress", user=planner)
    assert "before it starts" in refused.value.message_dict["status"][0]
    response = api_for(planner).post(
        f"/api/v1/engagements/{approved.pk}/status/", {"status": "completed"}, format="json"
    )
    assert response.status_code == 400 and "before it ends" in response.json()["errors"]["status"][0]
    with pytest.raises(ValidationError) as refused:
        services.after_action_submit(engagement=early, user=planner, **REPORT)
    assert "to have started" in refused.value.message_dict["after_action"][0]
    page = pages.content(client_for(planner).get(f"/engagements/{early.pk}/"))
    assert f"/engagements/{early.pk}/after-action/" not in page  # not offered either
    approved.refresh_from_db()
    assert approved.status == "approved" and not AfterActionReport.objects.exists()


def test_a_report_cannot_be_removed_on_any_path(client_for, api_for, planner, make_user, reference_data):
    engagement = make(planner, "completed", has_report=True)
    with pytest.raises(ValidationError) as refused:
        services.engagement_update(engagement=engagement, updated_by=planner, after_action=None)
    assert "cannot be removed" in refused.value.message_dict["after_action"][0]
    response = api_for(planner).patch(f"/api/v1/engagements/{engagement.pk}/", {"after_action": None}, format="json")
    assert response.status_code == 400 and "cannot be removed" in response.json()["errors"]["after_action"][0]
    row = dict(zip(exchange.COLUMNS, exchange.rows_by_id([engagement.pk])[engagement.pk], strict=True))
    row.update(dict.fromkeys(exchange.AAR_COLUMNS, ""))
    report = files.run(files.csv_file([row]), planner, dry_run=False)
    assert [(e.column, "cannot be removed" in e.message) for e in report.errors] == [("aar_summary", True)]
    page = pages.content(client_for(planner).post(f"/engagements/{engagement.pk}/after-action/", {"summary": ""}))
    assert pages.errors_for(page, "id_summary")
    admin = client_for(make_user("root", "admin", is_staff=True))
    url = f"/admin/engagements/afteractionreport/{engagement.after_action.pk}/delete/"
    assert admin.post(url, {"post": "yes"}).status_code == 403
    assert AfterActionReport.objects.filter(engagement=engagement).count() == 1


def test_an_admin_change_of_a_report_goes_through_the_service_and_queues_a_recompute(
    client_for, make_user, planner, reference_data, django_capture_on_commit_callbacks
):
    from engagements.signals import engagement_data_changed

    engagement = make(planner, "completed", has_report=True)
    report = engagement.after_action
    PartnerChange.objects.all().delete()
    admin = make_user("root", "admin", is_staff=True)
    announced = []

    def listener(sender, **kwargs):
        announced.append(kwargs)

    engagement_data_changed.connect(listener)
    try:
        url = f"/admin/engagements/afteractionreport/{report.pk}/change/"
        data = {**dict(REPORT.items()), "trust_rating": 2, "lessons_learned": "", "recommendations": ""}
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(admin).post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        bad = client_for(admin).post(url, {**data, "trust_rating": 9})
    finally:
        engagement_data_changed.disconnect(listener)
    report.refresh_from_db()
    assert report.trust_rating == 2
    assert set(PartnerChange.objects.values_list("partner__iso3", flat=True)) == {"CIV", "USA"}
    assert announced and announced[0]["partner_ids"] == set(
        engagement.participations.values_list("partner_id", flat=True)
    )
    assert report.history.first().history_user == admin
    engagement.refresh_from_db()
    assert engagement.version == 2
    assert bad.status_code == 200 and "Ratings go from 1 (poor) to 5 (excellent)." in bad.content.decode()


def test_an_admin_delete_is_a_soft_delete_with_the_reason(client_for, make_user, planner, reference_data):
    engagement = make(planner, "planned")
    admin = make_user("root", "admin", is_staff=True)
    client = client_for(admin)
    url = f"/admin/engagements/engagement/{engagement.pk}/delete/"
    assert "reason" in client.get(url).content.decode()
    assert client.post(url, {"reason": ""}).status_code == 200  # the reason is required
    assert Engagement.objects.get(pk=engagement.pk).deleted_at is None
    assert client.post(url, {"reason": "Entered twice"}).status_code == 302
    engagement.refresh_from_db()
    assert engagement.deleted_at is not None and engagement.deleted_by == admin
    assert engagement.deletion_reason == "Entered twice"
    assert engagement.history.first().history_user == admin
    assert PartnerChange.objects.filter(engagement=engagement).count() >= 2
    changelist = client.get("/admin/engagements/engagement/").content.decode()
    assert "delete_selected" not in changelist  # no bulk hard delete
    change = client.post(f"/admin/engagements/engagement/{engagement.pk}/change/", {"title": "Renamed"})
    assert change.status_code == 403
    assert Engagement.objects.get(pk=engagement.pk).title == "Flintlock 2025"


def test_the_update_check_writes_nothing_and_returns_every_error_at_once(planner, reference_data):
    engagement = make(planner, "in_progress")
    with CaptureQueriesContext(connection) as queries:
        checked = services.engagement_update_clean(engagement=engagement, title="Renamed", status="completed")
    assert checked.fields == {"title": "Renamed", "status": "completed"}
    with CaptureQueriesContext(connection) as refused_queries, pytest.raises(services.InputError) as refused:
        services.engagement_update_clean(
            engagement=engagement,
            title="",
            status="planned",
            end_date=D(2025, 1, 1),
            participants=[{"partner": "USA"}, {"partner": "ZZZ"}, {"partner": "usa", "personnel": -1}],
        )
    error = refused.value
    assert set(error.fields) == {"title", "status", "end_date"}
    assert error.rows == {
        1: {"partner": ["Unknown country code “ZZZ”: use an ISO 3166-1 alpha-3 code such as FRA."]},
        2: {
            "partner": ["United States is listed twice (already listed in row 1)."],
            "personnel": ["Personnel cannot be negative."],
        },
    }
    writes = [
        q["sql"]
        for q in [*queries.captured_queries, *refused_queries.captured_queries]
        if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE", "SAVEPOINT")
    ]
    assert writes == []
    engagement.refresh_from_db()
    assert (engagement.title, engagement.status, engagement.version) == ("Flintlock 2025", "in_progress", 1)


def test_the_edit_page_checks_without_writing_when_the_form_does_not_parse(client_for, planner, reference_data):
    engagement = make(planner, "planned")
    data = form_for(engagement, "approved") | {"start_date": "2025-02-30", "end_date": "2025-01-01", "title": " "}
    client = client_for(planner)
    with CaptureQueriesContext(connection) as queries:
        html = pages.content(client.post(f"/engagements/{engagement.pk}/edit/", data))
    assert pages.errors_for(html, "id_start_date") and pages.errors_for(html, "id_title")
    touched = [
        q["sql"]
        for q in queries.captured_queries
        if "engagements_" in q["sql"] and q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]
    assert touched == [] and not any(q["sql"].startswith("SAVEPOINT") for q in queries.captured_queries)


def test_a_limit_is_defined_once_and_page_api_and_import_obey_it(client_for, api_for, planner, reference_data):
    """The title's maximum length is the model field's: changing it there changes every path."""
    limit = Engagement._meta.get_field("title").max_length
    too_long, longest = "x" * (limit + 1), "x" * limit
    page = pages.content(client_for(planner).post("/engagements/new/", pages.form_data(title=too_long)))
    assert any(str(limit) in message for message in pages.errors_for(page, "id_title"))
    response = api_for(planner).post(
        "/api/v1/engagements/",
        {
            "title": too_long,
            "engagement_type": "exercise",
            "domain": "land",
            "start_date": "2025-01-01",
            "end_date": "2025-01-02",
            "host_country": "FRA",
        },
        format="json",
    )
    assert response.status_code == 400 and str(limit) in response.json()["errors"]["title"][0]
    report = files.run(files.csv_file([files.good_row(title=too_long)]), planner)
    assert [(e.column, str(limit) in e.message) for e in report.errors] == [("title", True)]
    assert not Engagement.objects.exists()
    assert files.run(files.csv_file([files.good_row(title=longest)]), planner).ok
