"""The partner filter's two plans (engagements.filtersets.filter_partner): a partner with at least
``LIST_PARTNER_PROBE_FROM`` participations is found by probing each engagement in the list's order
(``EXISTS``), a rarer one by reading its engagement ids first (``id = ANY(ARRAY(...))``). Both must give the
same rows, pages and counts, whether counted exactly or estimated past ``LIST_EXACT_COUNT_LIMIT``."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagements.filtersets import partners_taking_part
from engagements.models import Participation
from tests.engagements.factories import EngagementFactory, ParticipationFactory, partner
from tests.engagements.test_list_views import API, days

pytestmark = pytest.mark.django_db

BUSY, RARE = 1, 10**9  # LIST_PARTNER_PROBE_FROM: every partner probed, or every partner's ids read first


@pytest.fixture
def world(reference_data, planner):
    """GHA in most engagements (past, current, coming; some completed, one deleted, one restricted),
    SYC in three, USA in one past engagement together with GHA."""
    gha, syc, usa = partner("GHA"), partner("SYC"), partner("USA")
    made = []
    for n in range(24):
        start = days(-300 + 17 * n)
        engagement = EngagementFactory(
            title=f"Row {n}",
            start_date=start,
            end_date=start + datetime.timedelta(days=n % 5),
            status="completed" if n % 3 == 0 and start < days(-10) else "planned",
            sensitivity="restricted" if n == 5 else "unclassified",
            deleted_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC) if n == 7 else None,
        )
        made.append(engagement)
        if n % 4 != 3:
            ParticipationFactory(engagement=engagement, partner=gha)
        if n in (2, 11, 19):
            ParticipationFactory(engagement=engagement, partner=syc)
    ParticipationFactory(engagement=made[4], partner=usa)
    return made


def walk(client, params, size):
    seen, bodies, page = [], [], 1
    while True:
        body = client.get(API, {**params, "page_size": size, "page": page}).json()
        bodies.append(body)
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            return seen, [(b["count"], b["count_estimated"]) for b in bodies]
        page += 1
        assert page < 40


QUERIES = [
    {"partner": "GHA"},
    {"partner": "syc"},
    {"partner": "GHA,SYC"},
    {"partner": ["SYC", "USA"]},
    {"partner": "GHA", "status": "completed"},
    {"partner": "GHA", "view": "current"},
    {"partner": "GHA", "ordering": "title"},
    {"partner": "GHA", "q": "row"},
    {"partner": "XXX"},
]


@pytest.mark.parametrize("limit", [10_000, 3])
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()))
def test_both_plans_give_the_same_pages_and_counts(settings, api_for, viewer, world, query, limit):
    settings.LIST_EXACT_COUNT_LIMIT = limit
    client = api_for(viewer)
    answers = {}
    for probe_from in (BUSY, RARE):
        settings.LIST_PARTNER_PROBE_FROM = probe_from
        answers[probe_from] = [walk(client, query, size) for size in (2, 5, 100)]
    assert answers[BUSY] == answers[RARE]
    # And what the rows are: the viewer sees neither the restricted nor the deleted engagement.
    given = query["partner"] if isinstance(query["partner"], list) else [query["partner"]]
    codes = {code.upper() for value in given for code in value.split(",")}
    matching = set(
        Participation.objects.filter(partner__iso3__in=codes, engagement__deleted_at=None)
        .exclude(engagement__sensitivity="restricted")
        .values_list("engagement_id", flat=True)
    )
    seen = answers[RARE][2][0]
    assert len(seen) == len(set(seen))
    if set(query) == {"partner"}:
        assert set(seen) == matching and (matching or query["partner"] == "XXX")
    else:
        assert set(seen) <= matching


PROBED = 'EXISTS(SELECT 1 AS "a" FROM "engagements_participation"'
IDS_FIRST = '= ANY(ARRAY(SELECT U0."engagement_id"'


@pytest.mark.parametrize("probe_from, form, not_form", [(BUSY, PROBED, IDS_FIRST), (RARE, IDS_FIRST, PROBED)])
def test_the_plan_follows_the_partners_participations(settings, api_for, viewer, world, probe_from, form, not_form):
    settings.LIST_PARTNER_PROBE_FROM = probe_from
    with CaptureQueriesContext(connection) as queries:
        assert api_for(viewer).get(API, {"partner": "GHA"}).status_code == 200
    listed = [q["sql"] for q in queries.captured_queries if "engagements_engagement" in q["sql"]]
    assert any(form in sql for sql in listed)
    assert not any(not_form in sql for sql in listed)


def test_busy_means_at_least_that_many_participations(world):
    gha = Participation.objects.filter(partner__iso3="GHA").count()
    ids, busy = partners_taking_part(["GHA"], gha, using="default")
    assert ids == [partner("GHA").pk] and busy is True
    assert partners_taking_part(["GHA"], gha + 1, using="default") == ([partner("GHA").pk], False)
    # Together: GHA and SYC's participations add up.
    assert partners_taking_part(["GHA", "SYC"], gha + 3, using="default")[1] is True
    assert partners_taking_part(["XXX"], 1, using="default") == ([], False)
    assert partners_taking_part(["G\x00H"], 1, using="default") == ([], False)


@pytest.mark.parametrize("probe_from", [BUSY, RARE])
def test_a_partner_filtered_list_runs_in_constant_queries(
    settings, api_for, client_for, viewer, world, probe_from, django_assert_max_num_queries
):
    settings.LIST_PARTNER_PROBE_FROM = probe_from
    settings.LIST_EXACT_COUNT_LIMIT = 3
    client = api_for(viewer)
    with CaptureQueriesContext(connection) as few:
        assert client.get(API, {"partner": "SYC", "page_size": 2}).status_code == 200
    for n in range(30):
        ParticipationFactory(
            engagement=EngagementFactory(title=f"More {n}", start_date=days(n - 40)), partner=partner("SYC")
        )
    for query in ({"partner": "SYC"}, {"partner": "SYC", "page": 2}, {"partner": "SYC,GHA", "status": "completed"}):
        with django_assert_max_num_queries(len(few)):
            assert client.get(API, {**query, "page_size": 10}).status_code == 200
    page = client_for(viewer)
    page.get("/engagements/", {"partner": "SYC"})
    with CaptureQueriesContext(connection) as html:
        assert page.get("/engagements/", {"partner": "SYC"}).status_code == 200
    with django_assert_max_num_queries(len(html)):
        assert page.get("/engagements/", {"partner": "SYC,GHA", "page_size": 100}).status_code == 200
