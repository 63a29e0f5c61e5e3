"""The inbox pages: own notifications only, marking read, the header's unread count in one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications import services
from notifications.choices import Delivery, NotificationKind
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def _notify(user, n, url="/engagements/"):
    return services.notifications_create(
        kind=NotificationKind.REPORT_DUE, key=f"k:{n}", recipient_ids=[user.pk], title=f"Report {n} due", url=url
    )[0]


def test_inbox_lists_own_notifications_and_the_header_counts_unread(client, make_user):
    me, other = make_user("me", "planner"), make_user("other", "planner")
    for n in range(3):
        _notify(me, n)
    _notify(other, 99)
    client.force_login(me)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert "Report 0 due" in page and "Report 2 due" in page and "Report 99 due" not in page
    assert 'data-unread="3"' in page


def test_the_header_count_is_one_query_however_many_notifications(client, make_user):
    me = make_user("me", "planner")
    client.force_login(me)
    url = reverse("partners:list")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    _notify(me, 0)
    few = queries()
    for n in range(1, 30):
        _notify(me, n)
    many = queries()
    assert len(many) == len(few)
    assert sum("notifications_notification" in sql for sql in many) == 1


def test_opening_marks_read_and_goes_to_the_page(client, make_user):
    me, other = make_user("me", "planner"), make_user("other", "planner")
    pk = _notify(me, 1, url="/engagements/calendar/")
    theirs = _notify(other, 2)
    client.force_login(me)
    response = client.post(reverse("notifications:open", args=[pk]))
    assert response.status_code == 302 and response["Location"] == "/engagements/calendar/"
    assert Notification.objects.get(pk=pk).read_at is not None
    assert client.post(reverse("notifications:open", args=[theirs])).status_code == 404
    assert client.post(reverse("notifications:read", args=[theirs])).status_code == 404
    assert Notification.objects.get(pk=theirs).read_at is None


def test_an_outside_link_is_never_followed(client, make_user):
    me = make_user("me", "planner")
    pk = _notify(me, 1, url="//evil.example.org/")
    client.force_login(me)
    assert client.post(reverse("notifications:open", args=[pk]))["Location"] == reverse("notifications:inbox")


def test_mark_all_read(client, make_user):
    me = make_user("me", "planner")
    for n in range(3):
        _notify(me, n)
    client.force_login(me)
    client.post(reverse("notifications:read-all"))
    assert not Notification.objects.filter(recipient=me, read_at__isnull=True).exists()
    assert "data-unread" not in client.get(reverse("notifications:inbox")).content.decode()


def test_settings_page_saves_choices_and_shows_errors(client, make_user):
    me = make_user("me", "analyst")
    client.force_login(me)
    assert client.get(reverse("notifications:settings")).status_code == 200
    data = dict.fromkeys(NotificationKind.values, Delivery.DIGEST)
    data[NotificationKind.APPROVAL_REQUESTED] = Delivery.NONE
    assert client.post(reverse("notifications:settings"), data).status_code == 302
    assert me.notification_preferences.get(kind=NotificationKind.APPROVAL_REQUESTED).delivery == Delivery.NONE
    data[NotificationKind.REPORT_DUE] = "hourly"
    response = client.post(reverse("notifications:settings"), data)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_follow_and_unfollow_buttons(client, make_user):
    me = make_user("me", "analyst")
    client.force_login(me)
    client.post(reverse("notifications:follow"), {"organization": "ECOWAS"})
    client.post(reverse("notifications:follow"), {"region": "Africa"})
    page = client.get(reverse("notifications:settings")).content.decode()
    assert "Unfollow ECOWAS" in page and "Unfollow Africa" in page
    client.post(reverse("notifications:unfollow"), {"organization": "ECOWAS", "next": "/assessments/"})
    assert list(me.follows.values_list("region", flat=True)) == ["Africa"]
    assert client.post(reverse("notifications:follow"), {"organization": "NOPE"}).status_code == 404


def test_follow_from_the_region_and_organization_pages(client, make_user):
    me = make_user("me", "analyst")
    client.force_login(me)
    page = client.get(reverse("assessments:organization", args=["ECOWAS"])).content.decode()
    assert "Follow its alerts" in page
    response = client.post(
        reverse("notifications:follow"), {"organization": "ECOWAS", "next": "/assessments/organizations/ECOWAS/"}
    )
    assert response["Location"] == "/assessments/organizations/ECOWAS/"
    assert "Unfollow" in client.get(reverse("assessments:organization", args=["ECOWAS"])).content.decode()
    page = client.get(reverse("assessments:region", args=["africa"])).content.decode()
    assert 'name="region" value="Africa"' in page


def test_the_inbox_runs_in_constant_queries(client, make_user):
    me = make_user("me", "planner")
    client.force_login(me)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("notifications:inbox")).status_code == 200
        return len(captured.captured_queries)

    _notify(me, 0)
    count()  # the session and permissions, cached from then on
    few = count()
    for n in range(1, 40):
        _notify(me, n)
    assert count() == few
