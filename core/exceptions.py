"""Exceptions that mean something to every app."""

from __future__ import annotations


class Unavailable(Exception):
    """A feature cannot answer until an administrator fixes the set-up (no active scoring model, say).

    Pages answer it with a 503 page that says so (core.middleware.UnavailableMiddleware), the API with a
    503 in its error format (core.api.exceptions); never a 500.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
