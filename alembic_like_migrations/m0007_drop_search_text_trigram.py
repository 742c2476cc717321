"""Drop the trigram index on prospects.search_text (PostgreSQL).

Since m0003 every text search on PostgreSQL goes through the `search_vector` GIN index; no query
matches `search_text` by substring there (only SQLite does, without an index). The trigram
index cost a GIN entry per trigram of the whole search text on every insert and on every
update that cannot be HOT (each new activity moves `last_activity_at`, which is indexed), and
served nothing. (The CSV import on PostgreSQL gained about 4% from it.)
"""

from __future__ import annotations


def up(dialect: str) -> list[str]:
    if dialect != "postgres":
        return []
    return ["DROP INDEX IF EXISTS ix_prospects_search_trgm"]


def down(dialect: str) -> list[str]:
    if dialect != "postgres":
        return []
    return ["CREATE INDEX IF NOT EXISTS ix_prospects_search_trgm ON prospects USING GIN "
            "(search_text gin_trgm_ops)"]
