"""Keeps what the scores ask of every engagement true on its row, on every write path: ``partner_count``,
``partner_ids``, ``under_framework`` and the after-action report's ratings (``REPORT_FACTS``).

The scores count an engagement as multilateral when it has three partners or more or runs under an
organization's framework (assessments.services.scoring, ``is_multilateral``), and rate it from its
after-action report. A run used to count every counted engagement's participations, look up its frameworks
and hash every after-action report again: most of a one-quarter run's time on a million engagements
(bench/README.md). The facts change only when the engagement's participants, frameworks or report are
written, so they are kept on its row: the services that write participants, frameworks or the report one
engagement at a time call ``engagement_shape_write`` after writing them; the bulk paths (the services' bulk
create, hence the import, and the demo generator) set them on the rows they insert, from the same lists they
insert (``report_facts`` for the report); deleting an organization refreshes the engagements that lose it
(``engagements.apps``). A report is never removed but with its engagement.

``partner_ids`` and ``partner_count`` follow the participations alone, and on PostgreSQL the database keeps
them too: statement-level triggers on the participations (migration ``engagements.0022``) recount the
engagements a statement touched and rewrite those that differ, so a write past the services (the admin's
raw forms, ``QuerySet.update``, SQL) cannot leave them stale; after the services and the bulk paths, which
set them as they write, the triggers only check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection

from engagements.models import AfterActionReport, Engagement, Participation

# The report's ratings kept on the engagement row: engagement field -> report field. Null: no report.
REPORT_FACTS = {
    "report_interoperability": "interoperability_rating",
    "report_capacity": "capacity_rating",
    "report_trust": "trust_rating",
}
SHAPE_FIELDS = ("partner_count", "partner_ids", "under_framework", *REPORT_FACTS)


def report_facts(report: Mapping | None) -> dict:
    """The engagement fields of ``REPORT_FACTS`` from a report's values (report field -> value), or all
    None without a report: what the bulk paths write with the rows."""
    return {field: (report or {}).get(source) for field, source in REPORT_FACTS.items()}


def partner_ids_of(participants: Iterable[int]) -> list[int]:
    """``Engagement.partner_ids`` for the given partner ids, as the bulk paths write it: ascending."""
    return sorted(participants)


def _partner_ids_sql(participation: str) -> str:
    """The engagement's partner ids, ascending, as its column stores them: an array on PostgreSQL, a JSON list
    elsewhere (core.fields.IdArrayField)."""
    ids = f"SELECT p.partner_id FROM {participation} p WHERE p.engagement_id = e.id ORDER BY p.partner_id"  # noqa: S608 (our table names)
    if connection.vendor == "postgresql":
        return f"ARRAY({ids})::integer[]"
    return f"(SELECT json_group_array(partner_id) FROM ({ids}))"  # noqa: S608 (our table names)


def _shape_sql() -> tuple[str, dict[str, str]]:
    """The engagement table's name and, for each of ``SHAPE_FIELDS``, its value for engagement ``e`` as an
    SQL expression: its number of participations, whether it has a framework, its report's ratings. Both
    writers below use them."""
    quote = connection.ops.quote_name
    participation = quote(Participation._meta.db_table)
    through = quote(Engagement.organizations.through._meta.db_table)
    report = quote(AfterActionReport._meta.db_table)
    expressions = {
        "partner_count": f"(SELECT COUNT(*) FROM {participation} p WHERE p.engagement_id = e.id)",  # noqa: S608 (our table names)
        "partner_ids": _partner_ids_sql(participation),
        "under_framework": f"EXISTS (SELECT 1 FROM {through} f WHERE f.engagement_id = e.id)",  # noqa: S608 (our table names)
        **{
            field: f"(SELECT r.{quote(source)} FROM {report} r WHERE r.engagement_id = e.id)"  # noqa: S608 (our table names)
            for field, source in REPORT_FACTS.items()
        },
    }
    return quote(Engagement._meta.db_table), expressions


def engagement_shape_refresh(*, engagement_ids: Iterable[int] | None = None) -> int:
    """Recount ``SHAPE_FIELDS`` of the given engagements (all when None) from their participations,
    frameworks and reports, in one UPDATE that writes only the rows that change; returns how many."""
    engagement, expressions = _shape_sql()
    where, params = "", []
    if engagement_ids is not None:
        ids = sorted({int(pk) for pk in engagement_ids})
        if not ids:
            return 0
        where, params = f"AND e.id IN ({', '.join(['%s'] * len(ids))})", ids
    values = ", ".join(f"{expression} AS {name}" for name, expression in expressions.items())
    assign = ", ".join(f"{name} = shape.{name}" for name in expressions)
    changed = " OR ".join(f"target.{name} IS DISTINCT FROM shape.{name}" for name in expressions)
    sql = f"""
        UPDATE {engagement} AS target SET {assign}
        FROM (SELECT e.id, {values} FROM {engagement} e WHERE TRUE {where}) shape
        WHERE target.id = shape.id AND ({changed})
    """  # noqa: S608 (our table names; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def engagement_shape_write(engagement: Engagement) -> None:
    """``engagement_shape_refresh`` for one engagement whose participants, frameworks or report were just
    written, setting the instance's fields as well, so that a later ``save()`` of it writes them unchanged."""
    table, expressions = _shape_sql()
    assign = ", ".join(f"{name} = {expression}" for name, expression in expressions.items())
    sql = f"UPDATE {table} e SET {assign} WHERE e.id = %s RETURNING {', '.join(expressions)}"  # noqa: S608 (our table names)
    with connection.cursor() as cursor:
        cursor.execute(sql, [engagement.pk])
        for name, value in zip(expressions, cursor.fetchone(), strict=True):
            setattr(engagement, name, Engagement._meta.get_field(name).to_python(value))
