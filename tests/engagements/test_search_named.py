"""The index is asked for the words a prefix names (engagements/search.py ``search_queries``): the same
engagements, counts, rank order and pages as the prefix itself, on a data set mixing common and rare words;
the words come from ``engagement_search_lexeme``, which triggers keep up to date on every write path."""

import pytest
from django.db import connection

from core.copy import copy_objects
from engagements import search, services
from engagements.models import Engagement
from tests.engagements.test_list_counts import walk
from tests.engagements.test_list_views import API, create, days

pytestmark = pytest.mark.django_db

QUERIES = [
    "training",  # common, and the start of other words (trainings, trainer)
    "train",
    "trainings",
    "zephyr training",  # a rare word with a common one
    "train zeph",
    "senegal train",  # the host's name (search_names) with a title word
    "2025",  # a number also matches as signed ("Lion-2025" stores -2025)
    "lion 2025",
    "thies training",  # accents
    "t",  # a prefix naming many words
    "training quokka",  # a word no document has
]


@pytest.fixture
def mixed(planner, reference_data):
    rows = []
    for n in range(12):
        rows.append(create(planner, f"Training block {n}", days(-200 + 9 * n), days(-195 + 9 * n)))
    rows += [
        create(planner, "Trainings of the guard", days(-30), days(-25), description="trainer visits"),
        create(planner, "Zephyr training", days(-3), days(4), location_name="Thiès"),
        create(planner, "Zephyrus staff talks", days(10), days(12), description="after the training"),
        create(planner, "Lion-2025", days(-500), days(-490)),
        create(planner, "Planning 2025 conference", days(-100), days(-99), description="train the trainers"),
        create(planner, "Tactical exchange", days(40), days(45)),
    ]
    return rows


def _results(client, query, size):
    seen, bodies = walk(client, {"q": query}, size)
    return seen, [(body["count"], body["count_estimated"]) for body in bodies]


@pytest.mark.parametrize("limit", [100, 5])
def test_named_words_find_what_the_prefixes_find(settings, monkeypatch, api_for, planner, mixed, limit):
    # Ranked and counted exactly (limit 100), and past the limit (5): listed latest start first.
    settings.LIST_EXACT_COUNT_LIMIT = limit
    client = api_for(planner)
    named = {query: _results(client, query, 4) for query in QUERIES}
    monkeypatch.setattr(search, "MAX_NAMED_WORDS", 0)  # every prefix stays a prefix: the search as it was
    assert {query: _results(client, query, 4) for query in QUERIES} == named
    assert len(named["training"][0]) == 15 and len(named["zephyr training"][0]) == 2
    assert named["training quokka"] == ([], [(0, False)])


def test_prefixes_become_the_words_they_name(planner, mixed, monkeypatch):
    ranked, named = search.search_queries(search.search_words("zeph Training 2025 quokka"), using="default")
    assert ranked == "('zeph':*) & ('training':*) & (('2025':*) | ('-2025':*)) & ('quokka':*)"
    assert named == "('zephyr' | 'zephyrus') & ('training' | 'trainings') & ('2025' | '-2025') & ('quokka':*)"
    monkeypatch.setattr(search, "MAX_NAMED_WORDS", 1)  # "zeph" names two words: too many, left a prefix
    assert search.search_queries(["zeph"], using="default")[1] == "('zeph':*)"


def test_a_code_read_as_a_number_is_found_alone_and_after_a_hyphen(api_for, planner, reference_data):
    # Alone, PostgreSQL reads "515e58cdd8" as the number 515e58 then "cdd8"; after a hyphen, as one part.
    hyphenated = create(planner, "Canary-515e58cdd8", days(-20), days(-18))
    alone = create(planner, "Code 515e58cdd8 drill", days(-10), days(-8))
    found = {row["id"] for row in api_for(planner).get(API, {"q": "515e58cdd8"}).json()["results"]}
    assert found == {hyphenated.pk, alone.pk}
    ranked, _named = search.search_queries(["abc123"], using="default")
    assert ranked == "('abc123':*)"  # a word the parser keeps whole is asked once


def test_the_rank_is_the_prefix_querys(api_for, planner, mixed):
    # The title's word weighs most: "Zephyr training" before the one with "training" in its description,
    # whatever their start dates; rank and match come from the same words.
    found = [row["id"] for row in api_for(planner).get(API, {"q": "zephyr training"}).json()["results"]]
    assert found == [mixed[13].pk, mixed[14].pk]


def _lexemes():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT lexeme FROM {search.LEXEME_TABLE}")  # noqa: S608 (a constant)
        return {row[0] for row in cursor.fetchall()}


def test_every_write_path_adds_its_words(api_for, planner, reference_data):
    engagement = create(planner, "Quokkafest", days(1), days(2))
    assert "quokkafest" in _lexemes()
    services.engagement_update(
        engagement=engagement, updated_by=planner, expected_version=engagement.version, title="Wombatfest"
    )
    assert "wombatfest" in _lexemes() and "quokkafest" in _lexemes()  # kept: a superset only costs a lookup
    model = Engagement(**{
        field.attname: getattr(engagement, field.attname)
        for field in Engagement._meta.concrete_fields
        if field.attname not in ("id", "reference")
    })
    model.title, model.reference = "Numbatfest", "ENG-2026-999999"
    copy_objects(Engagement, [model])  # COPY, as the demo generator and imports write
    assert "numbatfest" in _lexemes()
    client = api_for(planner)
    for query, title in (("wombat", "Wombatfest"), ("numbat", "Numbatfest")):
        assert [row["title"] for row in client.get(API, {"q": query}).json()["results"]] == [title]
    assert client.get(API, {"q": "quokka"}).json()["count"] == 0
