"""Small SQL building blocks the scoring needs, written once for PostgreSQL and SQLite."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections, transaction
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


@contextmanager
def scoring_settings(using: str = "default", **settings: str):
    """Run the block's queries in one transaction with these PostgreSQL settings (``SET LOCAL``; elsewhere
    nothing changes). Always ``jit = off``: the scoring aggregates' estimated costs are far above
    ``jit_above_cost``, so the server compiled them first (2 s of JIT for the partner aggregate on a million
    engagements, and no gain: the time is in joins and sorts; bench/README.md, the plans). ``work_mem`` gives
    the block's sorts and hashes enough memory not to spill to disk. Inside a caller's transaction the block
    is a savepoint, and the settings last until that transaction ends (PostgreSQL keeps ``SET LOCAL`` past
    a released savepoint): runs compute outside their write transaction, so only the scoring reads see them."""
    with transaction.atomic(using=using):
        connection = connections[using]
        if connection.vendor == "postgresql":
            settings = {"jit": "off", **settings}
            with connection.cursor() as cursor:  # one statement for all of them
                cursor.execute(
                    "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(settings)),
                    [part for item in settings.items() for part in item],
                )
        yield


def derived_commit(using: str = "default") -> None:
    """Let the current transaction's ``COMMIT`` return before its WAL reaches the disk (``SET LOCAL
    synchronous_commit = off``; elsewhere nothing changes). For the transactions that store what a run derived
    from the engagements in one piece (a run not fanned out: its scores, activity and pair snapshots and its
    row). A server crash in the next fraction of a second can lose such a commit, never corrupt it: the run
    is then still marked running, the orphan check (``assessment_runs_recover``, every minute) queues it
    again, and it derives the same rows (the activity marks it took come back with the lost commit).
    On this machine a run's commit waited 40 to 55 ms for the disk (bench/README.md, "Sixth pass")."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
