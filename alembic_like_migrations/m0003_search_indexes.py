r"""Rediscovery search on PostgreSQL: a search vector that also marks the words of name, title and
company, and row-level security that lets the full-text index work.

1. `prospects.search_vector` is rebuilt: the words of `search_text` (name, title, company,
   location, notes) as before, plus the words of name, title and company once more, each
   prefixed with "zq" (`regexp_replace(..., '(\w+)', 'zq\1', 'g')`). Search relevance puts
   "all words in name, title or company" first: the query side runs the same regexp over the
   user's text, which makes that tier an exact GIN lookup (tsquery weights would not be: GIN
   keeps no weights, so every row with the word would be fetched and rechecked). See
   domain/prospects/search.py.

2. Under RLS the planner evaluates the tenant policy before any condition whose functions are
   not LEAKPROOF; such a condition may then not be an index condition, and the planner does
   not use the column's statistics to estimate it. `tsvector @@ tsquery`
   (pg_catalog.ts_match_vq) and `text ILIKE text` (pg_catalog.texticlike) are not marked
   LEAKPROOF, so with RLS in force a text search read every row of the tenant, and a location
   filter was estimated at a few rows (plans a hundred times too slow). Both only compare the
   row's value with the query's: no error and no side effect depends on the row (an invalid
   ILIKE pattern fails whatever the rows), so marking them LEAKPROOF reveals nothing about
   rows the policy hides. That needs a superuser: without one (a managed database) the
   statement is skipped with a NOTICE and search stays correct, only slower on large tenants.
   pg_dump does not carry this catalog change: run this migration's down and up again after
   restoring a dump. The search passes the tsquery and the pattern as bound parameters
   (`@@ CAST($n AS tsquery)`, `location ILIKE $n`), so these are the only functions in the
   conditions.

3. Indexes for the orderings, each with the id tiebreak and on the very expressions the
   search sorts by: creation (also the order within a relevance tier), last activity (its
   "has any" flag first) and name (lower-cased "first last"). A page of a broad search walks
   one of them and stops after the page. And a trigram index for location substrings.
"""

from __future__ import annotations

_LEAKPROOF = """DO $$ BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) {mark};
        ALTER FUNCTION pg_catalog.texticlike(text, text) {mark};
    ELSE
        RAISE NOTICE 'not a superuser: ts_match_vq and texticlike stay as they are; under '
                     'row-level security search will not use its text and location indexes';
    END IF;
END $$"""

_MARKED = ("to_tsvector('simple', search_text) || to_tsvector('simple', regexp_replace("
           "first_name || ' ' || last_name || ' ' || title || ' ' || company, '(\\w+)', "
           "'zq\\1', 'g'))")
_PLAIN = "to_tsvector('simple', search_text)"


def _vector(expression: str) -> list[str]:
    return [
        "ALTER TABLE prospects DROP COLUMN search_vector",  # and its index
        f"ALTER TABLE prospects ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        f"({expression}) STORED",
        "CREATE INDEX ix_prospects_search ON prospects USING GIN (search_vector)",
    ]


def up(dialect: str) -> list[str]:
    if dialect != "postgres":
        return []
    return [
        *_vector(_MARKED),
        _LEAKPROOF.format(mark="LEAKPROOF"),
        "CREATE INDEX ix_prospects_tenant_created_id ON prospects (tenant_id, created_at, id)",
        "DROP INDEX IF EXISTS ix_prospects_tenant_created",
        "CREATE INDEX ix_prospects_tenant_activity_id ON prospects "
        "(tenant_id, (CASE WHEN last_activity_at IS NULL THEN 0 ELSE 1 END), last_activity_at, id)",
        "CREATE INDEX ix_prospects_tenant_name_id ON prospects "
        "(tenant_id, lower(first_name || ' ' || last_name), id)",
        # location filters are substrings (pg_trgm comes with m0002)
        "CREATE INDEX ix_prospects_location_trgm ON prospects USING GIN (location gin_trgm_ops)",
    ]


def down(dialect: str) -> list[str]:
    if dialect != "postgres":
        return []
    return [
        "DROP INDEX IF EXISTS ix_prospects_location_trgm",
        "DROP INDEX IF EXISTS ix_prospects_tenant_name_id",
        "DROP INDEX IF EXISTS ix_prospects_tenant_activity_id",
        "CREATE INDEX IF NOT EXISTS ix_prospects_tenant_created ON prospects (tenant_id, created_at)",
        "DROP INDEX IF EXISTS ix_prospects_tenant_created_id",
        _LEAKPROOF.format(mark="NOT LEAKPROOF"),
        *_vector(_PLAIN),
    ]
