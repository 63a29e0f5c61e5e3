"""The stored search document of engagements (engagements/search.py says the rules).

``search_names`` (every database) holds the series and countries' names; on PostgreSQL a generated
``tsvector`` column weighs title and reference (A), those names (B), location (C) and description (D)
under the text search configuration ``engagement_search`` (``simple`` with ``unaccent``), and a GIN index
answers ``q``. ``unaccent`` and ``pg_trgm`` are trusted extensions: the database owner may create them, so
this runs on a fresh database and in the test databases. The trigram indexes of 0002 served the old
substring search only; they go (every write paid for them).
"""

from django.db import migrations, models

SEARCH_SQL = """
CREATE EXTENSION IF NOT EXISTS unaccent;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'engagement_search') THEN
        CREATE TEXT SEARCH CONFIGURATION engagement_search (COPY = simple);
        ALTER TEXT SEARCH CONFIGURATION engagement_search
            ALTER MAPPING FOR hword, hword_part, word, asciiword, asciihword, hword_asciipart
            WITH unaccent, simple;
    END IF;
END $$;
ALTER TABLE engagements_engagement ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('engagement_search'::regconfig, coalesce(title, '') || ' ' || coalesce(reference, '')), 'A')
    || setweight(to_tsvector('engagement_search'::regconfig, coalesce(search_names, '')), 'B')
    || setweight(to_tsvector('engagement_search'::regconfig, coalesce(location_name, '')), 'C')
    || setweight(to_tsvector('engagement_search'::regconfig, coalesce(description, '')), 'D')
) STORED;
CREATE INDEX engagement_search ON engagements_engagement USING gin (search_vector);
DROP INDEX IF EXISTS engagement_title_trgm;
DROP INDEX IF EXISTS engagement_location_trgm;
DROP INDEX IF EXISTS engagement_description_trgm;
"""

UNDO_SQL = """
DROP INDEX IF EXISTS engagement_search;
ALTER TABLE engagements_engagement DROP COLUMN IF EXISTS search_vector;
DROP TEXT SEARCH CONFIGURATION IF EXISTS engagement_search;
"""


def create_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEARCH_SQL)


def drop_search_vector(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNDO_SQL)


def fill_search_names(apps, schema_editor):
    from engagements.services.search import engagement_search_refresh

    engagement_search_refresh(
        models=(
            apps.get_model("engagements", "Engagement"),
            apps.get_model("engagements", "Participation"),
            apps.get_model("partners", "PartnerNation"),
            apps.get_model("engagements", "ExerciseSeries"),
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0005_input_limits_on_fields"),
        ("partners", "0002_partner_aliases_search_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="engagement",
            name="search_names",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="search names"),
        ),
        migrations.RunPython(fill_search_names, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_search_vector, drop_search_vector),
    ]
