# ruff: noqa: S608 (the SQL is built from this file's own table and column names; no value comes from outside)
"""Deltas of the activity counts and partner pairs, written by the database: a run after a write adds the
write's part to the quarter's snapshots instead of counting the quarter again (``QuarterActivityDelta``).

The engagements' statement-level trigger now writes, for each engagement a statement changed in what the
counts read (start date, status, deletion, sensitivity, type, ``partner_ids``), its part before (-1) and
after (+1), each when it was counted (not deleted, not cancelled). A statement of more than ``MANY``
engagements (an import, a bulk refresh) marks its quarters for a count instead, as before. The
participations' trigger goes: a change of participants reaches the counts only through the engagement's
``partner_ids``, which the participations' own triggers (``engagements.0022``) keep, and whose update this
trigger sees. Memberships, regions and acronyms still mark every quarter.
"""

import importlib

from django.db import migrations, models

import core.fields

MANY = 1000
DELTA = (
    "INSERT INTO assessments_quarteractivitydelta "
    "(period, sign, engagement_type, restricted, scored, start_date, partner_ids)"
)
MARK = "INSERT INTO assessments_quarteractivitychange (period)"
QUARTER = "DATE_TRUNC('quarter', {0}start_date)::date"
COUNTED = "{0}deleted_at IS NULL AND {0}status <> 'cancelled'"
PART = (
    "{0}engagement_type, {0}sensitivity = 'restricted', {0}status IN ('in_progress', 'completed'), "
    "{0}start_date, {0}partner_ids"
)
FACTS = ("start_date", "status", "deleted_at", "sensitivity", "engagement_type", "partner_ids")
DIFFERS = "({}) IS DISTINCT FROM ({})".format(", ".join(f"o.{f}" for f in FACTS), ", ".join(f"n.{f}" for f in FACTS))
CHANGED = f"new_rows n JOIN old_rows o ON o.id = n.id WHERE {DIFFERS}"


def _part(sign, rows, prefix=""):
    """The delta rows of sign ``sign`` for the counted engagements among ``rows`` (columns ``prefix``ed)."""
    where = "AND" if " WHERE " in rows else "WHERE"
    return (
        f"{DELTA} SELECT {QUARTER.format(prefix)}, {sign}, {PART.format(prefix)} FROM {rows} "
        f"{where} {COUNTED.format(prefix)}"
    )


FORWARD = f"""
CREATE OR REPLACE FUNCTION quarter_activity_changed_engagement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT COUNT(*) INTO changed FROM new_rows;
        IF changed > {MANY} THEN
            {MARK} SELECT DISTINCT {QUARTER.format("")} FROM new_rows;
        ELSE
            {_part(1, "new_rows")};
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT COUNT(*) INTO changed FROM old_rows;
        IF changed > {MANY} THEN
            {MARK} SELECT DISTINCT {QUARTER.format("")} FROM old_rows;
        ELSE
            {_part(-1, "old_rows")};
        END IF;
    ELSE
        SELECT COUNT(*) INTO changed FROM {CHANGED};
        IF changed = 0 THEN
            RETURN NULL;
        ELSIF changed > {MANY} THEN
            {MARK} SELECT DISTINCT DATE_TRUNC('quarter', day)::date FROM (
                SELECT o.start_date AS was, n.start_date AS now FROM {CHANGED}
            ) moved CROSS JOIN LATERAL (VALUES (was), (now)) days (day);
        ELSE
            {_part(-1, CHANGED, "o.")};
            {_part(1, CHANGED, "n.")};
        END IF;
    END IF;
    RETURN NULL;
END $$;
ALTER TABLE assessments_quarteractivitydelta ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
DROP TRIGGER IF EXISTS engagements_participation_activity_insert ON engagements_participation;
DROP TRIGGER IF EXISTS engagements_participation_activity_update ON engagements_participation;
DROP TRIGGER IF EXISTS engagements_participation_activity_delete ON engagements_participation;
DROP FUNCTION IF EXISTS quarter_activity_changed_participation();
"""


def _before():
    return importlib.import_module("assessments.migrations.0012_quarter_activity_changes")


def forward(apps, schema_editor):
    """PostgreSQL only: elsewhere (SQLite, for development) a run recounts every quarter it scores."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        before = _before()
        schema_editor.execute(before.FORWARD.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
        participation = [watched for watched in before.WATCHED if watched[0] == "engagements_participation"]
        schema_editor.execute("\n".join(s for watched in participation for s in before._triggers(*watched)))


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0012_quarter_activity_changes"),
        ("engagements", "0024_engagement_span_index_covers_partners"),
    ]

    operations = [
        migrations.CreateModel(
            name="QuarterActivityDelta",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("period", models.DateField(help_text="First day of the quarter.", verbose_name="quarter")),
                ("sign", models.SmallIntegerField(verbose_name="sign")),
                ("engagement_type", models.CharField(max_length=30, verbose_name="engagement type")),
                ("restricted", models.BooleanField(verbose_name="restricted")),
                (
                    "scored",
                    models.BooleanField(
                        help_text="Completed or in progress: counted in the pairs.", verbose_name="scored"
                    ),
                ),
                ("start_date", models.DateField(verbose_name="start date")),
                (
                    "partner_ids",
                    core.fields.IdArrayField(
                        base_field=models.IntegerField(), default=list, size=None, verbose_name="partners"
                    ),
                ),
            ],
            options={
                "verbose_name": "quarter activity delta",
                "verbose_name_plural": "quarter activity deltas",
                "indexes": [models.Index(fields=["period"], name="quarter_activity_delta")],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
