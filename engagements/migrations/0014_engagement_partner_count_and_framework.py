"""Each engagement's number of partners and whether it runs under a framework, kept on its row for the
scoring runs (engagements.services.shape), filled from the participations and frameworks written so far."""

from django.db import migrations, models


def fill(apps, schema_editor):
    Engagement = apps.get_model("engagements", "Engagement")
    Participation = apps.get_model("engagements", "Participation")
    quote = schema_editor.connection.ops.quote_name
    engagement = quote(Engagement._meta.db_table)
    participation = quote(Participation._meta.db_table)
    through = quote(Engagement.organizations.through._meta.db_table)
    schema_editor.execute(
        f"UPDATE {engagement} SET "  # noqa: S608 (our table names)
        f"partner_count = (SELECT COUNT(*) FROM {participation} p WHERE p.engagement_id = {engagement}.id), "
        f"under_framework = EXISTS (SELECT 1 FROM {through} f WHERE f.engagement_id = {engagement}.id)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0013_search_lexemes"),
        ("organizations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="engagement",
            name="partner_count",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="number of partners"),
        ),
        migrations.AddField(
            model_name="engagement",
            name="under_framework",
            field=models.BooleanField(default=False, editable=False, verbose_name="under a framework"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="engagement",
            index=models.Index(
                fields=["id"],
                include=("start_date", "end_date", "status", "deleted_at", "partner_count", "under_framework"),
                name="engagement_scoring",
            ),
        ),
    ]
