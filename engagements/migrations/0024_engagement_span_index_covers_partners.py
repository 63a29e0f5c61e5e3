"""The deconfliction's range index holds each engagement's partners too: ``engagement_span_live`` (migration
0020) is built again with ``partner_ids`` (migration 0022) among its included columns, so that "which of the
engagements on these days have one of these partners" is answered from the index alone, by
``partner_ids && ARRAY[...]`` (engagements/deconfliction.py, ``_taking_part``), instead of one probe of the
participations' (engagement, partner) key per engagement on the plan's days (about 1,000 on a save at a
million, 9,000 on a busy partner's). The new index is built before the old one is dropped, under its own
name, then renamed: the candidates' statement always has one. PostgreSQL only.
"""

from django.db import migrations

SPAN = "USING gist (daterange(start_date, end_date, '[]'))"
LIVE = "WHERE deleted_at IS NULL AND status <> 'cancelled'"
WITH_PARTNERS = (
    f"CREATE INDEX IF NOT EXISTS engagement_span_partners ON engagements_engagement {SPAN} "
    f"INCLUDE (id, start_date, end_date, host_country_id, sensitivity, partner_ids) {LIVE}"
)
WITHOUT_PARTNERS = (
    f"CREATE INDEX IF NOT EXISTS engagement_span_plain ON engagements_engagement {SPAN} "
    f"INCLUDE (id, start_date, end_date, host_country_id, sensitivity) {LIVE}"
)


def _replace(schema_editor, create: str, built: str) -> None:
    schema_editor.execute(create)
    schema_editor.execute("DROP INDEX IF EXISTS engagement_span_live")
    schema_editor.execute(f"ALTER INDEX {built} RENAME TO engagement_span_live")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _replace(schema_editor, WITH_PARTNERS, "engagement_span_partners")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _replace(schema_editor, WITHOUT_PARTNERS, "engagement_span_plain")


class Migration(migrations.Migration):
    dependencies = [("engagements", "0023_partial_indexes_only_rows_that_name_one")]

    operations = [migrations.RunPython(forwards, backwards)]
