"""Units and the unit scope: a planner writes the engagements of their units and the units below them, on
every path (services, pages, API, import, admin); a planner without a unit writes nothing; admins write all.
Reading is unchanged."""

import datetime

import pytest
from django.conf import settings
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from core.models import Unit
from engagements import imports, rules, services
from engagements.models import Engagement
from tests.engagements.factories import UnitFactory
from tests.engagements.test_imports import csv_file, good_row
from tests.engagements.test_views import content, form_data

pytestmark = pytest.mark.django_db

D = datetime.date


def values(**overrides):
    return {
        "title": "Flintlock 2025",
        "engagement_type": "exercise",
        "domain": "land",
        "start_date": D(2025, 2, 10),
        "end_date": D(2025, 2, 28),
        "host_country": "CIV",
        "participants": [{"partner": "CIV", "role": "host", "personnel": 400}],
        **overrides,
    }


@pytest.fixture
def tree(db):
    """A command with an office below it, and another command."""
    command = UnitFactory(code="CMD-A", name="Command A")
    office = UnitFactory(code="CMD-A-OFFICE", name="Office of A", parent=command)
    other = UnitFactory(code="CMD-B", name="Command B")
    return {"command": command, "office": office, "other": other}


@pytest.fixture
def people(make_user, tree):
    return {
        "command_planner": make_user("cmd-planner", "planner", units=["CMD-A"]),
        "office_planner": make_user("office-planner", "planner", units=["CMD-A-OFFICE"]),
        "other_planner": make_user("other-planner", "planner", units=["CMD-B"]),
        "lonely_planner": make_user("lonely-planner", "planner", units=[]),
        "admin": make_user("unit-admin", "admin", is_staff=True),
    }


def office_engagement(people, reference_data, **overrides):
    return services.engagement_create(created_by=people["office_planner"], **values(**overrides)).engagement


# --- the rule -----------------------------------------------------------------------------------------------


def test_writable_units_are_the_users_units_and_those_below(tree, people):
    assert rules.writable_unit_ids(people["command_planner"]) == {tree["command"].pk, tree["office"].pk}
    assert rules.writable_unit_ids(people["office_planner"]) == {tree["office"].pk}
    assert rules.writable_unit_ids(people["lonely_planner"]) == set()
    assert rules.writable_unit_ids(people["admin"]) is None  # every unit
    assert rules.units_above(tree["office"].pk) == {tree["office"].pk, tree["command"].pk}


def test_the_migration_created_the_default_unit_named_in_settings(db):
    unit = Unit.objects.get(code=settings.DEFAULT_UNIT_CODE)
    assert unit.name == settings.DEFAULT_UNIT_NAME


# --- services: every write ----------------------------------------------------------------------------------


def test_a_new_engagement_belongs_to_the_planners_only_unit(people, tree, reference_data):
    engagement = office_engagement(people, reference_data)
    assert engagement.owner_unit == tree["office"]


def test_a_planner_of_several_units_must_choose(make_user, tree, reference_data):
    planner = make_user("two-hats", "planner", units=["CMD-A", "CMD-B"])
    with pytest.raises(ValidationError) as excinfo:
        services.engagement_create(created_by=planner, **values())
    assert excinfo.value.message_dict["owner_unit"] == ["Choose the unit that owns this engagement."]
    engagement = services.engagement_create(created_by=planner, **values(owner_unit="cmd-b")).engagement
    assert engagement.owner_unit == tree["other"]  # codes in any case


def test_planners_write_their_units_and_below_never_others(people, tree, reference_data):
    engagement = office_engagement(people, reference_data)
    # The command's planner writes its office's engagement (below), the other command's planner does not.
    services.engagement_update(engagement=engagement, updated_by=people["command_planner"], title="By the command")
    other = people["other_planner"]
    writes = [
        lambda: services.engagement_update(engagement=engagement, updated_by=other, title="Hijacked"),
        lambda: services.engagement_change_status(engagement=engagement, status="in_progress", user=other),
        lambda: services.engagement_delete(engagement=engagement, user=other, reason="Not mine"),
        lambda: services.engagement_create(created_by=other, **values(owner_unit="CMD-A-OFFICE")),
        lambda: services.approval_request(engagement=engagement, user=other),
    ]
    for write in writes:
        with pytest.raises(services.OutOfScope) as excinfo:
            write()
        assert "you write only the engagements of your units and the units below them" in str(excinfo.value)
    engagement.refresh_from_db()
    assert (engagement.title, engagement.status, engagement.deleted_at) == ("By the command", "planned", None)
    assert Engagement.objects.count() == 1


def test_a_planner_cannot_give_an_engagement_away_to_another_unit(people, reference_data):
    engagement = office_engagement(people, reference_data)
    with pytest.raises(services.OutOfScope):
        services.engagement_update(engagement=engagement, updated_by=people["office_planner"], owner_unit="CMD-B")
    services.engagement_update(engagement=engagement, updated_by=people["admin"], owner_unit="CMD-B")
    engagement.refresh_from_db()
    assert engagement.owner_unit.code == "CMD-B"


def test_the_after_action_report_follows_the_scope(people, reference_data):
    engagement = office_engagement(people, reference_data, status="completed")
    report = {"summary": "Done", "interoperability_rating": 3, "capacity_rating": 3, "trust_rating": 3}
    with pytest.raises(services.OutOfScope):
        services.after_action_submit(engagement=engagement, user=people["other_planner"], **report)
    services.after_action_submit(engagement=engagement, user=people["office_planner"], **report)
    assert engagement.after_action.summary == "Done"


def test_a_planner_without_a_unit_writes_nothing_and_is_told_why(people, reference_data):
    with pytest.raises(services.OutOfScope) as excinfo:
        services.engagement_create(created_by=people["lonely_planner"], **values())
    assert "You belong to no unit" in str(excinfo.value)


def test_point_of_contact_is_an_active_user_by_username(people, make_user, reference_data):
    contact = make_user("contact", "planner", units=["CMD-A-OFFICE"])
    engagement = office_engagement(people, reference_data, point_of_contact="contact")
    assert engagement.point_of_contact == contact
    contact.is_active = False
    contact.save()
    with pytest.raises(ValidationError) as excinfo:
        services.engagement_update(
            engagement=engagement, updated_by=people["office_planner"], point_of_contact="contact"
        )
    assert "Unknown user" in excinfo.value.message_dict["point_of_contact"][0]


# --- API --------------------------------------------------------------------------------------------------------


def test_api_answers_403_with_the_reason_and_writes_nothing(api_for, people, reference_data):
    engagement = office_engagement(people, reference_data)
    api = api_for(people["other_planner"])
    url = f"/api/v1/engagements/{engagement.pk}/"
    response = api.patch(url, {"title": "Hijacked"}, format="json")
    assert response.status_code == 403
    assert "you write only the engagements of your units" in response.json()["detail"]
    assert api.delete(url + "?reason=no").status_code == 403
    assert api.post(url + "status/", {"status": "cancelled", "reason": "x"}, format="json").status_code == 403
    assert api.get(url).json()["owner_unit"] == "CMD-A-OFFICE"  # reading is unchanged
    lonely = api_for(people["lonely_planner"]).post("/api/v1/engagements/", {}, format="json")
    assert lonely.status_code == 403 and "You belong to no unit" in lonely.json()["detail"]
    engagement.refresh_from_db()
    assert engagement.title == "Flintlock 2025" and engagement.deleted_at is None


def test_api_owner_unit_and_point_of_contact_by_code_and_username(api_for, people, reference_data):
    api = api_for(people["command_planner"])
    body = {
        "title": "Harbour week",
        "engagement_type": "port_visit",
        "domain": "maritime",
        "start_date": "2025-04-01",
        "end_date": "2025-04-05",
        "host_country": "GHA",
        "owner_unit": "CMD-A-OFFICE",
        "point_of_contact": "office-planner",
    }
    created = api.post("/api/v1/engagements/", body, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["owner_unit"], created.json()["point_of_contact"]) == ("CMD-A-OFFICE", "office-planner")
    bad = api.post("/api/v1/engagements/", {**body, "owner_unit": "NOPE", "point_of_contact": "ghost"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) >= {"owner_unit", "point_of_contact"}


def test_filters_by_owner_unit_with_sub_units_and_point_of_contact(api_for, people, reference_data):
    office = office_engagement(people, reference_data, point_of_contact="office-planner")
    command = services.engagement_create(created_by=people["command_planner"], **values(title="HQ one")).engagement
    services.engagement_create(created_by=people["other_planner"], **values(title="B one"))
    api = api_for(people["other_planner"])

    def ids(**params):
        return {row["id"] for row in api.get("/api/v1/engagements/", params).json()["results"]}

    assert ids(owner_unit="CMD-A") == {command.pk}
    assert ids(owner_unit="CMD-A", sub_units="true") == {command.pk, office.pk}
    assert ids(point_of_contact="office-planner") == {office.pk}
    assert api.get("/api/v1/engagements/", {"sub_units": "perhaps"}).status_code == 400


def test_units_api_reads_for_all_and_writes_for_admins(api_for, people, tree, make_user, reference_data):
    office_engagement(people, reference_data)
    viewer = api_for(make_user("unit-viewer", "viewer"))
    listed = {row["code"]: row for row in viewer.get("/api/v1/units/").json()["results"]}
    assert listed["CMD-A-OFFICE"]["parent"] == "CMD-A" and listed["CMD-A-OFFICE"]["engagement_count"] == 1
    assert listed["CMD-A-OFFICE"]["members"] == ["office-planner"]
    assert viewer.post("/api/v1/units/", {"code": "X", "name": "X"}, format="json").status_code == 403
    admin = api_for(people["admin"])
    created = admin.post(
        "/api/v1/units/",
        {"code": "CMD-B-DESK", "name": "Desk", "parent": "CMD-B", "members": ["lonely-planner"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert rules.writable_unit_ids(people["lonely_planner"]) == {Unit.objects.get(code="CMD-B-DESK").pk}
    loop = admin.patch("/api/v1/units/CMD-A/", {"parent": "CMD-A-OFFICE"}, format="json")
    assert loop.status_code == 400 and "below itself" in loop.json()["errors"]["parent"][0]
    twice = admin.post("/api/v1/units/", {"code": "cmd-a", "name": "Again"}, format="json")
    assert twice.status_code == 400 and "code" in twice.json()["errors"]


# --- pages ------------------------------------------------------------------------------------------------------


def test_pages_hide_write_buttons_and_refuse_routes_out_of_scope(client_for, people, reference_data):
    engagement = office_engagement(people, reference_data, status="in_progress", start_date=D(2025, 1, 1))
    client = client_for(people["other_planner"])
    html = content(client.get(f"/engagements/{engagement.pk}/"))
    assert f"/engagements/{engagement.pk}/edit/" not in html
    assert f"/engagements/{engagement.pk}/delete/" not in html
    assert f"/engagements/{engagement.pk}/after-action/" not in html
    assert 'name="status"' not in html
    for route in ("edit/", "delete/", "after-action/"):
        response = client.get(f"/engagements/{engagement.pk}/{route}")
        assert response.status_code == 403, route
        assert "you write only the engagements of your units" in content(response)
    assert client.post(f"/engagements/{engagement.pk}/status/", {"status": "completed"}).status_code == 403
    own = content(client_for(people["office_planner"]).get(f"/engagements/{engagement.pk}/"))
    assert f"/engagements/{engagement.pk}/edit/" in own


def test_the_new_page_explains_instead_of_a_form_for_a_planner_without_a_unit(client_for, people, reference_data):
    response = client_for(people["lonely_planner"]).get("/engagements/new/")
    assert response.status_code == 403
    html = content(response)
    assert "You belong to no unit" in html and 'name="title"' not in html
    page = content(client_for(people["office_planner"]).get("/engagements/new/"))
    assert '<option value="CMD-A-OFFICE" selected>' in page
    assert '<option value="CMD-B"' not in page  # only the units the planner may write


def test_creating_on_the_page_takes_the_planners_unit(client_for, people, reference_data):
    response = client_for(people["office_planner"]).post("/engagements/new/", form_data(point_of_contact=""))
    assert response.status_code == 302
    assert Engagement.objects.get().owner_unit.code == "CMD-A-OFFICE"


def test_unit_pages_show_the_tree_members_and_counts(client_for, people, reference_data, make_user):
    office_engagement(people, reference_data)
    client = client_for(make_user("reader", "viewer"))
    tree_html = content(client.get("/units/"))
    assert tree_html.index("Command A") < tree_html.index("Office of A")
    detail = content(client.get("/units/CMD-A-OFFICE/"))
    assert "office-planner" in detail and "data-engagement-count>1<" in detail
    assert client.get("/units/new/").status_code == 403
    admin = client_for(people["admin"])
    response = admin.post(
        "/units/new/", {"code": "CMD-A-CELL", "name": "Cell", "parent": "CMD-A", "members": ["lonely-planner"]}
    )
    assert response.status_code == 302
    assert Unit.objects.get(code="CMD-A-CELL").members.get().username == "lonely-planner"
    again = content(admin.post("/units/new/", {"code": "CMD-A-CELL", "name": "Again"}))
    assert "already exists" in again


# --- import and admin -----------------------------------------------------------------------------------------


def test_import_refuses_rows_of_other_units_one_by_one_with_the_reason(people, reference_data):
    rows = [good_row(title="Mine"), good_row(title="Theirs", owner_unit="CMD-B"), good_row(title="Default")]
    report = imports.engagements_import(handle=csv_file(rows), name="f.csv", user=people["office_planner"])
    assert [(e.line, e.column) for e in report.errors] == [(3, "owner_unit")]
    assert "you write only the engagements of your units" in report.errors[0].message
    lonely = imports.engagements_import(handle=csv_file(rows[:1]), name="f.csv", user=people["lonely_planner"])
    assert [e.message for e in lonely.errors] == [rules.NO_UNIT()]
    applied = imports.engagements_import(
        handle=csv_file([rows[0], rows[2]]), name="f.csv", user=people["office_planner"], dry_run=False
    )
    assert applied.applied
    assert set(Engagement.objects.values_list("owner_unit__code", flat=True)) == {"CMD-A-OFFICE"}


def test_updating_another_units_engagement_by_import_is_refused(people, reference_data):
    engagement = office_engagement(people, reference_data)
    row = good_row(reference=engagement.reference, title="Renamed by B")
    report = imports.engagements_import(handle=csv_file([row]), name="f.csv", user=people["other_planner"])
    assert [(e.line, e.column) for e in report.errors] == [(2, "owner_unit")]


def test_the_admin_offers_delete_only_in_scope(people, reference_data):
    engagement = office_engagement(people, reference_data)
    admin_class = site._registry[Engagement]
    request = RequestFactory().get("/")
    request.user = people["other_planner"]
    assert admin_class.has_delete_permission(request, engagement) is False
    request.user = people["office_planner"]
    assert admin_class.has_delete_permission(request, engagement) is True


@pytest.mark.parametrize("count", [3, 30])
def test_unit_lists_run_in_constant_queries(
    client_for, api_for, make_user, reference_data, django_assert_max_num_queries, count
):
    parent = UnitFactory(code="ROOT", name="Root")
    for n in range(count):
        unit = UnitFactory(code=f"U-{n}", name=f"Unit {n}", parent=parent)
        unit.members.add(make_user(f"member-{n}", "viewer"))
    viewer = make_user("counting-viewer", "viewer")
    client, api = client_for(viewer), api_for(viewer)
    with django_assert_max_num_queries(12):
        assert client.get("/units/").status_code == 200
    with django_assert_max_num_queries(12):
        body = api.get("/api/v1/units/", {"page_size": 500}).json()
    assert body["count"] >= count + 1
