"""The list's count past ``LIST_EXACT_COUNT_LIMIT``: exact up to it, PostgreSQL's estimate past it
(``count_estimated``), pages still exact (every row once, "next" while rows remain), and a search's rank
dropped for the list's own order (core/paging.py, bench/README.md "Search, views and the list's default
order"). Small limits here stand in for the 10,000 of the settings."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagements import services
from tests.engagements.test_list_views import API, create, days, make_timeline, names

pytestmark = pytest.mark.django_db

LIST_ORDER = ["current_long", "current_short", "next_week", "in_100_days", "past_recent", "past_old"]


@pytest.fixture
def timeline(planner, make_user, reference_data):
    return make_timeline(planner, make_user)


@pytest.fixture
def searched(planner, reference_data):
    """Three "flintlock" engagements whose rank (title first) and start dates (latest first) differ."""
    return {
        "title": create(planner, "Flintlock main event", days(-300), days(-290)),
        "current": create(planner, "Staff talks", days(-1), days(2), description="Flintlock lessons"),
        "past": create(planner, "Review", days(-30), days(-20), description="Flintlock notes"),
    }


def walk(client, params, size):
    seen, page, bodies = [], 1, []
    while True:
        body = client.get(API, {**params, "page_size": size, "page": page}).json()
        bodies.append(body)
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            return seen, bodies
        page += 1
        assert page < 20


def test_count_is_exact_up_to_the_limit(settings, api_for, planner, timeline):
    settings.LIST_EXACT_COUNT_LIMIT = 6
    body = api_for(planner).get(API).json()
    assert body["count"] == 6 and body["count_estimated"] is False
    assert list(body)[:2] == ["count", "count_estimated"]


@pytest.mark.parametrize("size", [1, 2, 4, 5, 6])
def test_past_the_limit_the_count_is_estimated_and_pages_stay_exact(settings, api_for, planner, timeline, size):
    settings.LIST_EXACT_COUNT_LIMIT = 3
    seen, bodies = walk(api_for(planner), {}, size)
    assert seen == [timeline[name].pk for name in LIST_ORDER]  # every row once, in the list's order
    assert all(body["count_estimated"] is True for body in bodies)
    assert all(body["count"] > 3 for body in bodies)  # more than the limit, whatever the planner guessed
    # A page proves rows exist: the count is never below what the pages have shown.
    assert bodies[-1]["count"] >= len(seen)


def test_a_filtered_list_is_estimated_past_the_limit_too(settings, api_for, client_for, planner, timeline):
    # Counting a busy partner's engagements costs what reading them costs: filtered lists are estimated
    # past the limit like searches, and their pages stay exact.
    settings.LIST_EXACT_COUNT_LIMIT = 2
    exact = api_for(planner).get(API, {"view": "current", "page_size": 100}).json()
    settings.LIST_EXACT_COUNT_LIMIT = 1
    seen, bodies = walk(api_for(planner), {"view": "current"}, 1)
    assert seen == [row["id"] for row in exact["results"]] and len(seen) == 2
    assert all(body["count_estimated"] is True and body["count"] >= 2 for body in bodies)
    html = client_for(planner).get("/engagements/", {"view": "current"}).content.decode()
    assert "About" in html or "More than" in html


def test_past_the_end_of_an_estimated_count(settings, api_for, client_for, planner, timeline):
    settings.LIST_EXACT_COUNT_LIMIT = 3
    assert api_for(planner).get(API, {"page": 99}).status_code == 404
    assert api_for(planner).get(API, {"page": 0}).status_code == 404
    html = client_for(planner).get("/engagements/", {"page": 99}).content.decode()
    assert "Current long" in html  # the page falls back to the first page


def test_search_is_ranked_up_to_the_limit(settings, api_for, planner, searched):
    settings.LIST_EXACT_COUNT_LIMIT = 3
    body = api_for(planner).get(API, {"q": "flintlock"}).json()
    assert body["count"] == 3 and body["count_estimated"] is False
    assert names(api_for(planner).get(API, {"q": "flintlock"}), searched) == ["title", "current", "past"]


def test_past_the_limit_a_search_is_listed_latest_start_first(settings, api_for, planner, searched):
    settings.LIST_EXACT_COUNT_LIMIT = 2
    client = api_for(planner)
    body = client.get(API, {"q": "flintlock"}).json()
    assert body["count_estimated"] is True and body["count"] >= 3
    assert names(client.get(API, {"q": "flintlock"}), searched) == ["current", "past", "title"]
    for size in (1, 2):
        seen, _ = walk(client, {"q": "flintlock"}, size)
        assert seen == [searched[name].pk for name in ("current", "past", "title")]
    # Every word must still match; a chosen order is kept.
    assert names(client.get(API, {"q": "flintlock notes"}), searched) == ["past"]
    assert names(client.get(API, {"q": "flintlock", "ordering": "title"}), searched) == ["title", "past", "current"]


def test_the_page_says_about_and_why_it_is_not_ranked(settings, client_for, planner, searched):
    client = client_for(planner)
    settings.LIST_EXACT_COUNT_LIMIT = 10
    exact = client.get("/engagements/", {"q": "flintlock", "page_size": 25}).content.decode()
    assert "3 engagements" in exact and "Too many matches to rank" not in exact
    assert "Page 1 of 1 (3 in all)" in exact
    settings.LIST_EXACT_COUNT_LIMIT = 2
    html = client.get("/engagements/", {"q": "flintlock"}).content.decode()
    assert "About " in html or "More than 2 engagements" in html
    assert "3 engagements" not in html
    assert "Too many matches to rank" in html
    assert ">Last<" not in html and "(3 in all)" not in html
    if "More than 2 engagements" in html:  # the planner expected no more than the limit: no page count
        assert "Page 1</span>" in html
    else:
        assert "Page 1 of about" in html
    chosen = client.get("/engagements/", {"q": "flintlock", "ordering": "title"}).content.decode()
    assert "Too many matches to rank" not in chosen  # an order was chosen: nothing was dropped


def test_estimated_lists_run_in_constant_queries(settings, api_for, planner, timeline, django_assert_max_num_queries):
    client = api_for(planner)
    settings.LIST_EXACT_COUNT_LIMIT = 100
    with CaptureQueriesContext(connection) as exact:
        assert client.get(API, {"q": "senegal"}).status_code == 200
    settings.LIST_EXACT_COUNT_LIMIT = 2
    for n in range(20):
        create(planner, f"Senegal more {n}", days(n - 10), days(n - 5))
    services.engagement_search_refresh()
    for query in ({}, {"q": "senegal"}, {"q": "senegal", "page": 2}):
        # At most three more than a ranked search counted exactly: the EXPLAIN, and the planner settings of
        # an unranked search's page (set, and reset inside the test's transaction).
        with django_assert_max_num_queries(len(exact) + 3):
            body = client.get(API, {**query, "page_size": 5}).json()
        assert body["count_estimated"] is True


def test_the_schema_describes_count_estimated(api_for, viewer):
    schema = api_for(viewer).get("/api/schema/", {"format": "json"}).json()
    page = schema["components"]["schemas"]["PaginatedEngagementList"]
    assert page["properties"]["count_estimated"]["type"] == "boolean"
    assert "count_estimated" in page["required"]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_a_ranked_search_is_counted_and_paged_in_one_statement(settings, api_for, planner, searched, size):
    """Below the limit the count and the page's ids come from one ranked statement (core.paging): every page
    in rank order, the same as the search's order without the limit; past the last page, a 404."""
    settings.LIST_EXACT_COUNT_LIMIT = 10
    client = api_for(planner)
    with CaptureQueriesContext(connection) as queries:
        seen, bodies = walk(client, {"q": "flintlock"}, size)
    assert seen == [searched[name].pk for name in ("title", "current", "past")]
    assert all(body["count"] == 3 and body["count_estimated"] is False for body in bodies)
    assert sum("COUNT(*) OVER ()" in q["sql"] for q in queries.captured_queries) == len(bodies)
    assert client.get(API, {"q": "flintlock", "page_size": size, "page": 9}).status_code == 404


@pytest.mark.parametrize("expected", [1, 1_000_000])
def test_a_search_expected_past_the_limit_is_counted_before_it_is_ranked(
    settings, monkeypatch, api_for, planner, searched, expected
):
    """When the planner expects more matches than the limit, they are counted first without their rank (which
    would be dropped); an estimate that was too high only costs that count: the matches are then ranked as
    usual. The answers are the same whatever the planner expected."""
    import core.paging

    client = api_for(planner)
    monkeypatch.setattr(core.paging, "planner_rows", lambda queryset: expected)
    settings.LIST_EXACT_COUNT_LIMIT = 10
    with CaptureQueriesContext(connection) as queries:
        body = client.get(API, {"q": "flintlock"}).json()
    assert sum("COUNT(*) OVER ()" in q["sql"] for q in queries.captured_queries) == 1  # ranked, whatever expected
    assert body["count"] == 3 and body["count_estimated"] is False
    assert names(client.get(API, {"q": "flintlock"}), searched) == ["title", "current", "past"]
    settings.LIST_EXACT_COUNT_LIMIT = 2
    with CaptureQueriesContext(connection) as queries:
        body = client.get(API, {"q": "flintlock"}).json()
    ranked = sum("COUNT(*) OVER ()" in q["sql"] for q in queries.captured_queries)
    assert ranked == (0 if expected > 2 else 1)  # expected past the limit: never ranked
    assert body["count_estimated"] is True and body["count"] == max(expected, 3)
    assert [row["id"] for row in body["results"]] == [searched[name].pk for name in ("current", "past", "title")]
