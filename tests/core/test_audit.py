import datetime

import pytest

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
    assert "someone" in html and "<strong>first_name</strong>" in html
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
    with django_assert_max_num_queries(14) as small:
        client.get("/audit/", {"page_size": 100})
    for n in range(30):
        engagement = make_engagement(planner, title=f"Large {n}")
        services.engagement_update(engagement=engagement, updated_by=planner, title=f"Large {n} edited")
    with django_assert_max_num_queries(14) as large:
        client.get("/audit/", {"page_size": 100})
    assert len(large.captured_queries) <= len(small.captured_queries) + 2


def test_audit_csv(client_for, admin_user_role, planner, reference_data):
    make_engagement(planner)
    response = client_for(admin_user_role).get("/audit/", {"export": "csv", "model": "engagements.engagement"})
    text = b"".join(response.streaming_content).decode()
    assert "when,user,action,record_type" in text and "planner1,created,engagements.engagement" in text
