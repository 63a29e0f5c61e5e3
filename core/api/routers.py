from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """DRF's router, with every route answering with or without its trailing slash (no redirect, ever).

    The schema lists each route once, with the slash: drf-spectacular reads ``/?`` as ``/``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"
