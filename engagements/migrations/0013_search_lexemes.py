"""Every word the engagements' search documents hold, for ``q`` to name a prefix's words (engagements/search.py).

``'training':*`` makes the GIN index collect every document of every word starting with "training" before
the words are intersected: 430,000 documents read to find the 15,989 of "ivory coast training" on the
million-engagement data set. Named words (``'training' | 'trainings'``) let the index skip along the other
words' lists instead (bench/README.md). The words come from ``engagement_search_lexeme``, which the
statement triggers below keep a superset of the words in ``search_vector`` (every insert, COPY included,
and every update that changes the document; a word is never removed, so a stale word only costs a lookup
that finds nothing). PostgreSQL only: SQLite has no stored document.
"""

from django.db import migrations

LEXEME_SQL = """
CREATE TABLE engagement_search_lexeme (lexeme text COLLATE "C" PRIMARY KEY);

-- Sorted inserts: two writers adding the same new words take them in the same order (no deadlock).
CREATE FUNCTION engagement_search_lexemes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO engagement_search_lexeme (lexeme)
        SELECT DISTINCT unnest(tsvector_to_array(search_vector)) FROM new_rows ORDER BY 1
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION engagement_search_lexemes_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO engagement_search_lexeme (lexeme)
        SELECT DISTINCT unnest(tsvector_to_array(new_rows.search_vector))
        FROM new_rows JOIN old_rows ON old_rows.id = new_rows.id
        WHERE new_rows.search_vector IS DISTINCT FROM old_rows.search_vector
        ORDER BY 1
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER engagement_search_lexemes_insert AFTER INSERT ON engagements_engagement
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_search_lexemes_inserted();
CREATE TRIGGER engagement_search_lexemes_update AFTER UPDATE ON engagements_engagement
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_search_lexemes_updated();

-- After the triggers: creating them locked out writers until this migration commits, so every row is either
-- read here or written later (and added by a trigger).
INSERT INTO engagement_search_lexeme (lexeme)
    SELECT DISTINCT unnest(tsvector_to_array(search_vector)) FROM engagements_engagement
    ON CONFLICT DO NOTHING;
"""

UNDO_SQL = """
DROP TRIGGER IF EXISTS engagement_search_lexemes_update ON engagements_engagement;
DROP TRIGGER IF EXISTS engagement_search_lexemes_insert ON engagements_engagement;
DROP FUNCTION IF EXISTS engagement_search_lexemes_updated();
DROP FUNCTION IF EXISTS engagement_search_lexemes_inserted();
DROP TABLE IF EXISTS engagement_search_lexeme;
"""


def create_lexemes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LEXEME_SQL)


def drop_lexemes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNDO_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0012_owner_unit_required"),
    ]

    operations = [
        migrations.RunPython(create_lexemes, drop_lexemes),
    ]
