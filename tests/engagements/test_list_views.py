"""The list's views (current, upcoming, mine, recently changed), its default order, saved filters (pages and
API, per role, validation) and the page jump."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import services
from engagements.models import Engagement, SavedFilter
from tests.engagements.factories import EngagementFactory

pytestmark = pytest.mark.django_db

D = datetime.date
API = "/api/v1/engagements/"
SAVED_API = "/api/v1/engagements/saved-filters/"


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def create(user, title, start, end, **extra):
    return services.engagement_create(
        created_by=user,
        title=title,
        engagement_type="exercise",
        domain="land",
        start_date=start,
        end_date=end,
        host_country="SEN",
        **extra,
    ).engagement


@pytest.fixture
def timeline(planner, make_user, reference_data):
    return make_timeline(planner, make_user)


def make_timeline(planner, make_user):
    """Two past, two current and two coming engagements, created by two planners."""
    other = make_user("planner2", "planner")
    return {
        "past_old": create(other, "Past old", days(-400), days(-390)),
        "past_recent": create(other, "Past recent", days(-20), days(-10)),
        "current_long": create(planner, "Current long", days(-60), days(60)),
        "current_short": create(other, "Current short", days(-1), days(2)),
        "next_week": create(planner, "Next week", days(7), days(9)),
        "in_100_days": create(other, "In 100 days", days(100), days(101)),
    }


def names(response, timeline):
    assert response.status_code == 200, response.content[:300]
    by_pk = {e.pk: name for name, e in timeline.items()}
    return [by_pk[row["id"]] for row in response.json()["results"]]


def test_default_order_is_current_and_upcoming_by_start_then_past_most_recent_first(api_for, planner, timeline):
    assert names(api_for(planner).get(API), timeline) == [
        "current_long",
        "current_short",
        "next_week",
        "in_100_days",
        "past_recent",
        "past_old",
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_default_order_pages_straddling_current_and_past_neither_repeat_nor_skip(api_for, planner, timeline, size):
    """The paginator finds current-and-coming rows and past rows with two queries (core.paging.SplitOrder);
    every page size cuts between them somewhere."""
    seen, page = [], 1
    while True:
        body = api_for(planner).get(API, {"page_size": size, "page": page}).json()
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            break
        page += 1
    expected = ["current_long", "current_short", "next_week", "in_100_days", "past_recent", "past_old"]
    assert seen == [timeline[name].pk for name in expected]


@pytest.mark.parametrize(
    "view, expected",
    [
        ("current", ["current_long", "current_short"]),
        ("upcoming", ["next_week"]),  # within 90 days; not the one in 100 days
        ("mine", ["current_long", "next_week"]),  # created by planner1
    ],
)
def test_views(api_for, planner, timeline, view, expected):
    assert names(api_for(planner).get(API, {"view": view}), timeline) == expected


def test_recently_changed_view_puts_the_latest_change_first(api_for, planner, timeline):
    Engagement.objects.filter(pk=timeline["past_old"].pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=40)
    )
    services.engagement_update(engagement=timeline["past_recent"], updated_by=planner, title="Past recent (edited)")
    found = names(api_for(planner).get(API, {"view": "recent"}), timeline)
    assert found[0] == "past_recent"
    assert "past_old" not in found  # changed 40 days ago: not recent
    assert len(found) == 5


def test_an_unknown_view_is_an_error_beside_its_field(api_for, client_for, planner, timeline):
    response = api_for(planner).get(API, {"view": "someday"})
    assert response.status_code == 400 and "view" in response.json()["errors"]
    page = client_for(planner).get("/engagements/", {"view": "someday"})
    assert page.status_code == 400
    assert 'data-for="view"' in page.content.decode()


def test_list_page_offers_the_views_as_tabs(client_for, planner, timeline):
    html = client_for(planner).get("/engagements/", {"view": "current"}).content.decode()
    assert 'href="?view=upcoming"' in html and 'href="?view=mine"' in html and 'href="?view=recent"' in html
    assert 'href="?view=current" aria-current="page"' in html
    assert "Current long" in html and "Next week" not in html


def test_mine_for_a_viewer_who_created_nothing_is_empty(api_for, viewer, timeline):
    assert names(api_for(viewer).get(API, {"view": "mine"}), timeline) == []


# --- the listing index serves the default order -------------------------------------------------------------


def test_list_and_views_run_in_constant_queries(client_for, planner, timeline, django_assert_max_num_queries):
    client = client_for(planner)
    services.saved_filter_create(owner=planner, name="Senegal", query="q=senegal")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/engagements/", {"view": "upcoming"}).status_code == 200
    for n in range(40):
        EngagementFactory(title=f"More {n}", start_date=days(n - 20), end_date=days(n - 10), created_by=planner)
    for n in range(5):
        services.saved_filter_create(owner=planner, name=f"Filter {n}", query=f"q=word{n}")
    for query in ({}, {"view": "current"}, {"view": "mine"}, {"view": "recent"}, {"q": "more senegal"}):
        with django_assert_max_num_queries(len(few)):
            assert client.get("/engagements/", query).status_code == 200


# --- page jump ----------------------------------------------------------------------------------------------


def test_page_jump_form_keeps_the_filters(client_for, planner, reference_data):
    for n in range(60):
        EngagementFactory(title=f"Row {n}", start_date=D(2020, 1, 1) + datetime.timedelta(days=n))
    html = client_for(planner).get("/engagements/", {"page_size": 25, "status": "planned", "page": 2}).content.decode()
    jump = html[html.index('class="page-jump"') :]
    jump = jump[: jump.index("</form>")]
    assert '<input type="hidden" name="page_size" value="25">' in jump
    assert '<input type="hidden" name="status" value="planned">' in jump
    assert 'name="page" min="1" max="3" value="2"' in jump
    assert "Page 3 of 3" in client_for(planner).get("/engagements/", {"page_size": 25, "page": 3}).content.decode()
    # Beyond the last page: the last page, not an error.
    assert "Page 3 of 3" in client_for(planner).get("/engagements/", {"page_size": 25, "page": 99}).content.decode()


# --- saved filters: service -------------------------------------------------------------------------------


def test_saved_filter_keeps_only_the_lists_parameters(planner, reference_data):
    saved = services.saved_filter_create(
        owner=planner, name=" Sahel ", query="?q=sahel&status=planned&page=4&export=csv&page_size=100"
    )
    assert (saved.name, saved.query, saved.shared) == ("Sahel", "q=sahel&status=planned&page_size=100", False)


@pytest.mark.parametrize(
    "query, message",
    [
        ("status=bogus", "Status: Select a valid choice"),
        ("view=someday", "View: Select a valid choice"),
        ("start_after=notadate", "Starts on or after: Enter a valid date"),
        ("colour=red", "Not a filter of the engagement list: colour"),
        ("", "nothing to save"),
        ("page=2", "nothing to save"),
    ],
)
def test_saved_filter_refuses_bad_filters_with_a_message_for_the_field(planner, reference_data, query, message):
    with pytest.raises(services.InputError) as caught:
        services.saved_filter_create(owner=planner, name="Bad", query=query)
    assert message in " ".join(caught.value.message_dict["query"])
    assert not SavedFilter.objects.exists()


def test_saved_filter_names_are_unique_per_owner(planner, analyst, reference_data):
    services.saved_filter_create(owner=planner, name="Sahel", query="q=sahel")
    with pytest.raises(services.InputError) as caught:
        services.saved_filter_create(owner=planner, name="sahel", query="q=mali")
    assert "already have" in caught.value.message_dict["name"][0]
    services.saved_filter_create(owner=analyst, name="Sahel", query="q=niger")  # another owner may


# --- saved filters: pages ---------------------------------------------------------------------------------


def test_save_from_the_list_page_then_apply_and_delete(client_for, planner, timeline):
    client = client_for(planner)
    html = client.get("/engagements/", {"view": "current", "q": "current"}).content.decode()
    assert 'name="query" value="q=current&amp;view=current"' in html or 'value="view=current&amp;q=current"' in html
    response = client.post("/engagements/saved-filters/", {"name": "Now", "query": "view=current&q=current"})
    saved = SavedFilter.objects.get(owner=planner, name="Now")
    assert response.status_code == 302 and response["Location"] == "/engagements/?view=current&q=current"
    listed = client.get("/engagements/").content.decode()
    assert f'href="/engagements/saved-filters/{saved.pk}/"' in listed
    applied = client.get(f"/engagements/saved-filters/{saved.pk}/")
    assert applied.status_code == 302 and applied["Location"] == "/engagements/?view=current&q=current"
    assert client.post(f"/engagements/saved-filters/{saved.pk}/delete/").status_code == 302
    assert not SavedFilter.objects.exists()


def test_save_page_shows_errors_beside_the_fields(client_for, planner, reference_data):
    response = client_for(planner).post("/engagements/saved-filters/", {"name": "", "query": "status=bogus"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-for="id_name"' in html and 'data-for="id_query"' in html
    assert "Select a valid choice" in html
    assert not SavedFilter.objects.exists()


def test_saved_filters_per_role_private_shared_and_owner_only_delete(client_for, make_user, planner, reference_data):
    viewer = make_user("viewer9", "viewer")
    private = services.saved_filter_create(owner=planner, name="Private", query="q=secret")
    shared = services.saved_filter_create(owner=planner, name="Shared", query="q=open", shared=True)
    client = client_for(viewer)
    html = client.get("/engagements/").content.decode()
    assert "Shared" in html and "shared by planner1" in html and "Private" not in html
    assert client.get(f"/engagements/saved-filters/{private.pk}/").status_code == 404
    assert client.get(f"/engagements/saved-filters/{shared.pk}/").status_code == 302
    assert client.post(f"/engagements/saved-filters/{shared.pk}/delete/").status_code == 403
    assert client.post(f"/engagements/saved-filters/{private.pk}/delete/").status_code == 404
    assert SavedFilter.objects.count() == 2
    # A viewer keeps filters too (reading is all they do).
    assert client.post("/engagements/saved-filters/", {"name": "Mine", "query": "status=planned"}).status_code == 302


# --- saved filters: API -----------------------------------------------------------------------------------


def test_saved_filter_api(api_for, planner, make_user, reference_data):
    viewer = make_user("viewer9", "viewer")
    created = api_for(planner).post(SAVED_API, {"name": "Sahel", "query": "q=sahel&status=planned"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["list_url"] == "/engagements/?q=sahel&status=planned" and body["is_mine"] is True
    assert body["owner"] == "planner1" and body["shared"] is False
    pk = body["id"]
    assert api_for(viewer).get(f"{SAVED_API}{pk}/").status_code == 404  # private
    shared = api_for(planner).patch(f"{SAVED_API}{pk}/", {"shared": True}, format="json")
    assert shared.status_code == 200 and shared.json()["shared"] is True
    assert [row["name"] for row in api_for(viewer).get(SAVED_API).json()["results"]] == ["Sahel"]
    assert api_for(viewer).get(f"{SAVED_API}{pk}/").json()["is_mine"] is False
    assert api_for(viewer).patch(f"{SAVED_API}{pk}/", {"name": "Mine now"}, format="json").status_code == 403
    assert api_for(viewer).delete(f"{SAVED_API}{pk}/").status_code == 403
    assert api_for(planner).delete(f"{SAVED_API}{pk}/").status_code == 204
    assert not SavedFilter.objects.exists()


def test_saved_filter_api_refuses_bad_filters_with_field_messages(api_for, planner, reference_data):
    response = api_for(planner).post(SAVED_API, {"name": "", "query": "status=bogus&colour=red"}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "name" in errors and "query" in errors
    assert not SavedFilter.objects.exists()


def test_saved_filter_api_refuses_anonymous(client, reference_data):
    assert client.get(SAVED_API).status_code in (401, 403)
