import functools

from rest_framework.pagination import PageNumberPagination

from core.paging import RowsFirstPaginator


class StandardPagination(PageNumberPagination):
    """`{count, next, previous, results}`; clients may ask for up to 500 rows a page."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class RowsFirstPagination(StandardPagination):
    """The same pages, found by id first when the view has ``load_page_rows(ids)`` (RowsFirstPaginator)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.django_paginator_class = functools.partial(RowsFirstPaginator, load=getattr(view, "load_page_rows", None))
        return super().paginate_queryset(queryset, request, view)
