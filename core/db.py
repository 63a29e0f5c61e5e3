"""Query expressions that shape PostgreSQL plans where the planner's estimates mislead it."""

from __future__ import annotations

import contextlib

from django.db.models import BooleanField, Expression, Subquery


class InSubqueryList(Expression):
    """``lhs`` is one of the values ``subquery`` returns, evaluated once and first.

    On PostgreSQL this is ``lhs = ANY(ARRAY(subquery))``: the subquery runs once as an InitPlan and the
    outer rows are then fetched by ``lhs``'s index. A plain ``IN``/``EXISTS`` lets the planner walk an
    ORDER BY index instead and test every row against the subquery, which it does when it wrongly
    expects matches to be spread evenly along that order (the engagement list filtered by one partner:
    177,551 probes for 100 rows on the million-engagement data set; see bench/README.md). Elsewhere it
    is ``lhs IN (subquery)``. Use it where the subquery is selective: its rows are held as one array.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, lhs, subquery: Subquery):
        super().__init__(output_field=BooleanField())
        self.lhs, self.subquery = lhs, subquery

    def get_source_expressions(self):
        return [self.lhs, self.subquery]

    def set_source_expressions(self, exprs):
        self.lhs, self.subquery = exprs

    def _parts(self, compiler):
        lhs_sql, lhs_params = compiler.compile(self.lhs)
        sub_sql, sub_params = compiler.compile(self.subquery)
        return lhs_sql, sub_sql, (*lhs_params, *sub_params)

    def as_sql(self, compiler, connection):
        lhs_sql, sub_sql, params = self._parts(compiler)
        return f"{lhs_sql} IN {sub_sql}", params

    def as_postgresql(self, compiler, connection):
        lhs_sql, sub_sql, params = self._parts(compiler)
        return f"{lhs_sql} = ANY(ARRAY{sub_sql})", params


def analyze(*models, fields_only: bool = False) -> None:
    """Refresh the planner's statistics of these models' tables now, inside the caller's transaction.

    For bulk writes (demo data, large imports): the scoring run that follows an import starts seconds
    later, before autovacuum's next look, and with statistics from before a load of 100,000 engagements
    PostgreSQL planned its aggregate as nested loops over "a few rows" and ran for many minutes.

    ``fields_only``: only the columns of the models' fields, not those the schema keeps beside them (the
    engagements' generated search document: its lexeme statistics were half of an import's ``ANALYZE``,
    0.5 s of 1.3 s at a million, and rows like those already there move them little; autovacuum's next
    analyze refreshes them).
    """
    from django.db import connection

    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models:
            columns = ""
            if fields_only:
                names = [f.column for f in model._meta.concrete_fields if f.column]
                columns = f" ({', '.join(quote(name) for name in names)})"
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}{columns}")


@contextlib.contextmanager
def constraints_checked_by_statement(*models):
    """Inside a transaction: the deferred constraints of these models' tables (every foreign key Django makes
    is ``DEFERRABLE INITIALLY DEFERRED``) checked at the end of each statement instead of all at the commit,
    until the block ends; then deferred again.

    For bulk writes whose statements are sent by a second thread while the first goes on (an import,
    ``core.copy.in_background``): each COPY's checks run as part of it, beside the checking thread's work,
    instead of one after the other at the commit, when nothing else is left to do (4.5 s for 100,000
    imported engagements on the million: bench/README.md). Name only tables whose rows come in an order in
    which every row they refer to exists, as a COPY of new rows after their parents' does: a table the first
    thread writes while its parents' COPY is still queued (the links an extension writes) keeps its checks
    at the commit. Only constraints that are initially deferred are named, so the block restores exactly what
    was. If the block fails, the rollback of its transaction or savepoint restores the mode with the rest."""
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.in_atomic_block or not models:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(DISTINCT quote_ident(conname), ', ') FROM pg_constraint "
            "WHERE condeferrable AND condeferred AND conrelid = ANY(%s::regclass[])",
            [[connection.ops.quote_name(model._meta.db_table) for model in models]],
        )
        names = cursor.fetchone()[0]
        if names:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
    yield
    if names:
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")
