from rest_framework.routers import SimpleRouter

from core.api.writes import with_write_contract


class Router(SimpleRouter):
    """DRF's router, with every route answering with or without its trailing slash (no redirect, ever), and
    every viewset given the API's write contract (core/api/writes.py: Location, ETag, If-None-Match,
    If-Match, Idempotency-Key).

    The schema lists each route once, with the slash: drf-spectacular reads ``/?`` as ``/``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"

    def register(self, prefix, viewset, basename=None):
        super().register(prefix, with_write_contract(viewset), basename)
