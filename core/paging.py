from django.core.paginator import Paginator
from django.db.models import QuerySet, Subquery

PAGE_SIZES = (25, 50, 100, 200)


class RowsFirstPaginator(Paginator):
    """Finds the page's ids first, then loads just those rows with ``load(ids)``.

    ``object_list`` (filters and order) is counted and paged as ``SELECT id ... LIMIT n OFFSET m``, which
    PostgreSQL answers without the joins and per-row subqueries of a list row; ``load`` receives that
    as a subquery and returns the rows to show with everything they need, in the same order. Without it
    PostgreSQL joins every matching row before its top-N sort: 32,207 rows joined to show 100 for one
    organization on the million-engagement data set (bench/README.md). Without ``load`` it pages as
    Django's paginator does.
    """

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, load=None):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.load = load

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
        loaded = self.load(Subquery(rows.values("pk")[bottom:top])).order_by(*ordering)
        return self._get_page(loaded, number, self)


def paginate(request, queryset, *, default_size: int = 50, load=None):
    """A page of ``queryset`` from ``?page=`` and ``?page_size=`` (bad values fall back, never fail);
    ``load`` as for RowsFirstPaginator."""
    try:
        size = int(request.GET.get("page_size", default_size))
    except ValueError:
        size = default_size
    size = size if size in PAGE_SIZES else default_size
    return RowsFirstPaginator(queryset, size, load=load).get_page(request.GET.get("page"))


def querystring_without(request, *keys: str) -> str:
    """The current filters as a query string, minus ``keys`` (for pagination and sort links)."""
    params = request.GET.copy()
    for key in keys:
        params.pop(key, None)
    return params.urlencode()
