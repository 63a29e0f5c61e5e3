import base64
import functools
import json

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.paging import RowsFirstPaginator


class StandardPagination(PageNumberPagination):
    """`{count, next, previous, results}`; clients may ask for up to 500 rows a page."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class RowsFirstPagination(StandardPagination):
    """The same pages, found by id first when the view has ``load_page_rows(ids)`` (RowsFirstPaginator), their
    counts kept in the cache when the view says ``cache_counts`` (core/page_cache.py)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.django_paginator_class = functools.partial(
            RowsFirstPaginator,
            load=getattr(view, "load_page_rows", None),
            cache_counts=getattr(view, "cache_counts", False),
        )
        return super().paginate_queryset(queryset, request, view)


class FeedPagination(StandardPagination):
    """Keyset pages for a feed ordered by a unique key (the change feed: time, then a tie-breaker, then id).

    ``{count, next, previous, next_cursor, results}``: ``next_cursor`` is an opaque position after the last
    row given (after the position asked for when there was none), always present, so a client that stores it
    and asks again with ``cursor=`` gets exactly the rows it has not seen: none twice, none missed, however
    many rows share a timestamp. ``next`` is that request as a link while rows remain; ``previous`` is null.
    ``count`` counts the rows from the position asked for on. The view gives ``cursor_fields`` (the key, in
    order) and filters its queryset by ``view.feed_position()`` (the decoded cursor) itself.
    """

    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self.request, self.view = request, view
        size = self.get_page_size(request)
        self.count = queryset.count()
        rows = list(queryset[: size + 1])
        self.has_more = len(rows) > size
        rows = rows[:size]
        if rows:
            self.next_cursor = encode_cursor([rows[-1][name] for name in view.cursor_fields])
        else:
            self.next_cursor = encode_cursor(view.feed_position())
        return rows

    def get_next_link(self):
        if not self.has_more:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, self.next_cursor)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": None,
                "next_cursor": self.next_cursor,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["next_cursor"] = {
            "type": "string",
            "description": "Where the next request starts: send it as `cursor` (opaque).",
            "example": "WyIyMDI1LTEwLTAxVDAyOjAwOjAwKzAwOjAwIiwgMCwgMTIzXQ",
        }
        answer["required"] = ["count", "next", "previous", "next_cursor", "results"]
        return answer

    def get_schema_operation_parameters(self, view):
        return [
            parameter
            for parameter in super().get_schema_operation_parameters(view)
            if parameter["name"] != self.page_query_param
        ]


def encode_cursor(position) -> str:
    """An opaque cursor for a feed position (a list of JSON-able values; datetimes as ISO 8601)."""
    values = [value.isoformat() if hasattr(value, "isoformat") else value for value in position]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list:
    """The position a cursor from ``encode_cursor`` names; ValueError if it is not one."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise ValueError(cursor) from exc
    if not isinstance(values, list):
        raise ValueError(cursor)
    return values
