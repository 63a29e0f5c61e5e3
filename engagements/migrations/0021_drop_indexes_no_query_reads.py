"""Drop the indexes no query reads, each maintained for every imported row (bench/README.md, "Import: the
indexes and the check, fourth pass (issue 22)"):

- engagement created_by, updated_by, deleted_by: shown with the engagement, never filtered or joined by;
  deleting a user clears them with a scan, as it already does in the history (migration 0018);
- engagement reference's ``varchar_pattern_ops`` (``LIKE``) index: references are found by their whole value,
  through the unique index; nothing searches them by prefix;
- partner change partner and engagement: pending changes are read through ``partnerchange_pending``
  (processed_at, partner); partners are reference data and engagements are only ever deleted softly;
- participation history partner: that history is read by engagement and date.

Only the indexes are dropped: Django's own AlterField would also drop and re-add each foreign key, which
checks every row of the million-row tables again."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = [
    "engagements_engagement_created_by_id_53809788",
    "engagements_engagement_updated_by_id_640eb3d1",
    "engagements_engagement_deleted_by_id_79a630f7",
    "engagements_engagement_reference_a75e2106_like",
    "engagements_partnerchange_engagement_id_d28420e2",
    "engagements_partnerchange_partner_id_54909bd0",
    "engagements_historicalparticipation_partner_id_c0e7b6cd",
]


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0020_engagement_span_index_covers_candidates"),
        ("partners", "0002_partner_aliases_search_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="engagement",
                    name="created_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                migrations.AlterField(
                    model_name="engagement",
                    name="deleted_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="deleted by",
                    ),
                ),
                migrations.AlterField(
                    model_name="engagement",
                    name="updated_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="updated by",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalparticipation",
                    name="partner",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="partners.partnernation",
                        verbose_name="partner",
                    ),
                ),
                migrations.AlterField(
                    model_name="partnerchange",
                    name="engagement",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="engagements.engagement",
                    ),
                ),
                migrations.AlterField(
                    model_name="partnerchange",
                    name="partner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="engagement_changes",
                        to="partners.partnernation",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name in INDEXES],
                    # Back: the indexes as Django made them.
                    [
                        'CREATE INDEX "engagements_engagement_created_by_id_53809788" ON "engagements_engagement" ("created_by_id")',
                        'CREATE INDEX "engagements_engagement_updated_by_id_640eb3d1" ON "engagements_engagement" ("updated_by_id")',
                        'CREATE INDEX "engagements_engagement_deleted_by_id_79a630f7" ON "engagements_engagement" ("deleted_by_id")',
                        'CREATE INDEX "engagements_engagement_reference_a75e2106_like" ON "engagements_engagement" '
                        '("reference" varchar_pattern_ops)',
                        'CREATE INDEX "engagements_partnerchange_engagement_id_d28420e2" ON "engagements_partnerchange" '
                        '("engagement_id")',
                        'CREATE INDEX "engagements_partnerchange_partner_id_54909bd0" ON "engagements_partnerchange" '
                        '("partner_id")',
                        'CREATE INDEX "engagements_historicalparticipation_partner_id_c0e7b6cd" ON '
                        '"engagements_historicalparticipation" ("partner_id")',
                    ],
                ),
            ],
        ),
    ]
