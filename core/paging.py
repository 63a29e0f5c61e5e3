import json

from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections, transaction
from django.db.models import Case, F, IntegerField, OrderBy, Q, QuerySet, Subquery, Value, When
from django.utils.functional import cached_property

PAGE_SIZES = (25, 50, 100, 200)
# Past an estimated count there is no last page to check a number against: a number past this one is past
# any list (and its offset would overflow the database's integers).
MAX_PAGE_NUMBER = 10_000_000


class SplitOrder(OrderBy):
    """An order in two parts that indexes can each serve, for RowsFirstPaginator: the rows matching ``head``
    in ``head_order``, then the others (``tail``) in ``tail_order``. Put first in ``order_by`` (it sorts as
    "head before tail" there), followed by the keys that give the same order in one statement, which are
    used where the rows are sorted again (the page's own rows, unpaged lists).

    Why: one ORDER BY over a CASE is a sort of every matching row (a million rows for the unfiltered list);
    two ordered index scans with a LIMIT read little more than the page.
    """

    def __init__(self, *, head: Q, head_order: list, tail: Q, tail_order: list, bucket):
        super().__init__(bucket)
        self.head, self.head_order, self.tail, self.tail_order = head, head_order, tail, tail_order

    def head_rows(self, rows: QuerySet) -> QuerySet:
        return rows.filter(self.head).order_by(*self.head_order).values("pk")

    def page_ids(self, rows: QuerySet, bottom: int, top: int, head_count: int):
        """The page's ids as subqueries (no query here); ``head_count`` is the number of head rows, or any
        number >= ``top`` when there are at least that many (RowsFirstPaginator counts them capped)."""
        head = self.head_rows(rows)
        parts = []
        if bottom < head_count:
            parts.append(Q(pk__in=Subquery(head[bottom : min(top, head_count)])))
        if top > head_count:
            tail = rows.filter(self.tail).order_by(*self.tail_order).values("pk")
            parts.append(Q(pk__in=Subquery(tail[max(0, bottom - head_count) : top - head_count])))
        condition = Q(pk__in=[])  # an empty page (no rows at all) shows nothing
        for part in parts:
            condition |= part
        return condition


class RankOrder(OrderBy):
    """A "best first" order (a search's rank), descending, that RowsFirstPaginator drops when the rows are
    too many to count exactly (past its ``exact_count_limit``): it then pages them by ``many`` (keys an
    index gives in order), or by the keys that follow this one. Ranking reads every matching row; an
    index order stops after the page. Elsewhere (unpaged lists, exports) it sorts as the plain expression."""

    def __init__(self, expression, *, many=None):
        super().__init__(expression, descending=True)
        self.many = many


class RowsFirstPaginator(Paginator):
    """Finds the page's ids first, then loads just those rows with ``load(ids)``.

    ``object_list`` (filters and order) is counted and paged as ``SELECT id ... LIMIT n OFFSET m``, which
    PostgreSQL answers without the joins and per-row subqueries of a list row; ``load`` receives that
    as a subquery and returns the rows to show with everything they need, in the same order. Without it
    PostgreSQL joins every matching row before its top-N sort: 32,207 rows joined to show 100 for one
    organization on the million-engagement data set (bench/README.md). Without ``load`` it pages as
    Django's paginator does.

    With ``exact_count_limit`` (PostgreSQL), rows are counted exactly up to that many only; past it
    ``count`` is the planner's estimate (at least the limit + 1), ``count_estimated`` is true, a
    ``RankOrder`` first in the order is dropped, and each page loads one row more to know whether a next
    page exists (so following "next" reaches every row whatever the estimate). Counting a broad search's
    430,000 matches exactly reads them all; counting to 10,001 reads 10,001. The head of a ``SplitOrder``
    is counted in the same query, capped at the page's end (all the page needs to know). A ranked order
    (``RankOrder`` first) below the limit is counted and paged in one statement.
    """

    def __init__(
        self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, load=None, exact_count_limit=None
    ):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.load = load
        self.exact_count_limit = exact_count_limit
        self.count_estimated = False
        self.rank_dropped = False
        self._asked = 1  # the page asked for: how far the head of a SplitOrder must be counted
        self._head = None  # (capped count of the head, the cap), from the count's query
        self._ranked_ids = None  # (page number, its ids), found with a ranked search's count

    def _rows_first(self) -> bool:
        rows = self.object_list
        return self.load is not None and isinstance(rows, QuerySet) and rows.ordered

    def _ordering(self) -> list:
        rows = self.object_list
        return list(rows.query.order_by or rows.model._meta.ordering)

    def _split_order(self):
        """The SplitOrder that may page the rows: first, or second behind a RankOrder that may be dropped."""
        ordering = self._ordering()
        if ordering and isinstance(ordering[0], RankOrder):
            ordering = ordering[0].many or ordering[1:]
        return ordering[0] if ordering and isinstance(ordering[0], SplitOrder) else None

    @cached_property
    def count(self):
        rows = self.object_list
        if not self._rows_first():
            return super().count
        limit = self.exact_count_limit if connections[rows.db].vendor == "postgresql" else None
        split = self._split_order()
        if limit is None and split is None:
            return super().count
        counted = rows.order_by().values("pk")
        ordering = self._ordering()
        estimate = None
        if split is None and limit is not None and isinstance(ordering[0], RankOrder) and not self.orphans:
            total, estimate = self._count_ranked(rows, ordering, limit)
        elif split is None:
            total = (counted if limit is None else counted[: limit + 1]).count()
        else:
            total, head, cap = self._count_with_head(rows, split, limit)
            self._head = (head, cap)
        if limit is None or total <= limit:
            return total
        self.count_estimated = True
        return max(planner_rows(counted) if estimate is None else estimate, limit + 1)

    def _count_ranked(self, rows, ordering, limit) -> tuple[int, int | None]:
        """A ranked search's count (up to ``limit`` + 1) and the ids of the page asked for, in one statement;
        and the planner's estimate of the count.

        Ranking reads every match and so does counting them: one scan of the matches instead of two (the
        GIN index's posting lists, then each match in the table). Past the limit the ids are not used (the
        rank is dropped), so when the planner expects more matches than the limit they are first counted
        without ranking them ("training": 10,001 ranks computed for nothing); only if that count stays
        within the limit (the estimate was high) are they ranked."""
        keys = {f"order_key_{n}": _order_key(key) for n, key in enumerate(ordering)}
        capped = rows.order_by().annotate(row_id=F("pk"), **{name: key[0] for name, key in keys.items()})
        sql, params = _compiled(capped.values("row_id", *keys)[: limit + 1])
        if sql is None:
            return 0, None
        counted = rows.order_by().values("pk")
        estimate = planner_rows(counted)
        if estimate > limit:
            total = counted[: limit + 1].count()
            if total > limit:
                return total, estimate
        order = ", ".join(f"{name} {direction}" for name, (_, direction) in keys.items())
        bottom = (self._asked - 1) * self.per_page
        statement = (
            f"SELECT row_id, COUNT(*) OVER () FROM ({sql}) AS matches "  # noqa: S608 (Django's SQL, values as params)
            f"ORDER BY {order} LIMIT {int(self.per_page)} OFFSET {int(bottom)}"
        )
        with connections[rows.db].cursor() as cursor:
            cursor.execute(statement, params)
            found = cursor.fetchall()
        if not found:  # past the last page: count on its own
            return counted[: limit + 1].count(), estimate
        self._ranked_ids = (self._asked, [row[0] for row in found])
        return found[0][1], estimate

    def _count_with_head(self, rows, split, limit):
        """The count and the head's count in one statement, and how far the head was counted (None: all).

        One scan gives both while the rows are counted exactly. Past the limit the head is counted on its
        own, up to the page's end (for a search, that is when its rank is dropped for this order)."""
        flagged = rows.order_by().annotate(in_head=Case(When(split.head, then=Value(1)), output_field=IntegerField()))
        flagged = flagged.values("pk", "in_head")
        if limit is not None:
            flagged = flagged[: limit + 1]
        sql, params = _compiled(flagged)
        totals = f"SELECT COUNT(*) AS total, COUNT(in_head) AS head FROM ({sql}) AS counted"  # noqa: S608
        if limit is None:
            statement, cap = totals, None
        else:
            cap = self._asked * self.per_page + 1
            head_sql, head_params = _compiled(rows.filter(split.head).order_by().values("pk")[:cap])
            head_part = f"(SELECT COUNT(*) FROM ({head_sql}) AS head_rows)" if head_sql else "0"  # noqa: S608
            statement = (
                f"SELECT total, CASE WHEN total > {int(limit)} THEN {head_part} ELSE head END, "  # noqa: S608
                f"total > {int(limit)} FROM ({totals}) AS totals"
            )
            params = (*head_params, *params)
        if sql is None:  # .none(), or a filter that cannot match
            return 0, 0, None
        with connections[rows.db].cursor() as cursor:
            cursor.execute(statement, params)
            total, head, *capped = cursor.fetchone()
        return total, head, (cap if capped and capped[0] else None)

    @property
    def count_is_floor(self) -> bool:
        """Estimated, and the planner expected no more than the limit: all that is known is "more than"."""
        return self.count_estimated and self.count == self.exact_count_limit + 1

    @property
    def rounded_count(self) -> int:
        """An estimated count as it is shown: two significant digits (430,112 -> 430,000)."""
        digits = max(0, len(str(self.count)) - 2)
        return round(self.count, -digits) if digits else self.count

    def validate_number(self, number):
        if not (self._rows_first() and self.count and self.count_estimated):
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if number > MAX_PAGE_NUMBER:
            raise EmptyPage(self.error_messages["no_results"])
        return number  # no last page to check against: an estimate has none; an empty page is refused below

    def _note_asked(self, number) -> None:
        try:
            self._asked = min(max(1, int(number)), MAX_PAGE_NUMBER)
        except (TypeError, ValueError):
            self._asked = 1

    def get_page(self, number):
        self._note_asked(number)
        try:
            return super().get_page(number)
        except EmptyPage:  # past the end of an estimated count (whose last page may be empty too)
            return self.page(1)

    def page(self, number):
        if not self._rows_first():
            return super().page(number)
        self._note_asked(number)
        number = self.validate_number(number)
        rows = self.object_list
        ordering = self._ordering()
        if self.count_estimated and isinstance(ordering[0], RankOrder):
            ordering = list(ordering[0].many or ordering[1:])
            rows = rows.order_by(*ordering)
            self.rank_dropped = True
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if self.count_estimated:
            top += 1  # one row more: is there a next page?
        elif top + self.orphans >= self.count:
            top = self.count
        if isinstance(ordering[0], SplitOrder):
            ids = ordering[0].page_ids(rows, bottom, top, self._head_count(rows, ordering[0], top))
            loaded = self.load(Subquery(rows.model._base_manager.filter(ids).values("pk"))).order_by(*ordering[1:])
        elif not self.count_estimated and self._ranked_ids and self._ranked_ids[0] == number:
            loaded = self.load(self._ranked_ids[1]).order_by(*ordering)  # found while counting
        else:
            loaded = self.load(Subquery(rows.values("pk")[bottom:top])).order_by(*ordering)
        if not self.count_estimated:
            return self._get_page(loaded, number, self)
        shown = _walked(loaded) if self.rank_dropped else list(loaded)
        if not shown and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        more = len(shown) > self.per_page
        # The estimate may be low: never say fewer rows than this page proves.
        proven = bottom + len(shown)
        if proven > self.count:
            self.__dict__["count"] = proven
            self.__dict__.pop("num_pages", None)
        return EstimatedPage(shown[: self.per_page], number, self, more=more)

    def _head_count(self, rows, split, top: int) -> int:
        """The head's rows, or a number >= ``top`` when there are at least that many."""
        if self._head is not None:
            counted, cap = self._head
            if cap is None or counted < cap or cap >= top:
                return counted
        return split.head_rows(rows).order_by()[:top].count()


class EstimatedPage(Page):
    """A page of an estimated count: whether a next page exists was seen, not computed from the count."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self):
        return self.more


def _walked(queryset) -> list:
    """``queryset``'s rows, planned to follow an index in the order asked (PostgreSQL: no bitmap scan, no
    sequential scan for this statement).

    For a search whose rank was dropped: its matches are known to be many (past the exact-count limit), but
    the planner multiplies each word's frequency as if words were independent, so "ivory coast training"
    (15,989 matches) is expected to match 1,025 rows; it then collects and sorts every match through the
    GIN index (900 ms at load) instead of reading the start-date index backwards until the page is full
    (5,235 rows, 137 ms; bench/README.md)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return list(queryset)
    nested = connection.in_atomic_block
    with transaction.atomic(using=queryset.db, savepoint=False), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off")
        rows = list(queryset)
        if nested:  # the settings would last until the enclosing transaction ends
            cursor.execute("SET LOCAL enable_bitmapscan TO DEFAULT; SET LOCAL enable_seqscan TO DEFAULT")
    return rows


def _order_key(key):
    """An ordering key as (expression, SQL direction) for an outer ORDER BY over its annotation."""
    if isinstance(key, str):
        key = F(key[1:]).desc() if key.startswith("-") else F(key).asc()
    if not isinstance(key, OrderBy):
        key = key.asc()
    direction = "DESC" if key.descending else "ASC"
    if key.nulls_first:
        direction += " NULLS FIRST"
    elif key.nulls_last:
        direction += " NULLS LAST"
    return key.expression, direction


def _compiled(queryset):
    """``queryset``'s SQL and parameters, or (None, ()) when it cannot match anything."""
    try:
        return queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return None, ()


def planner_rows(queryset) -> int:
    """PostgreSQL's estimate of the rows ``queryset`` returns (``EXPLAIN``: planned, not run)."""
    plan = queryset.explain(format="json")
    return int(json.loads(plan)[0]["Plan"]["Plan Rows"])


def paginate(request, queryset, *, default_size: int = 50, load=None, exact_count_limit=None):
    """A page of ``queryset`` from ``?page=`` and ``?page_size=`` (bad values fall back, never fail);
    ``load`` and ``exact_count_limit`` as for RowsFirstPaginator."""
    try:
        size = int(request.GET.get("page_size", default_size))
    except ValueError:
        size = default_size
    size = size if size in PAGE_SIZES else default_size
    return RowsFirstPaginator(queryset, size, load=load, exact_count_limit=exact_count_limit).get_page(
        request.GET.get("page")
    )


def querystring_without(request, *keys: str) -> str:
    """The current filters as a query string, minus ``keys`` (for pagination and sort links)."""
    params = request.GET.copy()
    for key in keys:
        params.pop(key, None)
    return params.urlencode()
