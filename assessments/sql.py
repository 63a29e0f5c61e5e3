"""Small SQL building blocks the scoring needs, written once for PostgreSQL and SQLite."""

from __future__ import annotations

from django.db.models import FloatField, Func
from django.db.models.functions import Cast


class DaysBetween(Func):
    """``later - earlier`` in days, as a float, for two date expressions.

    PostgreSQL subtracts dates into whole days; SQLite stores ISO strings, so its Julian day numbers are
    subtracted instead. Both give the same figure for calendar dates.
    """

    arity = 2
    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="CAST((%(expressions)s) AS double precision)", arg_joiner=" - "
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="(julianday(%(expressions)s))", arg_joiner=") - julianday("
        )


def as_float(expression):
    return Cast(expression, FloatField())
