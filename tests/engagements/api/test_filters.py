"""Filters, ordering and paging of /api/v1/engagements/, and its constant number of queries."""

import datetime

import pytest

from engagements.models import AfterActionReport, Engagement, Participation
from organizations.models import Organization
from partners.models import PartnerNation
from tests.engagements.factories import EngagementFactory, ExerciseSeriesFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/engagements/"
D = datetime.date


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, ["sentinel", "lion", "advisers"]),
        ({"engagement_type": "exercise"}, ["lion"]),
        ({"engagement_type": ["exercise", "advisory_mission"]}, ["lion", "advisers"]),
        ({"status": "planned"}, ["sentinel"]),
        ({"domain": "maritime"}, ["sentinel"]),
        ({"partner": "usa"}, ["lion"]),
        ({"partner": "USA,FRA"}, ["lion", "advisers"]),
        ({"organization": "nato"}, ["sentinel"]),
        ({"organization": "AU,EU"}, ["sentinel", "lion"]),
        ({"host_country": "sen"}, ["advisers"]),
        ({"series": "african-lion"}, ["lion"]),
        ({"start_after": "2025-01-01"}, ["sentinel", "lion"]),
        ({"start_before": "2025-05-04"}, ["lion", "advisers"]),
        ({"start_after": "2025-01-01", "start_before": "2025-06-01"}, ["lion"]),
        ({"q": "tallinn"}, ["sentinel"]),
        ({"q": "tan-tan"}, ["lion"]),
        ({"ordering": "date"}, ["advisers", "lion", "sentinel"]),
        ({"ordering": "-date"}, ["sentinel", "lion", "advisers"]),
        ({"ordering": "title"}, ["lion", "sentinel", "advisers"]),
        ({"ordering": "status"}, ["advisers", "lion", "sentinel"]),
        ({"ordering": "-status,title"}, ["sentinel", "lion", "advisers"]),
    ],
)
def test_filters_and_ordering(api_for, viewer, three, params, expected):
    assert ids(api_for(viewer).get(URL, params)) == [three[name].pk for name in expected]


def test_reference_search_is_exact(api_for, viewer, three):
    assert ids(api_for(viewer).get(URL, {"q": three["lion"].reference})) == [three["lion"].pk]
    assert ids(api_for(viewer).get(URL, {"q": f" {three['lion'].reference.lower()} "})) == [three["lion"].pk]


def test_search_has_a_stored_document_under_a_gin_index_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the stored search document exists on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'engagements_engagement'")
        found = dict(cursor.fetchall())
        cursor.execute(
            "SELECT is_generated FROM information_schema.columns "
            "WHERE table_name = 'engagements_engagement' AND column_name = 'search_vector'"
        )
        assert cursor.fetchone() == ("ALWAYS",)
        cursor.execute("SELECT extname FROM pg_extension WHERE extname = 'unaccent'")
        assert cursor.fetchone() == ("unaccent",)
    assert "gin (search_vector)" in found["engagement_search"]
    assert not any(name.endswith("_trgm") for name in found)  # the old substring search's indexes are gone


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "bogus"}, "status"),
        ({"engagement_type": "party"}, "engagement_type"),
        ({"domain": "sea"}, "domain"),
        ({"start_after": "yesterday"}, "start_after"),
        ({"start_before": "2025-13-01"}, "start_before"),
        ({"ordering": "budget"}, "ordering"),
        ({"sensitivity": "secret"}, "sensitivity"),
        ({"q": "a\x00b"}, "q"),
        ({"aar_overdue": "maybe"}, "aar_overdue"),
    ],
)
def test_bad_filter_values_are_400_with_the_field(api_for, viewer, three, params, field):
    response = api_for(viewer).get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["errors"][field]


def test_unknown_codes_filter_to_nothing(api_for, viewer, three):
    api = api_for(viewer)
    assert ids(api.get(URL, {"partner": "ZZZ"})) == []
    assert ids(api.get(URL, {"organization": "NOPE"})) == []
    assert ids(api.get(URL, {"series": "nothing"})) == []


def test_paging(api_for, viewer, three):
    api = api_for(viewer)
    first = api.get(URL, {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["previous"] is None
    second = api.get(first["next"]).json()
    assert [row["id"] for row in first["results"] + second["results"]] == [
        three[name].pk for name in ("sentinel", "lion", "advisers")
    ]
    assert second["next"] is None and second["previous"]
    for page in ("abc", "0", "9"):
        response = api.get(URL, {"page": page})
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    # Nonsense page sizes fall back to the default instead of failing.
    assert api.get(URL, {"page_size": "lots"}).json()["count"] == 3


@pytest.fixture
def many(reference_data, planner):
    """600 engagements (one in ten restricted) with two participants, two frameworks and some reports each."""
    partners = list(PartnerNation.objects.filter(iso3__in=["USA", "FRA", "SEN", "MAR"]).order_by("iso3"))
    organizations = list(Organization.objects.filter(acronym__in=["AU", "NATO", "EU"]).order_by("acronym"))
    lion = ExerciseSeriesFactory(slug="african-lion", name="African Lion")
    engagements = Engagement.objects.bulk_create(
        [
            EngagementFactory.build(
                title=f"Exercise {n}",
                host_country=partners[n % 4],
                start_date=D(2020, 1, 1) + datetime.timedelta(days=n),
                end_date=D(2020, 1, 5) + datetime.timedelta(days=n),
                sensitivity="restricted" if n % 10 == 0 else "unclassified",
                status="completed",
                series=lion if n % 2 else None,
            )
            for n in range(600)
        ]
    )
    Participation.objects.bulk_create(
        [
            Participation(engagement=engagement, partner=partners[(n + k) % 4], personnel=10 * k)
            for n, engagement in enumerate(engagements)
            for k in range(2)
        ]
    )
    through = Engagement.organizations.through
    through.objects.bulk_create(
        [
            through(engagement=engagement, organization=organizations[(n + k) % 3])
            for n, engagement in enumerate(engagements)
            for k in range(2)
        ]
    )
    AfterActionReport.objects.bulk_create(
        [
            AfterActionReport(
                engagement=engagement,
                summary="Done.",
                interoperability_rating=3,
                capacity_rating=3,
                trust_rating=3,
                submitted_by=planner,
                submitted_at=datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC),
            )
            for engagement in engagements[::5]
        ]
    )
    return engagements


@pytest.mark.parametrize("role", ["viewer", "planner"])
@pytest.mark.parametrize("page_size", [10, 100, 500])
def test_list_queries_are_constant(api_for, make_user, many, django_assert_max_num_queries, page_size, role):
    api = api_for(make_user(f"{role}-q", role))
    # Permissions (2), count, page, participants, organizations: the same for any page size.
    with django_assert_max_num_queries(7):
        response = api.get(URL, {"page_size": page_size, "ordering": "title"})
    body = response.json()
    assert len(body["results"]) == page_size
    assert body["count"] == (540 if role == "viewer" else 600)
    assert all(len(row["participants"]) == 2 and len(row["organizations"]) == 2 for row in body["results"])
    assert any(row["after_action"] for row in body["results"])


def test_page_size_is_clipped_to_500(api_for, planner, many):
    body = api_for(planner).get(URL, {"page_size": 100000}).json()
    assert body["count"] == 600 and len(body["results"]) == 500 and body["next"]


def test_series_list_queries_are_constant(api_for, planner, many, django_assert_max_num_queries):
    ExerciseSeriesFactory.create_batch(30)
    with django_assert_max_num_queries(4):
        body = api_for(planner).get("/api/v1/series/", {"page_size": 500}).json()
    assert body["count"] == 31
    assert next(row for row in body["results"] if row["slug"] == "african-lion")["iteration_count"] == 300


@pytest.mark.parametrize(
    "query, expected",
    [
        ("morocco", ["lion"]),  # the host
        ("Finland", ["sentinel"]),  # a participant
        ("United States of America", ["lion"]),  # an alias
        ("Sénégal", ["advisers"]),  # accents ignored
    ],
)
def test_search_finds_engagements_by_any_name_of_their_countries(api_for, viewer, three, query, expected):
    assert ids(api_for(viewer).get(URL, {"q": query})) == [three[name].pk for name in expected]
