# ruff: noqa: S608 (the SQL is built from this file's own table and column names; no value comes from outside)
"""Quarters whose activity counts or partner pairs a write may have changed, marked by the database.

Statement-level triggers (one row per quarter touched by a statement, whatever its number of rows, read from
its transition tables) on everything ``assessments/services/activity.py`` counts from: an engagement's start
date, status, deletion, sensitivity and type; its participants; a partner's region, subregion and
intermediate region; memberships; an organization's acronym. The last three put partners in or out of
scopes on any day, so they mark every quarter from the first engagement's to the last one's. Every quarter
counted so far is marked once here: the next run that covers it recounts it, as every run did before.
"""

from django.db import migrations, models

MARK = "INSERT INTO assessments_quarteractivitychange (period)"
QUARTER = "DATE_TRUNC('quarter', {})::date"
EVERY_QUARTER = f"""{MARK}
        SELECT GENERATE_SERIES({QUARTER.format("MIN(start_date)")}, MAX(start_date), INTERVAL '3 months')::date
        FROM engagements_engagement"""

ENGAGEMENT_FACTS = "start_date, status, deleted_at, sensitivity, engagement_type"

FORWARD = f"""
CREATE FUNCTION quarter_activity_changed_engagement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {MARK} SELECT DISTINCT {QUARTER.format("start_date")} FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        {MARK} SELECT DISTINCT {QUARTER.format("start_date")} FROM old_rows;
    ELSE
        {MARK} SELECT DISTINCT {QUARTER.format("day")} FROM (
            SELECT o.start_date AS was, n.start_date AS now FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (o.{ENGAGEMENT_FACTS.replace(", ", ", o.")}) IS DISTINCT FROM (n.{ENGAGEMENT_FACTS.replace(", ", ", n.")})
        ) changed CROSS JOIN LATERAL (VALUES (was), (now)) days (day);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION quarter_activity_changed_participation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {MARK} SELECT DISTINCT {QUARTER.format("e.start_date")}
        FROM engagements_engagement e WHERE e.id IN (SELECT engagement_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        {MARK} SELECT DISTINCT {QUARTER.format("e.start_date")}
        FROM engagements_engagement e WHERE e.id IN (SELECT engagement_id FROM old_rows);
    ELSE
        {MARK} SELECT DISTINCT {QUARTER.format("e.start_date")}
        FROM engagements_engagement e WHERE e.id IN (
            SELECT UNNEST(ARRAY[o.engagement_id, n.engagement_id]) FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (o.engagement_id, o.partner_id) IS DISTINCT FROM (n.engagement_id, n.partner_id)
        );
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION quarter_activity_changed_scopes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'partners_partnernation' THEN
            PERFORM 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (o.region, o.subregion, o.intermediate_region)
                  IS DISTINCT FROM (n.region, n.subregion, n.intermediate_region);
        ELSIF TG_TABLE_NAME = 'organizations_organization' THEN
            PERFORM 1 FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.acronym IS DISTINCT FROM n.acronym;
        ELSE
            PERFORM 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (o.partner_id, o.organization_id, o.status, o.joined, o."left")
                  IS DISTINCT FROM (n.partner_id, n.organization_id, n.status, n.joined, n."left");
        END IF;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM old_rows LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    ELSE
        PERFORM 1 FROM new_rows LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    {EVERY_QUARTER};
    RETURN NULL;
END $$;
"""


def _triggers(table, function, events):
    statements = []
    for event in events:
        tables = {
            "INSERT": "NEW TABLE AS new_rows",
            "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "DELETE": "OLD TABLE AS old_rows",
        }[event]
        name = f"{table}_activity_{event.lower()}"
        statements.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )
    return statements


WATCHED = [
    ("engagements_engagement", "quarter_activity_changed_engagement", ("INSERT", "UPDATE", "DELETE")),
    ("engagements_participation", "quarter_activity_changed_participation", ("INSERT", "UPDATE", "DELETE")),
    ("partners_partnernation", "quarter_activity_changed_scopes", ("UPDATE", "DELETE")),
    ("organizations_membership", "quarter_activity_changed_scopes", ("INSERT", "UPDATE", "DELETE")),
    ("organizations_organization", "quarter_activity_changed_scopes", ("UPDATE", "DELETE")),
]

CREATE = FORWARD + "\n".join(s for table, function, events in WATCHED for s in _triggers(table, function, events))
DROP = "\n".join(
    [
        f"DROP TRIGGER IF EXISTS {table}_activity_{event.lower()} ON {table};"
        for table, _function, events in WATCHED
        for event in events
    ]
    + [
        "DROP FUNCTION IF EXISTS quarter_activity_changed_engagement();",
        "DROP FUNCTION IF EXISTS quarter_activity_changed_participation();",
        "DROP FUNCTION IF EXISTS quarter_activity_changed_scopes();",
    ]
)
# Every quarter counted so far is recounted by the next run that covers it.
MARK_COUNTED = f"{MARK} SELECT DISTINCT period FROM assessments_quarteractivity WHERE scope_kind = '';"


def create_triggers(apps, schema_editor):
    """PostgreSQL only: elsewhere (SQLite, for development) a run recounts every quarter it scores."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute(MARK_COUNTED)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0011_partner_pair_quarters"),
        ("engagements", "0019_engagement_report_ratings"),
        ("organizations", "0001_initial"),
        ("partners", "0002_partner_aliases_search_key"),
    ]

    operations = [
        migrations.CreateModel(
            name="QuarterActivityChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("period", models.DateField(help_text="First day of the quarter.", verbose_name="quarter")),
            ],
            options={
                "verbose_name": "quarter activity change",
                "verbose_name_plural": "quarter activity changes",
                "indexes": [models.Index(fields=["period"], name="quarter_activity_change")],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
