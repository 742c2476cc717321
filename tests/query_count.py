"""Counting the SQL a request sends, for tests that assert a fixed number of queries."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.sqlite.client import SqliteClient


@contextlib.contextmanager
def counting_selects() -> Iterator[list[str]]:
    """Records every SELECT the ORM sends (transaction setup excluded)."""
    seen: list[str] = []
    patched = []
    for cls in (SqliteClient, AsyncpgDBClient):
        for name in ("execute_query", "execute_query_dict"):
            original = getattr(cls, name)

            def wrap(original: Any) -> Any:
                async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
                    text = query.lstrip().upper()
                    if text.startswith("SELECT") and "SET_CONFIG" not in text:
                        seen.append(query)
                    return await original(self, query, *args, **kwargs)
                return counted
            setattr(cls, name, wrap(original))
            patched.append((cls, name, original))
    try:
        yield seen
    finally:
        for cls, name, original in patched:
            setattr(cls, name, original)
