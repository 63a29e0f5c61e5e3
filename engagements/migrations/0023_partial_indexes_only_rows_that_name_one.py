"""The series and point-of-contact indexes hold only the rows that name one (bench/README.md, "Import: fifth
pass (issue 22)"): every query that reads them asks for a given series or user (``series = ?``,
``series IN (...)``, ``point_of_contact = ?``, and the cascades of deleting a user or a series), which implies
a value that is not null, so the partial indexes serve all of them; a row without one (most imported rows: 0.3 %
of the million name a series) no longer adds an entry.

The point of contact's own index is dropped by name: Django's AlterField would also drop and re-add the
foreign key, which checks every row of the million-row table again."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0022_engagement_partner_ids"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="engagement",
            name="engagement_series_start",
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="engagement",
                    name="point_of_contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="Who answers questions about the engagement and writes its after-action report.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="contact_engagements",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="point of contact",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS engagements_engagement_point_of_contact_id_7433062b;",
                    "CREATE INDEX IF NOT EXISTS engagements_engagement_point_of_contact_id_7433062b "
                    "ON engagements_engagement (point_of_contact_id);",
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="engagement",
            index=models.Index(
                condition=models.Q(("series__isnull", False)),
                fields=["series", "start_date"],
                name="engagement_series_start",
            ),
        ),
        migrations.AddIndex(
            model_name="engagement",
            index=models.Index(
                condition=models.Q(("point_of_contact__isnull", False)),
                fields=["point_of_contact"],
                name="engagement_contact",
            ),
        ),
    ]
