"""The range index of the deconfliction holds what its candidates' statement reads: the GiST index on each
engagement's days as a range (``daterange(start_date, end_date, '[]')``) becomes partial (live engagements
not cancelled, the only ones that conflict) and includes the id, the dates, the host and the sensitivity, so
that "which engagements meet these days, and which of them are in this host country" is answered from the
index alone (an index-only scan), without reading each engagement's row (engagements/deconfliction.py,
``_candidates``). On a save at a million engagements the candidates read 6,000 to 18,000 rows, one table
page each. PostgreSQL only; it replaces ``engagement_span`` (migration 0016), which nothing else reads.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS engagement_span_live ON engagements_engagement "
    "USING gist (daterange(start_date, end_date, '[]')) "
    "INCLUDE (id, start_date, end_date, host_country_id, sensitivity) "
    "WHERE deleted_at IS NULL AND status <> 'cancelled'"
)
OLD = "CREATE INDEX IF NOT EXISTS engagement_span ON engagements_engagement USING gist (daterange(start_date, end_date, '[]'))"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute("DROP INDEX IF EXISTS engagement_span")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OLD)
        schema_editor.execute("DROP INDEX IF EXISTS engagement_span_live")


class Migration(migrations.Migration):
    dependencies = [("engagements", "0019_engagement_report_ratings")]

    operations = [migrations.RunPython(forwards, backwards)]
