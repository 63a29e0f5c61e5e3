from django.core.paginator import Paginator
from django.db.models import OrderBy, Q, QuerySet, Subquery
from django.utils.functional import cached_property

from core import page_cache

PAGE_SIZES = (25, 50, 100, 200)


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

    def page_ids(self, rows: QuerySet, bottom: int, top: int, *, cache_counts: bool = False):
        """The page's ids as subqueries (no query here) after counting the head (one query, or none when
        ``cache_counts`` finds the count in the cache)."""
        head = rows.filter(self.head).order_by(*self.head_order).values("pk")
        head_count = page_cache.count_cached(head, head.count) if cache_counts else head.count()
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


class RowsFirstPaginator(Paginator):
    """Finds the page's ids first, then loads just those rows with ``load(ids)``.

    ``object_list`` (filters and order) is counted and paged as ``SELECT id ... LIMIT n OFFSET m``, which
    PostgreSQL answers without the joins and per-row subqueries of a list row; ``load`` receives that
    as a subquery and returns the rows to show with everything they need, in the same order. Without it
    PostgreSQL joins every matching row before its top-N sort: 32,207 rows joined to show 100 for one
    organization on the million-engagement data set (bench/README.md). Without ``load`` it pages as
    Django's paginator does.
    """

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, load=None, cache_counts=False):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.load = load
        self.cache_counts = cache_counts

    @cached_property
    def count(self):
        """With ``cache_counts``, counts of the same question in the same data generation come from the
        cache (core/page_cache.py): the count is most of the cost of a filtered page on a million rows."""
        if self.cache_counts and isinstance(self.object_list, QuerySet):
            return page_cache.count_cached(self.object_list, self.object_list.count)
        return super().count

    def page(self, number):
        rows = self.object_list
        if self.load is None or not isinstance(rows, QuerySet) or not rows.ordered:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ordering = rows.query.order_by or rows.model._meta.ordering
        if ordering and isinstance(ordering[0], SplitOrder):
            ids = ordering[0].page_ids(rows, bottom, top, cache_counts=self.cache_counts)
            page_ids, ordering = rows.model._base_manager.filter(ids).values("pk"), ordering[1:]
        else:
            page_ids = rows.values("pk")[bottom:top]
        # With ``cache_counts`` the page's ids are kept too: finding them is the other costly query of a page.
        page_ids = page_cache.ids_cached(page_ids) if self.cache_counts and page_cache.enabled() else Subquery(page_ids)
        return self._get_page(self.load(page_ids).order_by(*ordering), number, self)


def paginate(request, queryset, *, default_size: int = 50, load=None, cache_counts: bool = False):
    """A page of ``queryset`` from ``?page=`` and ``?page_size=`` (bad values fall back, never fail);
    ``load`` and ``cache_counts`` (only for rows whose every write bumps the data generation) as for
    RowsFirstPaginator."""
    try:
        size = int(request.GET.get("page_size", default_size))
    except ValueError:
        size = default_size
    size = size if size in PAGE_SIZES else default_size
    return RowsFirstPaginator(queryset, size, load=load, cache_counts=cache_counts).get_page(request.GET.get("page"))


def querystring_without(request, *keys: str) -> str:
    """The current filters as a query string, minus ``keys`` (for pagination and sort links)."""
    params = request.GET.copy()
    for key in keys:
        params.pop(key, None)
    return params.urlencode()
