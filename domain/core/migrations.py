"""A small migration runner over alembic_like_migrations/: up, down N, status.

It talks to the database with the plain driver (not the ORM) and as the owning role, since
migrations create tables, policies and grants that the application role may not.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import alembic_like_migrations
from domain.core.config import Settings


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    module: ModuleType


def discover() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(alembic_like_migrations.__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            module = importlib.import_module(f"alembic_like_migrations.{info.name}")
            found.append(Migration(info.name[1:5], info.name, module))
    return sorted(found, key=lambda m: m.version)


class _Conn:
    """The few operations the runner needs, over asyncpg or aiosqlite."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dialect = settings.dialect
        self._raw: Any = None

    async def __aenter__(self) -> _Conn:
        url = self.settings.migration_database_url
        if self.dialect == "postgres":
            import asyncpg

            self._raw = await asyncpg.connect(url.replace("postgresql://", "postgres://", 1))
        else:
            from pathlib import Path

            import aiosqlite

            path = url.removeprefix("sqlite://")
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._raw = await aiosqlite.connect(path, isolation_level=None)
            await self._raw.execute("PRAGMA foreign_keys=ON")
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version VARCHAR(16) PRIMARY KEY, name VARCHAR(200) NOT NULL)"
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._raw.close()

    async def execute(self, sql: str, *args: Any) -> None:
        if self.dialect == "postgres":
            await self._raw.execute(sql, *args)
        else:
            await self._raw.execute(sql.replace("$1", "?").replace("$2", "?"), args)

    async def applied(self) -> list[str]:
        if self.dialect == "postgres":
            rows = await self._raw.fetch("SELECT version FROM schema_migrations ORDER BY version")
            return [r["version"] for r in rows]
        cursor = await self._raw.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [r[0] for r in await cursor.fetchall()]

    async def run(self, statements: list[str], record: tuple[str, str, bool]) -> None:
        version, name, applying = record
        await self.execute("BEGIN")
        try:
            # Serialise concurrent runners (two servers starting at once) on PostgreSQL.
            if self.dialect == "postgres":
                await self.execute("SELECT pg_advisory_xact_lock(727272)")
            if (version in await self.applied()) == applying:
                await self.execute("ROLLBACK")
                return
            for statement in statements:
                await self.execute(statement)
            if applying:
                await self.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                   version, name)
            else:
                await self.execute("DELETE FROM schema_migrations WHERE version = $1", version)
            await self.execute("COMMIT")
        except BaseException:
            await self.execute("ROLLBACK")
            raise


async def status(settings: Settings) -> list[tuple[Migration, bool]]:
    async with _Conn(settings) as conn:
        done = set(await conn.applied())
    return [(m, m.version in done) for m in discover()]


async def upgrade(settings: Settings) -> list[str]:
    ran = []
    async with _Conn(settings) as conn:
        for migration in discover():
            if migration.version in await conn.applied():
                continue
            await conn.run(migration.module.up(conn.dialect),
                           (migration.version, migration.name, True))
            ran.append(migration.name)
    return ran


async def downgrade(settings: Settings, steps: int = 1) -> list[str]:
    ran = []
    async with _Conn(settings) as conn:
        applied = await conn.applied()
        by_version = {m.version: m for m in discover()}
        for version in list(reversed(applied))[:steps]:
            migration = by_version[version]
            await conn.run(migration.module.down(conn.dialect),
                           (migration.version, migration.name, False))
            ran.append(migration.name)
    return ran
