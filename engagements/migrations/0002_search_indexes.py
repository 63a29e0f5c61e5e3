"""Trigram indexes for the list's free-text search (``q``) on PostgreSQL.

``q`` is ``UPPER(column) LIKE UPPER('%term%')`` over title, location and description (Django's
``icontains``). Without these indexes a rare term made PostgreSQL walk the whole start-date index: 3.6 s
on a million engagements for ``q=lion``; with them, 27 ms (bench/README.md). pg_trgm is a trusted
extension, so the database owner may create it; where that is refused, search works without the indexes.
SQLite (the embedded default) has no such indexes and needs none at its sizes.
"""

from django.db import DatabaseError, migrations, transaction

INDEXES = {
    "engagement_title_trgm": "USING gin (UPPER(title) gin_trgm_ops)",
    "engagement_location_trgm": "USING gin (UPPER(location_name) gin_trgm_ops)",
    "engagement_description_trgm": "USING gin (UPPER(description) gin_trgm_ops)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError:  # no privilege to create it: search stays correct, only slower
            return
        for name, body in INDEXES.items():
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON engagements_engagement {body}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("engagements", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
