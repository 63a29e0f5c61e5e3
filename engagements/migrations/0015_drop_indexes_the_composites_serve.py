"""Drop five single-column foreign-key indexes that a composite index with the same first column serves:
engagement host_country, series and owner_unit (engagement_host_start, engagement_series_start,
engagement_owner_start: the column then start_date), participation engagement and partner
(participation_unique_partner, participation_partner). Every index is maintained for each imported row;
these answered no query the composites do not (bench/README.md, issue 22).

Only the indexes are dropped: Django's own AlterField would also drop and re-add each foreign key, which
checks every row of the million-row tables again."""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [
    ("engagements_engagement_host_country_id_2c32957f", "engagements_engagement", "host_country_id"),
    ("engagements_engagement_owner_unit_id_6126d550", "engagements_engagement", "owner_unit_id"),
    ("engagements_engagement_series_id_c685cbe1", "engagements_engagement", "series_id"),
    ("engagements_participation_engagement_id_622906d7", "engagements_participation", "engagement_id"),
    ("engagements_participation_partner_id_988f16b6", "engagements_participation", "partner_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_approver_group"),
        ("engagements", "0014_engagement_partner_count_and_framework"),
        ("partners", "0002_partner_aliases_search_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="engagement",
                    name="host_country",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="hosted_engagements",
                        to="partners.partnernation",
                        verbose_name="host country",
                    ),
                ),
                migrations.AlterField(
                    model_name="engagement",
                    name="owner_unit",
                    field=models.ForeignKey(
                        db_index=False,
                        help_text="The unit that owns the engagement: its planners write it, its approvers approve it.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="engagements",
                        to="core.unit",
                        verbose_name="owner unit",
                    ),
                ),
                migrations.AlterField(
                    model_name="engagement",
                    name="series",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="engagements",
                        to="engagements.exerciseseries",
                        verbose_name="series",
                    ),
                ),
                migrations.AlterField(
                    model_name="participation",
                    name="engagement",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="participations",
                        to="engagements.engagement",
                        verbose_name="engagement",
                    ),
                ),
                migrations.AlterField(
                    model_name="participation",
                    name="partner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="participations",
                        to="partners.partnernation",
                        verbose_name="partner",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}", f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})"
                )
                for name, table, column in INDEXES
            ],
        ),
    ]
