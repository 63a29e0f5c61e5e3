from django.core.paginator import Paginator

PAGE_SIZES = (25, 50, 100, 200)


def paginate(request, queryset, *, default_size: int = 50):
    """A page of ``queryset`` from ``?page=`` and ``?page_size=`` (bad values fall back, never fail)."""
    try:
        size = int(request.GET.get("page_size", default_size))
    except ValueError:
        size = default_size
    size = size if size in PAGE_SIZES else default_size
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def querystring_without(request, *keys: str) -> str:
    """The current filters as a query string, minus ``keys`` (for pagination and sort links)."""
    params = request.GET.copy()
    for key in keys:
        params.pop(key, None)
    return params.urlencode()
