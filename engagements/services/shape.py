"""Keeps ``Engagement.partner_count`` and ``Engagement.under_framework`` true on every write path.

The scores count an engagement as multilateral when it has three partners or more or runs under an
organization's framework (assessments.services.scoring, ``is_multilateral``). A run used to count every
counted engagement's participations and look up its frameworks again: most of a one-quarter run's time on a
million engagements (bench/README.md). The facts change only when the engagement's participants or
frameworks are written, so they are kept on its row: the services that write participants or frameworks
one engagement at a time call ``engagement_shape_refresh`` after writing them; the bulk paths (the services'
bulk create, hence the import, and the demo generator) set them on the rows they insert, from the same
lists they insert; deleting an organization refreshes the engagements that lose it (``engagements.apps``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from engagements.models import Engagement, Participation


def _shape_sql() -> tuple[str, str, str]:
    """The engagement table's name and the two counts of engagement ``e``, as SQL expressions: its number
    of participations and whether it has a framework. Both writers below use them."""
    quote = connection.ops.quote_name
    participation = quote(Participation._meta.db_table)
    through = quote(Engagement.organizations.through._meta.db_table)
    partners = f"(SELECT COUNT(*) FROM {participation} p WHERE p.engagement_id = e.id)"  # noqa: S608 (our table names)
    framework = f"EXISTS (SELECT 1 FROM {through} f WHERE f.engagement_id = e.id)"  # noqa: S608 (our table names)
    return quote(Engagement._meta.db_table), partners, framework


def engagement_shape_refresh(*, engagement_ids: Iterable[int] | None = None) -> int:
    """Recount ``partner_count`` and ``under_framework`` of the given engagements (all when None) from their
    participations and frameworks, in one UPDATE that writes only the rows that change; returns how many."""
    engagement, partners, framework = _shape_sql()
    where, params = "", []
    if engagement_ids is not None:
        ids = sorted({int(pk) for pk in engagement_ids})
        if not ids:
            return 0
        where, params = f"AND e.id IN ({', '.join(['%s'] * len(ids))})", ids
    sql = f"""
        UPDATE {engagement} target SET partner_count = shape.partners, under_framework = shape.framework
        FROM (
            SELECT e.id, {partners} AS partners, {framework} AS framework FROM {engagement} e WHERE TRUE {where}
        ) shape
        WHERE target.id = shape.id
          AND (target.partner_count <> shape.partners OR target.under_framework <> shape.framework)
    """  # noqa: S608 (our table names; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def engagement_shape_write(engagement: Engagement) -> None:
    """``engagement_shape_refresh`` for one engagement whose participants or frameworks were just written,
    setting the instance's fields as well, so that a later ``save()`` of it writes them unchanged."""
    table, partners, framework = _shape_sql()
    sql = f"""
        UPDATE {table} e SET partner_count = {partners}, under_framework = {framework}
        WHERE e.id = %s RETURNING partner_count, under_framework
    """  # noqa: S608 (our table names; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [engagement.pk])
        engagement.partner_count, engagement.under_framework = cursor.fetchone()
