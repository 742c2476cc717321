"""Test setup: one backend per run (`--backend sqlite|postgres`), real servers, no mocks.

The PostgreSQL run creates a fresh database, migrates it as the owner and runs the app as the
non-owner role, so row-level security is in force exactly as in production. Redis is the real
server. In CI a missing server fails the run; nothing is skipped.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql.execution.executor import Executor

from api.app import create_app
from domain import subscriptions
from domain.core import config, db, jobs, migrations, security
from domain.core.config import Settings
from domain.tenancy import service
from domain.tenancy.models import Tenant
from domain.tenancy.sessions import issue_session
from tests.emulator_fixture import emu, emulator  # noqa: F401 - fixtures, used by name
from workers.queue import InProcessQueue

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
PASSWORD = "correct-horse-battery"
# Every test world hashes several passwords: argon2 at its lightest keeps that from dominating
# the suite's time (the production parameters are argon2-cffi's defaults).
security.set_password_work_factor(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", default=os.environ.get("TG_TEST_BACKEND", "sqlite"),
                     choices=["sqlite", "postgres"])


def pytest_report_header(config: pytest.Config) -> str:
    return f"talentgraph backend: {config.getoption('--backend')}"


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--backend"))


async def create_pg_database(name: str) -> str:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_pg_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    env = {
        "TALENTGRAPH_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "ENCRYPTION_KEYS": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=",
    }
    env.update({k: str(v) for k, v in overrides.items()})
    return config.load_settings(env)


@pytest.fixture(scope="session")
async def settings(backend: str) -> AsyncIterator[Settings]:
    data_dir = Path(tempfile.mkdtemp(prefix="tg-test-"))
    pg_name = None
    if backend == "postgres":
        pg_name = f"tg_test_{os.getpid()}"
        url = await create_pg_database(pg_name)
    else:
        url = f"sqlite://{data_dir / 'test.sqlite3'}"
    settings = make_settings(url, data_dir)
    config.configure(settings)
    subscriptions.register()
    await migrations.upgrade(settings)
    await db.open_db(settings)
    queue = InProcessQueue(retry_base_seconds=0.01)
    jobs.install(queue)
    try:
        yield settings
    finally:
        await queue.close()
        await db.close_db()
        if pg_name:
            await drop_pg_database(pg_name)


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[InProcessQueue]:
    """The in-process job queue; drain() waits for everything queued so far."""
    current = InProcessQueue(retry_base_seconds=0.01)
    previous = jobs.install(current)
    yield current
    await current.drain()
    jobs.install(previous)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> Any:
    return create_app(settings, manage_db=False)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@dataclass
class Member:
    email: str
    role: str
    membership_id: Any
    user_id: Any
    token: str


@dataclass
class World:
    """A tenant with one member per role (admin first), each with a live access token."""

    tenant: Tenant
    members: dict[str, Member]

    @property
    def admin(self) -> Member:
        return self.members["admin"]

    async def scope(self, role: str = "admin") -> Any:
        from domain.tenancy.sessions import scope_from_access_token

        return await scope_from_access_token(self.members[role].token)


async def make_world(label: str = "t") -> World:
    slug = f"{label}-{secrets.token_hex(4)}"
    tenant = await service.create_tenant(slug=slug, name=f"Tenant {slug}")
    members = {}
    for role in ("admin", "recruiter", "sourcer", "coordinator", "hiring_manager", "viewer"):
        email = f"{role}.{slug}@example.com"
        membership = await service.ensure_member(tenant=tenant, email=email, name=role.title(),
                                                 role=role, password=PASSWORD)
        async with db.system_tenant_tx(str(tenant.id)):
            from domain.tenancy.models import User

            user = await User.get(email=email)
            issued = await issue_session(user, tenant, role)
        members[role] = Member(email, role, membership.id, user.id, issued.access_token)
    return World(tenant, members)


@pytest.fixture
async def world(settings: Settings) -> World:
    return await make_world("a")


@pytest.fixture
async def other_world(settings: Settings) -> World:
    return await make_world("b")


class GraphQL:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *,
                       token: str | None = None, expect_errors: bool = False) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables},
                                        headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if not expect_errors:
            assert "errors" not in body, body["errors"]
        return body  # type: ignore[no-any-return]


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    return GraphQL(client)


@pytest.fixture
def normal_path_completions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the object types graphql-core completes itself, in order: what the flat
    path (api/flat_executor.py) left to it."""
    completed: list[str] = []
    original = Executor.collect_and_execute_subfields

    def spy(self: Any, return_type: Any, *args: Any) -> Any:
        completed.append(return_type.name)
        return original(self, return_type, *args)

    monkeypatch.setattr(Executor, "collect_and_execute_subfields", spy)
    return completed
