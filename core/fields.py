"""Model fields the project defines."""

from __future__ import annotations

import json

from django.contrib.postgres.fields import ArrayField
from django.db import models


class IdArrayField(ArrayField):
    """A list of ids: ``integer[]`` on PostgreSQL (what the scoring statements unnest, and an index can
    include), a JSON list in a text column elsewhere (SQLite, the embedded development mode)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("base_field", models.IntegerField())
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def db_type(self, connection):
        return super().db_type(connection) if connection.vendor == "postgresql" else "text"

    def cast_db_type(self, connection):
        return super().cast_db_type(connection) if connection.vendor == "postgresql" else "text"

    def get_placeholder(self, value, compiler, connection):
        if connection.vendor == "postgresql":
            return super().get_placeholder(value, compiler, connection)
        return "%s"  # not ArrayField's "%s::text[]" cast, which SQLite cannot parse

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor == "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        # Written as SQLite's json_group_array writes it, so that the two compare equal as text.
        return None if value is None else json.dumps([int(item) for item in value], separators=(",", ":"))

    def from_db_value(self, value, expression, connection):
        return json.loads(value) if isinstance(value, str) else value
