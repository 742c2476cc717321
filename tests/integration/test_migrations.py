"""Migrations: up, down and up again on the run's database engine, and models match tables."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import asyncpg
import pytest
from tortoise import Tortoise

from domain.core import migrations
from tests.conftest import create_pg_database, drop_pg_database, make_settings

# Columns the database maintains itself and the ORM never reads or writes.
DATABASE_ONLY_COLUMNS = {"prospects": {"search_vector"}}

FOUNDATION_TABLES = {"tenants", "users", "memberships", "invites", "auth_sessions",
                     "refresh_tokens", "api_keys", "login_failures", "outbox_events"}


async def _tables(settings) -> set[str]:
    if settings.dialect == "postgres":
        conn = await asyncpg.connect(settings.database_url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        finally:
            await conn.close()
        return {r["tablename"] for r in rows} - {"schema_migrations"}
    import aiosqlite

    async with aiosqlite.connect(settings.database_url.removeprefix("sqlite://")) as conn:
        cursor = await conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        return {r[0] for r in await cursor.fetchall()} - {"schema_migrations"}


@pytest.fixture
async def scratch_settings(backend):
    data_dir = Path(tempfile.mkdtemp(prefix="tg-mig-"))
    if backend == "postgres":
        name = f"tg_mig_{os.getpid()}"
        settings = make_settings(await create_pg_database(name), data_dir)
        yield settings
        await drop_pg_database(name)
    else:
        yield make_settings(f"sqlite://{data_dir / 'mig.sqlite3'}", data_dir)


async def test_up_down_up(scratch_settings):
    every = [m.name for m in migrations.discover()]
    assert await migrations.upgrade(scratch_settings) == every
    assert FOUNDATION_TABLES <= await _tables(scratch_settings)
    assert all(done for _, done in await migrations.status(scratch_settings))
    assert await migrations.upgrade(scratch_settings) == []  # idempotent

    assert await migrations.downgrade(scratch_settings, len(every)) == list(reversed(every))
    assert await _tables(scratch_settings) == set()
    assert not any(done for _, done in await migrations.status(scratch_settings))

    assert await migrations.upgrade(scratch_settings) == every
    assert FOUNDATION_TABLES <= await _tables(scratch_settings)


async def test_down_one_step_reverts_only_the_newest(scratch_settings):
    every = [m.name for m in migrations.discover()]
    await migrations.upgrade(scratch_settings)
    assert await migrations.downgrade(scratch_settings, 1) == [every[-1]]
    states = await migrations.status(scratch_settings)
    assert [done for _, done in states] == [True] * (len(every) - 1) + [False]
    assert await migrations.upgrade(scratch_settings) == [every[-1]]


async def test_every_model_matches_its_migrated_table(settings):
    """The ORM's idea of each table equals what the migrations built."""
    connection = Tortoise.get_connection("default")
    for model in Tortoise.apps["models"].values():
        table = model._meta.db_table
        expected = set(model._meta.fields_db_projection.values())
        if settings.dialect == "postgres":
            expected |= DATABASE_ONLY_COLUMNS.get(table, set())
        if settings.dialect == "postgres":
            rows = await connection.execute_query_dict(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1",
                [table])
            actual = {r["column_name"] for r in rows}
        else:
            rows = await connection.execute_query_dict(f'PRAGMA table_info("{table}")')
            actual = {r["name"] for r in rows}
        assert actual == expected, table
