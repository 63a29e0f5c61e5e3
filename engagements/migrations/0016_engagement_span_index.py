"""A GiST index on each engagement's days as a range (``daterange(start_date, end_date, '[]')``), so that
"which engagements overlap these days", asked by the deconfliction on every save, reads the few that do
instead of walking the start-date index from the oldest engagement (engagements/deconfliction.py,
``_meeting``). PostgreSQL only: elsewhere the query compares the two dates, without this index.
``end_date >= start_date`` is a constraint, so every row has a valid range.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS engagement_span ON engagements_engagement "
    "USING gist (daterange(start_date, end_date, '[]'))"
)
DROP = "DROP INDEX IF EXISTS engagement_span"


def create_span_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_span_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("engagements", "0015_drop_indexes_the_composites_serve")]

    operations = [migrations.RunPython(create_span_index, drop_span_index)]
