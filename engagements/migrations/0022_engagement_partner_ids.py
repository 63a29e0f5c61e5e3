# ruff: noqa: S608 (the SQL is built from this file's own table and column names; no value comes from outside)
"""Each engagement's partners by id, ascending, kept on its row for the scoring runs (engagements.services.shape,
``partner_ids``), filled from the participations written so far, and included in the two indexes the runs
read: ``engagement_scoring`` (a quarter's partner sums unnest them from the window's engagements instead of
joining every participation) and ``engagement_start`` (the quarter's activity count, instead of probing the
participations of each of its engagements).

Both indexes are dropped before the fill (fewer indexes to maintain for each updated row) and built after.
The fill rewrites every engagement with partners: run ``VACUUM (ANALYZE) engagements_engagement`` after
migrating a large database, or the index-only scans fetch those rows from the table until autovacuum does.

On PostgreSQL, statement-level triggers on the participations keep ``partner_ids`` and ``partner_count`` true
whatever writes them (the services, the import's ``COPY``, the admin, ``QuerySet.update`` or raw SQL): after
each statement, the engagements whose participations it touched are recounted from their participations and
rewritten where that differs. The services and the bulk paths set both columns as they write (the import's
rows carry them), so the triggers read and write nothing more in their case but the check."""

from django.db import migrations, models

import core.fields


def fill(apps, schema_editor):
    Engagement = apps.get_model("engagements", "Engagement")
    Participation = apps.get_model("engagements", "Participation")
    quote = schema_editor.connection.ops.quote_name
    engagement = quote(Engagement._meta.db_table)
    participation = quote(Participation._meta.db_table)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"UPDATE {engagement} e SET partner_ids = p.ids FROM ("  # noqa: S608 (our table names)
            f"SELECT engagement_id, ARRAY_AGG(partner_id ORDER BY partner_id) AS ids FROM {participation} "
            "GROUP BY engagement_id) p WHERE p.engagement_id = e.id"
        )
    else:  # a JSON list, as core.fields.IdArrayField stores it there
        schema_editor.execute(
            f"UPDATE {engagement} SET partner_ids = (SELECT json_group_array(partner_id) FROM ("  # noqa: S608 (our table names)
            f"SELECT partner_id FROM {participation} p WHERE p.engagement_id = {engagement}.id ORDER BY partner_id))"
        )


def _recount(touched: str) -> str:
    """Rewrite ``partner_ids`` and ``partner_count`` of the engagements ``touched`` names, where they differ."""
    return f"""UPDATE engagements_engagement e SET partner_ids = x.ids, partner_count = x.n
        FROM (
            SELECT t.engagement_id,
                   COALESCE(ARRAY_AGG(p.partner_id::integer ORDER BY p.partner_id) FILTER (WHERE p.id IS NOT NULL),
                            '{{}}') AS ids,
                   COUNT(p.id) AS n
            FROM ({touched}) t LEFT JOIN engagements_participation p ON p.engagement_id = t.engagement_id
            GROUP BY t.engagement_id
        ) x
        WHERE e.id = x.engagement_id AND (e.partner_ids IS DISTINCT FROM x.ids OR e.partner_count <> x.n);"""


CREATE = f"""
CREATE FUNCTION engagement_partners_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_recount("SELECT DISTINCT engagement_id FROM new_rows")}
    ELSIF TG_OP = 'DELETE' THEN
        {_recount("SELECT DISTINCT engagement_id FROM old_rows")}
    ELSE
        {
    _recount(
        "SELECT DISTINCT UNNEST(ARRAY[o.engagement_id, n.engagement_id]) AS engagement_id "
        "FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE (o.engagement_id, o.partner_id) IS DISTINCT FROM (n.engagement_id, n.partner_id)"
    )
}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER engagements_participation_partners_insert AFTER INSERT ON engagements_participation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION engagement_partners_kept();
CREATE TRIGGER engagements_participation_partners_update AFTER UPDATE ON engagements_participation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION engagement_partners_kept();
CREATE TRIGGER engagements_participation_partners_delete AFTER DELETE ON engagements_participation
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION engagement_partners_kept();
"""
DROP = """
DROP TRIGGER IF EXISTS engagements_participation_partners_insert ON engagements_participation;
DROP TRIGGER IF EXISTS engagements_participation_partners_update ON engagements_participation;
DROP TRIGGER IF EXISTS engagements_participation_partners_delete ON engagements_participation;
DROP FUNCTION IF EXISTS engagement_partners_kept();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0021_drop_indexes_no_query_reads"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="engagement", name="engagement_start"),
        migrations.RemoveIndex(model_name="engagement", name="engagement_scoring"),
        migrations.AddField(
            model_name="engagement",
            name="partner_ids",
            field=core.fields.IdArrayField(
                base_field=models.IntegerField(), default=list, editable=False, size=None, verbose_name="partners"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.AddIndex(
            model_name="engagement",
            index=models.Index(
                fields=["start_date", "id"],
                include=("status", "deleted_at", "sensitivity", "engagement_type", "end_date", "partner_ids"),
                name="engagement_start",
            ),
        ),
        migrations.AddIndex(
            model_name="engagement",
            index=models.Index(
                fields=["end_date"],
                include=(
                    "id",
                    "start_date",
                    "status",
                    "deleted_at",
                    "partner_count",
                    "under_framework",
                    "report_interoperability",
                    "report_capacity",
                    "report_trust",
                    "partner_ids",
                ),
                name="engagement_scoring",
            ),
        ),
    ]
