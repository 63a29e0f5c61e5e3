import csv
import datetime
import io
import re
from html import unescape

import pytest

from assessments.services import indicator_create, measurement_create, objective_create, objective_delete
from engagements import services

pytestmark = pytest.mark.django_db


def make_engagement(user, **overrides):
    values = {
        "title": "Audit exercise",
        "engagement_type": "exercise",
        "domain": "land",
        "start_date": datetime.date(2025, 4, 1),
        "end_date": datetime.date(2025, 4, 5),
        "host_country": "SEN",
        "participants": [{"partner": "SEN", "role": "host", "personnel": 40}],
    }
    values.update(overrides)
    return services.engagement_create(created_by=user, **values).engagement


def test_admin_sees_who_changed_what(client_for, admin_user_role, planner, reference_data):
    engagement = make_engagement(planner)
    services.engagement_update(engagement=engagement, updated_by=planner, title="Audit exercise (renamed)")
    html = client_for(admin_user_role).get("/audit/", {"model": "engagements.engagement"}).content.decode()
    assert "planner1" in html
    assert "Audit exercise" in html and "Audit exercise (renamed)" in html
    assert "<strong>title</strong>" in html


def test_filters_by_user_action_and_date(client_for, admin_user_role, planner, make_user, reference_data):
    other = make_user("planner2", "planner")
    make_engagement(planner)
    engagement = make_engagement(
        other, title="Second", start_date=datetime.date(2025, 6, 1), end_date=datetime.date(2025, 6, 2)
    )
    services.engagement_delete(engagement=engagement, user=other, reason="Duplicate entry")
    client = client_for(admin_user_role)
    html = client.get(
        "/audit/", {"user": "planner2", "model": "engagements.engagement", "action": "~"}
    ).content.decode()
    assert "Duplicate entry" in html and "planner1" not in html
    empty = client.get("/audit/", {"since": "2001-01-01", "until": "2001-01-02"}).content.decode()
    assert "No entry matches these filters." in empty
    bad = client.get("/audit/", {"since": "2025-02-01", "until": "2025-01-01"})
    assert bad.status_code == 400 and "cannot be before its start" in bad.content.decode()


def test_user_accounts_are_audited_without_password_hashes(client_for, admin_user_role, make_user):
    user = make_user("someone", "viewer")
    user.first_name = "Renamed"
    user.save()
    html = client_for(admin_user_role).get("/audit/", {"model": "auth.user"}).content.decode()
    assert "someone (Renamed)" in html and "<strong>first name</strong>: — → Renamed" in html
    assert "md5$" not in html and "pbkdf2" not in html


@pytest.mark.parametrize("role", ["viewer", "analyst", "planner"])
def test_only_admins_see_the_audit_log(client_for, make_user, role):
    assert client_for(make_user(f"user-{role}", role)).get("/audit/").status_code == 403


def test_audit_page_queries_do_not_grow_with_entries(
    client_for, admin_user_role, planner, reference_data, django_assert_max_num_queries
):
    client = client_for(admin_user_role)
    for n in range(3):
        make_engagement(planner, title=f"Small {n}")
    with django_assert_max_num_queries(20) as small:
        client.get("/audit/", {"page_size": 100})
    for n in range(30):
        engagement = make_engagement(planner, title=f"Large {n}")
        services.engagement_update(engagement=engagement, updated_by=planner, title=f"Large {n} edited")
    with django_assert_max_num_queries(20) as large:
        client.get("/audit/", {"page_size": 100})
    assert len(large.captured_queries) <= len(small.captured_queries) + 2


def test_audit_csv(client_for, admin_user_role, planner, reference_data):
    make_engagement(planner)
    response = client_for(admin_user_role).get("/audit/", {"export": "csv", "model": "engagements.engagement"})
    text = b"".join(response.streaming_content).decode()
    assert "when,user,action,record_type" in text and "planner1,created,engagements.engagement" in text


# --- a readable page: names in the users' words, links, changes, no logins ------------------------------------


def rendered_rows(html: str) -> list[str]:
    """The page's table rows as text (tags gone, spaces squeezed), with each link kept as [text](href)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in body.split("</tr>")[:-1]:
        row = re.sub(r'<a href="([^"]+)">([^<]*)</a>', r"[\2](\1)", row)
        text = " ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split())
        rows.append(text.replace(" :", ":"))
    return rows


def test_rows_name_their_objects_and_link_to_their_pages(client_for, admin_user_role, planner, reference_data):
    engagement = make_engagement(
        planner,
        status="completed",
        participants=[{"partner": "SEN", "role": "host", "personnel": 40}, {"partner": "GHA", "personnel": 10}],
        after_action={"summary": "Fine.", "interoperability_rating": 4, "capacity_rating": 3, "trust_rating": 4},
    )
    ref, page = engagement.reference, f"/engagements/{engagement.pk}/"
    rows = rendered_rows(client_for(admin_user_role).get("/audit/").content.decode())
    assert any(f"Engagement [{ref} Audit exercise]({page})" in row for row in rows), rows
    assert any(f"Participation [Ghana in {ref}]({page})" in row for row in rows), rows
    assert any(f"Participation [Senegal in {ref}]({page})" in row for row in rows), rows
    assert any(f"After-action report [Report on {ref}]({page})" in row for row in rows), rows
    assert not any("engagements.participation" in row or "#" in row for row in rows), rows


def test_reference_and_assessment_data_are_named_and_linked(client_for, admin_user_role, analyst, reference_data):
    objective = objective_create(
        partner="KEN", line_of_effort="maritime_security", title="Patrol the coast", created_by=analyst
    )
    indicator = indicator_create(
        objective=objective, name="Patrol days", unit="days", baseline_value=10, target_value=60
    )
    measurement_create(indicator=indicator, date=datetime.date(2026, 3, 31), value=25, source="Navy report")
    client = client_for(admin_user_role)
    rows = rendered_rows(client.get("/audit/", {"page_size": 200}).content.decode())
    assert any(f"Objective [Patrol the coast (Kenya)](/assessments/objectives/{objective.pk}/)" in r for r in rows)
    indicator_page = f"/assessments/indicators/{indicator.pk}/"
    assert any(f"Indicator [Patrol days, for Patrol the coast]({indicator_page})" in r for r in rows), rows
    assert any(f"Measurement [Patrol days on 2026-03-31: 25]({indicator_page})" in r for r in rows), rows
    memberships = rendered_rows(client.get("/audit/", {"model": "organizations.membership"}).content.decode())
    assert any(
        re.search(
            r"Membership \[\w[\w' -]* in \w+ \((Member|Partner|Observer|Suspended|Withdrawn)\)\]"
            r"\(/organizations/\w+/\)",
            r,
        )
        for r in memberships
    ), memberships[:3]
    nations = rendered_rows(client.get("/audit/", {"model": "partners.partnernation"}).content.decode())
    assert nations and all(re.search(r"Partner nation \[[^]]+\]\(/partners/[A-Z]{3}/\)", r) for r in nations)


def test_deleted_objects_keep_their_names_without_a_link(client_for, admin_user_role, planner, analyst, reference_data):
    engagement = make_engagement(
        planner, participants=[{"partner": "SEN", "role": "host", "personnel": 40}, {"partner": "GHA"}]
    )
    services.engagement_update(
        engagement=engagement, updated_by=planner, participants=[{"partner": "SEN", "role": "host", "personnel": 40}]
    )
    objective = objective_create(partner="KEN", line_of_effort="maritime_security", title="Short-lived")
    objective_delete(objective=objective, user=analyst)
    ref = engagement.reference
    client = client_for(admin_user_role)
    rows = rendered_rows(client.get("/audit/").content.decode())
    removed = [r for r in rows if f"Ghana in {ref}" in r and " deleted " in f" {r} "]
    assert removed and "](" not in removed[0], rows
    kept = [r for r in rows if f"Senegal in {ref}" in r]
    assert kept and f"](/engagements/{engagement.pk}/)" in kept[0]
    gone = [r for r in rows if "Short-lived (Kenya)" in r]
    assert len(gone) == 2 and not any("](" in r for r in gone), gone  # created, then deleted

    services.engagement_delete(engagement=engagement, user=planner, reason="Entered twice")
    rows = rendered_rows(client.get("/audit/").content.decode())
    named = [r for r in rows if f"{ref} Audit exercise" in r or f" in {ref}" in r]
    assert named and not any("](" in r for r in named), named


def test_changes_read_as_old_and_new_values(client_for, admin_user_role, planner, reference_data):
    engagement = make_engagement(
        planner, organizations=["AU"], participants=[{"partner": "SEN", "role": "host", "personnel": 40}]
    )
    services.engagement_update(
        engagement=engagement, updated_by=planner, host_country="GHA", status="in_progress", organizations=["AU", "ECOWAS"]
    )
    rows = rendered_rows(
        client_for(admin_user_role).get("/audit/", {"model": "engagements.engagement", "action": "~"}).content.decode()
    )
    changes = [row.split("Audit exercise]", 1)[1] for row in rows]
    assert any("host country: Senegal → Ghana" in c and "status: Planned → In progress" in c for c in changes), rows
    # Frameworks are saved after the engagement itself: a row of their own, by acronym.
    assert any("frameworks: AU → AU, ECOWAS" in c for c in changes), rows
    assert any("frameworks: — → AU" in c for c in changes), rows
    assert all(c.strip() for c in changes), rows  # no "changed" row without a change
    assert not any("version" in c or "updated" in c for c in changes)


def test_logins_are_not_audited(client, client_for, admin_user_role, make_user):
    user = make_user("signs-in", "viewer")
    before = user.history.count()
    assert client.post("/accounts/login/", {"username": "signs-in", "password": "pw-for-tests-123"}).status_code == 302
    user.refresh_from_db()
    assert user.last_login is not None and user.history.count() == before
    user.first_name = "Still audited"
    user.save()
    assert user.history.count() == before + 1


def test_page_queries_stay_constant_with_every_kind_of_row(
    client_for, admin_user_role, planner, analyst, reference_data, django_assert_max_num_queries
):
    """Rows of every tracked model (reference data, engagements, participants, reports, assessment data and
    users), changed and deleted: the names, links and changes cost the same queries for 5 rows as for 200."""

    def add_rows(n: int, tag: str):
        for i in range(n):
            engagement = make_engagement(
                planner,
                title=f"{tag} {i}",
                status="completed",
                participants=[{"partner": "SEN", "role": "host", "personnel": 4}, {"partner": "GHA"}],
                after_action={"summary": "Ok.", "interoperability_rating": 3, "capacity_rating": 3, "trust_rating": 3},
            )
            services.engagement_update(engagement=engagement, updated_by=planner, title=f"{tag} {i} renamed")
            objective = objective_create(partner="KEN", line_of_effort="cyber_defense", title=f"{tag} {i}")
            indicator = indicator_create(objective=objective, name=f"{tag} {i}", baseline_value=0, target_value=9)
            measurement_create(indicator=indicator, date=datetime.date(2026, 1, 1), value=1, source="x")
            objective_delete(objective=objective, user=analyst)

    client = client_for(admin_user_role)
    add_rows(1, "Few")
    with django_assert_max_num_queries(40) as few:
        client.get("/audit/", {"page_size": 200})
    add_rows(15, "Many")
    with django_assert_max_num_queries(40) as many:
        html = client.get("/audit/", {"page_size": 200}).content.decode()
    rows = rendered_rows(html)
    assert len(rows) == 200 and not any("#" in row for row in rows), [r for r in rows if "#" in r][:3]
    assert len(many.captured_queries) <= len(few.captured_queries)


def test_csv_names_rows_as_the_page_does(client_for, admin_user_role, planner, reference_data):
    engagement = make_engagement(planner, participants=[{"partner": "SEN", "role": "host", "personnel": 40}])
    services.engagement_update(engagement=engagement, updated_by=planner, title="Renamed")
    client = client_for(admin_user_role)
    response = client.get("/audit/", {"export": "csv", "model": "engagements.engagement"})
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert [line["action"] for line in lines] == ["changed", "created"]
    changed = lines[0]
    assert changed["record"] == f"{engagement.reference} Renamed"
    assert changed["page"] == f"/engagements/{engagement.pk}/"
    assert changed["changes"] == "title: Audit exercise -> Renamed"
    page_rows = rendered_rows(client.get("/audit/", {"model": "engagements.engagement"}).content.decode())
    assert f"[{changed['record']}]({changed['page']})" in page_rows[0]


def test_every_tracked_model_says_how_its_records_read():
    """A model that gains history must also say how the audit log names it, or its rows read as bare ids."""
    from core.audit import audit_subject_models, history_models

    assert set(history_models()) - audit_subject_models() == set()
