"""Each engagement's partners by id, ascending, kept on its row for the scoring runs (engagements.services.shape,
``partner_ids``), filled from the participations written so far, and included in the two indexes the runs
read: ``engagement_scoring`` (a quarter's partner sums unnest them from the window's engagements instead of
joining every participation) and ``engagement_start`` (the quarter's activity count, instead of probing the
participations of each of its engagements).

Both indexes are dropped before the fill (fewer indexes to maintain for each updated row) and built after.
The fill rewrites every engagement with partners: run ``VACUUM (ANALYZE) engagements_engagement`` after
migrating a large database, or the index-only scans fetch those rows from the table until autovacuum does."""

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
