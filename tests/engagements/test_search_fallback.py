"""SQLite's search (engagements/search.py, "SQLite"): the same word rules as PostgreSQL's, each word a
substring of the folded texts. Run on a private in-memory SQLite connection, whatever the test database."""

import copy

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

from engagements.models import Engagement
from engagements.search import fallback_search, search_words

ROWS = [
    (1, "Flintlock 2027 aga (edited)", "ENG-2027-000001", "Thiès", "", "cote d'ivoire ivory coast civ ci ghana gha gh"),
    (2, "Staff talks", "ENG-2026-000001", "", "Lessons from Flintlock 2027 planning", "france french republic fra fr"),
    (3, "African Lion 2025", "ENG-2025-000001", "Tan-Tan", "", "african lion morocco kingdom of morocco mar ma"),
    (4, "100% readiness_drill", "ENG-2025-000002", "", "", "senegal republic of senegal sen sn"),
]


@pytest.fixture(scope="module")
def sqlite(django_db_blocker):
    settings = copy.deepcopy(connection.settings_dict)
    settings.update(ENGINE="django.db.backends.sqlite3", NAME=":memory:")
    wrapper = SQLiteWrapper(settings, alias="sqlite-search-fallback")
    # pytest-django guards every connection; this one is private, in memory, and never the test database.
    blocker = django_db_blocker.unblock()
    blocker.__enter__()
    wrapper.ensure_connection()  # connection_created: the folding function is registered here
    with wrapper.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE engagements_engagement (id integer PRIMARY KEY, title text, reference text, "
            "location_name text, description text, search_names text)"
        )
        cursor.executemany("INSERT INTO engagements_engagement VALUES (%s, %s, %s, %s, %s, %s)", ROWS)
    yield wrapper
    wrapper.close()
    blocker.__exit__(None, None, None)


def found(sqlite, text: str) -> set[int]:
    queryset = fallback_search(Engagement.objects.order_by("id").values_list("id", flat=True), search_words(text))
    sql, params = queryset.query.get_compiler(connection=sqlite).as_sql()
    with sqlite.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("flint 2027", {1, 2}),  # every word, as the start of a word (or inside one: see below)
        ("2027 FLINT", {1, 2}),  # any order, any case
        ("flintlock aga", {1}),
        ("Thies", {1}),  # accents folded on both sides
        ("THIÈS", {1}),
        ("ivory coast", {1}),  # the names copied into search_names
        ("Sénégal", {4}),
        ("gha", {1}),
        ("lion morocco", {3}),
        ("baltic lion", set()),
        ("100%", {4}),  # "%" is punctuation: the word is "100"
        ("readiness_drill", {4}),  # "_" too: "readiness" and "drill"
        ("ion", {3}),  # simpler than PostgreSQL: a word may match inside another ("Lion")
    ],
)
def test_sqlite_fallback_word_rules(sqlite, text, expected):
    assert found(sqlite, text) == expected
