"""The engagement list's ``q``: its word rules, the stored search document and the query on each database.

Rules (DESIGN, second edition, "Search"): ``q`` is split into words; every word must match, in any order;
a word matches the start of a word of the engagement ("flint 2027" finds "Flintlock 2027"); accents and
case do not count ("Thies" finds "Thiès"). Searched: title, reference, location, description, the series
name, and the host's and every participant's name, official name, aliases ("Ivory Coast", "Burma") and
ISO codes. With ``q`` and no explicit ``ordering``, the best match comes first; past
``LIST_EXACT_COUNT_LIMIT`` matches (counted no further), latest start first (``core.paging.RankOrder``).

The texts that live in other tables (series and country names) are copied, normalised, into
``Engagement.search_names`` by every write path (services, import, demo generator:
``engagements.services.search``). Then, on each database:

- **PostgreSQL**: a stored ``tsvector`` column ``search_vector`` generated from title and reference
  (weight A), ``search_names`` (B), location (C) and description (D) with the text search configuration
  ``engagement_search`` (``simple`` + ``unaccent``), under a GIN index (migration
  ``0006_engagement_search_document``). ``q`` is ``to_tsquery('w1':* & 'w2':*)``; rank is ``ts_rank`` of
  that query. The index is asked the same question with each prefix replaced by the words it names
  (``('training' | 'trainings') & ...``, from ``engagement_search_lexeme``, migration
  ``0013_search_lexemes``): the same engagements, but the index skips along the named words' lists instead
  of collecting every document of every word of a prefix (``search_queries``; bench/README.md).
- **SQLite** (the embedded default): no index; each word must be a substring of the folded text (title,
  reference, location, description and ``search_names``, folded by a Python function registered on the
  connection). Simpler: a word may match inside another ("lion" finds "rebellion"), and rows keep the
  list's order (no ranking).
"""

from __future__ import annotations

import re

from django.db import connections
from django.db.models import BooleanField, Expression, F, FloatField, Value
from django.db.models.functions import Concat

from core.paging import RankOrder
from partners.text import KEY_SEPARATOR, search_key

CONFIG = "engagement_search"  # the text search configuration the migration creates (simple + unaccent)
MAX_WORDS = 12  # more words than anyone types; bounds the query a URL can build
_WORD = re.compile(r"\w+")
FOLD_FUNCTION = "ENGAGEMENT_SEARCH_FOLD"
LEXEME_TABLE = "engagement_search_lexeme"  # every word of every search document (triggers keep it; 0013)
# A prefix naming more words than this is left a prefix ("s", "tr"): so many lists are no faster to skip along.
MAX_NAMED_WORDS = 64
# Matches too many to rank (past LIST_EXACT_COUNT_LIMIT) are listed latest start first: engagement_start read
# backwards, each row checked until the page is full.
MANY_MATCHES_ORDER = [F("start_date").desc(), F("id").desc()]


def search_words(text: str) -> list[str]:
    """The words of a search, folded as the document is: ``"Flint, 2027 Thiès"`` -> ``["flint", "2027",
    "thies"]``. Punctuation separates words (as PostgreSQL's parser does); repeated words count once."""
    words: list[str] = []
    for word in _WORD.findall(search_key(text).replace("_", " ")):
        if word not in words:
            words.append(word)
    return words[:MAX_WORDS]


def tsquery(words: list[str]) -> str:
    """``to_tsquery`` input: every word, as a prefix. Words are ``\\w+`` only, so quoting them is safe.

    PostgreSQL's parser reads a number after a hyphen as signed: "Lion-2025" is stored as ``lion`` and
    ``-2025``. A word of digits therefore also matches as that signed number, so searching the title as
    written finds it. And it reads a word that starts like a number in exponent notation as that number and
    the rest ("515e58cdd8" alone: ``515e58`` then ``cdd8``), but as one part after a hyphen
    ("Canary-515e58cdd8": ``515e58cdd8``): a word of digits and letters also matches as that one lexeme."""
    return " & ".join(_bracketed([item.removeprefix(_LITERAL) for item in _prefixes(word)]) for word in words)


# An item of ``_prefixes`` that is a ``tsquery`` as it stands, not text for ``to_tsquery`` to parse.
_LITERAL = "="


def _prefixes(word: str) -> list[str]:
    if word.isdigit():
        return [f"'{word}':*", f"'-{word}':*"]
    if not word.isalpha() and any(character.isdigit() for character in word):
        return [f"'{word}':*", f"{_LITERAL}'{word}':*"]
    return [f"'{word}':*"]


def _bracketed(alternatives: list[str]) -> str:
    return alternatives[0] if len(alternatives) == 1 else "(" + " | ".join(alternatives) + ")"


_QUERIES_SQL = rf"""
SELECT normal, CASE WHEN prefix IS NULL THEN NULL ELSE ARRAY(
    SELECT lexeme FROM {LEXEME_TABLE} WHERE lexeme >= prefix AND lexeme < prefix || chr(1114111)
    ORDER BY lexeme LIMIT %s) END
FROM (
    SELECT normal, substring(normal FROM '^''([^''\\]+)'':\*$') AS prefix, ord
    FROM (
        SELECT CASE WHEN left(item, 1) = '{_LITERAL}' THEN substr(item, 2)::tsquery
                    ELSE to_tsquery('{CONFIG}'::regconfig, item) END::text AS normal, ord
        FROM unnest(%s::text[]) WITH ORDINALITY AS items (item, ord)
    ) AS normalised
) AS prefixes
ORDER BY ord
"""  # noqa: S608 (the table's and configuration's names are constants)


def search_queries(words: list[str], *, using: str) -> tuple[str, str]:
    """Two ``tsquery`` texts (read as they are by ``::tsquery``), normalised by PostgreSQL in one query:

    - ``ranked``: ``to_tsquery(tsquery(words))`` itself, the query the rank is computed for. A constant: a
      ``to_tsquery(...)`` call in a select list is evaluated again for every row (it is only stable).
    - ``named``: what the index is asked. It matches exactly what ``ranked`` matches, each prefix replaced by
      the words of the documents that start with it (``'training':*`` becomes ``'training' | 'trainings'``),
      read from ``engagement_search_lexeme``, a superset of the documents' words kept by triggers. For a
      prefix, the GIN index collects every document of every word it names before intersecting the words
      ("training": 430,000 documents); for named words it reads the rarest list and skips along the others.
      A prefix naming no word, more than ``MAX_NAMED_WORDS`` or one the tsquery syntax would need escaped
      stays a prefix.

    Empty when no word is left once normalised (nothing matches)."""
    items = [_prefixes(word) for word in words]
    with connections[using].cursor() as cursor:
        cursor.execute(_QUERIES_SQL, [MAX_NAMED_WORDS + 1, [item for word in items for item in word]])
        found = iter(cursor.fetchall())
    ranked, named = [], []
    for word in items:
        as_typed, as_named = [], []
        for normal, lexemes in (next(found) for _ in word):
            if not normal or f"({normal})" in as_typed:  # no lexeme in it (to_tsquery drops it too), or twice
                continue
            as_typed.append(f"({normal})")
            plain = lexemes and len(lexemes) <= MAX_NAMED_WORDS and not any("'" in w or "\\" in w for w in lexemes)
            as_named += [f"'{lexeme}'" for lexeme in lexemes] if plain else [f"({normal})"]
        if as_typed:
            ranked.append(_bracketed(as_typed))
            named.append(_bracketed(as_named))
    return " & ".join(ranked), " & ".join(named)


def partner_terms(*, name_key: str, iso3: str, iso2: str) -> str:
    """What a country adds to a document: its names and aliases (``PartnerNation.search_key``) and codes."""
    return " ".join(part for part in (name_key.replace(KEY_SEPARATOR, " ").strip(), iso3.lower(), iso2.lower()) if part)


def names_document(*, series_name: str = "", partners_terms=()) -> str:
    """``Engagement.search_names``: the series name and the countries' terms, each once."""
    parts: list[str] = []
    for part in (search_key(series_name), *partners_terms):
        if part and part not in parts:
            parts.append(part)
    return " ".join(parts)


class _SearchVector(Expression):
    """The engagement table's ``search_vector`` column, which only the PostgreSQL schema has (it is generated
    by the database, so the model does not declare it and no insert or select names it)."""

    output_field = FloatField()  # never selected on its own; the type only satisfies the ORM

    def as_sql(self, compiler, connection):
        alias = next(iter(compiler.query.alias_map))  # the engagement table, whatever its alias in a subquery
        return f"{compiler.quote_name_unless_alias(alias)}.search_vector", []


class SearchMatch(Expression):
    """``search_vector @@ query`` (PostgreSQL), ``query`` a normalised ``tsquery`` text (``search_queries``):
    the GIN index answers it."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, query: str):
        super().__init__()
        self.query = query

    def as_sql(self, compiler, connection):
        vector, params = compiler.compile(_SearchVector())
        return f"{vector} @@ %s::tsquery", [*params, self.query]


class SearchRank(SearchMatch):
    """``ts_rank`` of the engagement for the query: title and reference words weigh most, description least."""

    output_field = FloatField()
    conditional = False

    def as_sql(self, compiler, connection):
        vector, params = compiler.compile(_SearchVector())
        return f"ts_rank({vector}, %s::tsquery)", [*params, self.query]


class _Fold(Expression):
    """The searched text folded like the words (SQLite: the Python function registered on the connection)."""

    output_field = FloatField()

    def __init__(self):
        super().__init__()
        self.text = Concat(
            "title",
            Value(" "),
            "reference",
            Value(" "),
            "location_name",
            Value(" "),
            "description",
            Value(" "),
            "search_names",
        )

    def get_source_expressions(self):
        return [self.text]

    def set_source_expressions(self, exprs):
        (self.text,) = exprs

    def resolve_expression(self, *args, **kwargs):
        clone = super().resolve_expression(*args, **kwargs)
        clone.text = clone.text.resolve_expression(*args, **kwargs)
        return clone

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.text)
        return f"{FOLD_FUNCTION}({sql})", params


class FoldedContains(Expression):
    """SQLite fallback: the folded text contains ``word`` (``instr``, so ``%`` and ``_`` are plain)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, word: str, fold=None):
        super().__init__()
        self.word = word
        self.fold = fold or _Fold()

    def get_source_expressions(self):
        return [self.fold]

    def set_source_expressions(self, exprs):
        (self.fold,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.fold)
        return f"instr({sql}, %s) > 0", [*params, self.word]


def search(queryset, text: str, *, rank: bool):
    """``queryset`` narrowed to the engagements matching every word of ``text``; with ``rank``, best first
    (then the queryset's own order). Words are ANDed: one ``@@`` on PostgreSQL, one ``instr`` per word
    on SQLite."""
    words = search_words(text)
    if not words:
        return queryset
    if not _is_postgresql(queryset):
        return fallback_search(queryset, words)
    ranked, named = search_queries(words, using=queryset.db)
    if not named:
        return queryset.none()
    queryset = queryset.filter(SearchMatch(named))
    if rank:
        # An expression, not an annotation: the paginator re-applies the order to the page's rows
        # (core.paging.RowsFirstPaginator), where no annotation exists. A RankOrder: past the exact-count
        # limit the paginator drops it and pages the matches latest start first, along the start-date
        # index, stopping after the page; ranking them, or the list's current-first order, would read
        # every match (bench/README.md).
        ordering = queryset.query.order_by or queryset.model._meta.ordering
        queryset = queryset.order_by(RankOrder(SearchRank(ranked), many=MANY_MATCHES_ORDER), *ordering)
    return queryset


def fallback_search(queryset, words: list[str]):
    """Databases without the stored document (SQLite): every word a substring of the folded texts."""
    for word in words:
        queryset = queryset.filter(FoldedContains(word))
    return queryset


def _is_postgresql(queryset) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def install_fold_function(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: give SQLite connections the folding function of the fallback."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(FOLD_FUNCTION, 1, search_key, deterministic=True)
