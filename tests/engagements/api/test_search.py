"""``q``: every word, any order, prefixes, accents and case ignored, countries by name, alias and code, ranked
(engagements/search.py). The same filterset serves the page, the API and the exports."""

import datetime

import pytest

from engagements import services
from engagements.filtersets import EngagementFilterSet
from engagements.models import Engagement
from engagements.search import names_document, search_words, tsquery
from tests.engagements.api.test_filters import URL, ids
from tests.engagements.factories import EngagementFactory

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def more(planner, three):
    make = services.engagement_create
    return {
        **three,
        "flintlock": make(
            created_by=planner,
            title="Flintlock 2027 aga (edited)",
            engagement_type="exercise",
            domain="land",
            start_date=D(2027, 2, 15),
            end_date=D(2027, 3, 5),
            host_country="CIV",
            location_name="Thiès",
            participants=[{"partner": "CIV"}, {"partner": "GHA"}],
        ).engagement,
        "mentions": make(
            created_by=planner,
            title="Staff talks",
            engagement_type="conference",
            domain="joint",
            start_date=D(2026, 1, 10),
            end_date=D(2026, 1, 12),
            host_country="FRA",
            description="Lessons from Flintlock 2027 planning",
        ).engagement,
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ("flintlock aga", {"flintlock"}),  # two words of the title
        ("aga flintlock", {"flintlock"}),  # any order
        ("flint 2027", {"flintlock", "mentions"}),  # prefixes, the title or the description
        ("FLINT edit", {"flintlock"}),  # case; "edit" is the start of "edited"
        ("Thies", {"flintlock"}),  # no accent typed, one stored
        ("thiès", {"flintlock"}),
        ("Senegal", {"advisers"}),  # the host's name
        ("senegal coast guard", {"advisers"}),  # a country and title words together
        ("Ivory Coast", {"flintlock"}),  # an alias of Côte d'Ivoire, the host
        ("cote d'ivoire", {"flintlock"}),  # its name, without the accent
        ("Ghana", {"flintlock"}),  # a participant
        ("GHA", {"flintlock"}),  # an ISO code
        ("fin", {"sentinel"}),  # ISO code FIN and Finland
        ("african lion", {"lion"}),  # the series name (and the title)
        ("tallinn mine", {"sentinel"}),  # description words
        ("baltic lion", set()),  # every word must match
        ("flintlock zzzz", set()),
    ],
)
def test_search_known_answers(api_for, viewer, more, query, expected):
    found = ids(api_for(viewer).get(URL, {"q": query}))
    assert {name for name, e in more.items() if e.pk in found} == expected
    assert len(found) == len(expected)


def test_search_ranks_the_title_above_the_description(api_for, viewer, more):
    # "flintlock" is in one title and in another's description: the title match comes first, though the
    # list's own order (current and upcoming first, by start date) would put "mentions" (2026) first.
    assert ids(api_for(viewer).get(URL, {"q": "flintlock 2027"})) == [more["flintlock"].pk, more["mentions"].pk]
    # An order the user chooses wins over the rank.
    assert ids(api_for(viewer).get(URL, {"q": "flintlock 2027", "ordering": "date"})) == [
        more["mentions"].pk,
        more["flintlock"].pk,
    ]


def test_search_on_the_page_and_in_the_export(client_for, viewer, more):
    client = client_for(viewer)
    page = client.get("/engagements/", {"q": "senegal coast"}).content.decode()
    assert more["advisers"].reference in page and more["lion"].reference not in page
    response = client.get("/engagements/", {"q": "ivory coast", "export": "csv"})
    export = b"".join(response.streaming_content).decode()
    assert more["flintlock"].reference in export and more["advisers"].reference not in export


def test_searched_filterset_works_as_a_subquery(more, viewer):
    """The calendar and exports may use the filtered list inside another query (the table gets an alias)."""
    filtered = EngagementFilterSet({"q": "ivory coast"}, queryset=Engagement.objects.all()).qs
    assert list(Engagement.objects.filter(pk__in=filtered.values("pk")).values_list("pk", flat=True)) == [
        more["flintlock"].pk
    ]


def test_search_follows_changes_of_participants_and_host(planner, api_for, viewer, more):
    engagement = more["mentions"]
    assert ids(api_for(viewer).get(URL, {"q": "kenya"})) == []
    services.engagement_update(engagement=engagement, updated_by=planner, participants=[{"partner": "KEN"}])
    assert ids(api_for(viewer).get(URL, {"q": "kenya staff"})) == [engagement.pk]
    services.engagement_update(engagement=engagement, updated_by=planner, host_country="SEN", participants=[])
    assert ids(api_for(viewer).get(URL, {"q": "kenya"})) == []
    assert engagement.pk in ids(api_for(viewer).get(URL, {"q": "senegal"}))


def test_search_refresh_rewrites_stale_names(reference_data, viewer, api_for):
    engagement = EngagementFactory(title="Plain")
    assert engagement.search_names == ""  # the factory bypasses the services
    assert services.engagement_search_refresh(engagement_ids=[engagement.pk]) == 1
    assert ids(api_for(viewer).get(URL, {"q": "french republic"})) == [engagement.pk]  # FRA's official name
    assert services.engagement_search_refresh() == 0  # nothing else is stale


def test_search_hides_restricted_engagements_from_viewers(planner, api_for, viewer, analyst, more):
    services.engagement_update(engagement=more["flintlock"], updated_by=planner, sensitivity="restricted")
    assert ids(api_for(viewer).get(URL, {"q": "ivory coast"})) == []
    assert ids(api_for(analyst).get(URL, {"q": "ivory coast"})) == [more["flintlock"].pk]


def test_searched_list_runs_in_constant_queries(api_for, viewer, more, django_assert_max_num_queries):
    for n in range(30):
        EngagementFactory(title=f"Flintlock rehearsal {n}")
    services.engagement_search_refresh()
    # Whatever the rows: the words the prefixes name (engagements.search), the planner's estimate (a search
    # expected to pass the exact-count limit is counted before it is ranked: core.paging), the ranked count and
    # page, the rows, two prefetches, and authentication.
    with django_assert_max_num_queries(9):
        body = api_for(viewer).get(URL, {"q": "flintlock", "page_size": 100}).json()
    assert body["count"] == 32


# --- the word rules, shared by PostgreSQL and the SQLite fallback ------------------------------------------


@pytest.mark.parametrize(
    "text, words",
    [
        ("Flint 2027", ["flint", "2027"]),
        ("  Thiès,  SÉNÉGAL ", ["thies", "senegal"]),
        ("Côte d’Ivoire", ["cote", "d", "ivoire"]),  # apostrophes split as PostgreSQL's parser does
        ("counter-IED counter", ["counter", "ied"]),  # each word once
        ("a_b", ["a", "b"]),
        ("%'&|!:*()", []),  # no word: no search (tsquery syntax never reaches the database)
        ("", []),
    ],
)
def test_search_words(text, words):
    assert search_words(text) == words


def test_tsquery_asks_every_word_as_a_prefix():
    # A word of digits also matches as the signed number PostgreSQL's parser makes of "Lion-2025".
    assert tsquery(["flint", "2027"]) == "'flint':* & ('2027':* | '-2027':*)"


@pytest.mark.parametrize("query", ["Canary-3406381540", "canary 3406381540", "3406381540", "Canary-34063"])
def test_a_hyphenated_number_is_found_as_written(api_for, viewer, planner, reference_data, query):
    # The parser stores "Canary-3406381540" as "canary" and "-3406381540": the title typed as it is written
    # must still find it (an all-digit code after a hyphen once made a title unfindable).
    engagement = services.engagement_create(
        created_by=planner,
        title="Canary-3406381540",
        engagement_type="exercise",
        domain="land",
        start_date=D(2025, 2, 3),
        end_date=D(2025, 2, 7),
        host_country="SEN",
    ).engagement
    assert ids(api_for(viewer).get(URL, {"q": query})) == [engagement.pk]


def test_search_words_are_bounded():
    assert len(search_words(" ".join(f"w{n}" for n in range(50)))) == 12


def test_names_document_holds_each_name_once():
    assert names_document(series_name="Flintlock", partners_terms=["senegal sn sen", "senegal sn sen"]) == (
        "flintlock senegal sn sen"
    )
