"""Each engagement's after-action ratings, kept on its row for the scoring runs (engagements.services.shape,
``REPORT_FACTS``; null without a report), filled from the reports written so far, and added to the
``engagement_scoring`` index so that a run's partner sums read the window's engagements from it alone. The
index is now keyed on ``end_date`` (it was on ``id``): the sums read the window's range of it, as the floor
query reads ``engagement_end``, instead of every engagement's entry.

The index is dropped before the fill (one index fewer to maintain for each updated row) and built after.
The fill rewrites every reported engagement's row: run ``VACUUM (ANALYZE) engagements_engagement`` after
migrating a large database, or the index-only scans fetch those rows from the table until autovacuum does."""

from django.db import migrations, models

RATINGS = {
    "report_interoperability": "interoperability_rating",
    "report_capacity": "capacity_rating",
    "report_trust": "trust_rating",
}


def fill(apps, schema_editor):
    Engagement = apps.get_model("engagements", "Engagement")
    AfterActionReport = apps.get_model("engagements", "AfterActionReport")
    quote = schema_editor.connection.ops.quote_name
    engagement = quote(Engagement._meta.db_table)
    report = quote(AfterActionReport._meta.db_table)
    assign = ", ".join(f"{field} = r.{quote(source)}" for field, source in RATINGS.items())
    schema_editor.execute(
        f"UPDATE {engagement} SET {assign} FROM {report} r WHERE r.engagement_id = {engagement}.id"  # noqa: S608 (our table names)
    )


def rating(name: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(blank=True, editable=False, null=True, verbose_name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0018_history_indexes_only_where_read"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="engagement", name="engagement_scoring"),
        migrations.AddField(model_name="engagement", name="report_capacity", field=rating("report: capacity")),
        migrations.AddField(
            model_name="engagement", name="report_interoperability", field=rating("report: interoperability")
        ),
        migrations.AddField(model_name="engagement", name="report_trust", field=rating("report: trust")),
        migrations.RunPython(fill, migrations.RunPython.noop),
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
                ),
                name="engagement_scoring",
            ),
        ),
    ]
