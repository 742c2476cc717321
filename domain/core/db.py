"""Database lifecycle and the two kinds of transaction every service function runs in.

`tenant_tx(scope)` is the data plane: on PostgreSQL it sets `app.tenant_id` for the
transaction so row-level security hides other tenants' rows even if a filter is forgotten.
`identity_tx()` is the identity plane (login, token refresh, API-key lookup): it may read
identity rows across tenants, and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain.core.config import Settings
from domain.core.scope import Scope

MODEL_MODULES = [
    "domain.tenancy.models",
    "domain.events.models",
    "domain.prospects.models",
    "domain.mailboxes.models",
    "domain.pipeline.models",
    "domain.slas.models",
]

_dialect: str = "sqlite"


@dataclass
class _TxState:
    tenant_id: str | None
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


_tx: ContextVar[_TxState | None] = ContextVar("talentgraph_tx", default=None)
# The tenant settings of the transaction being opened, for _TenantConnection to send with BEGIN.
_begin_with: ContextVar[str | None] = ContextVar("talentgraph_begin_with", default=None)


class _TenantConnection(asyncpg.Connection):
    """Sends a transaction's tenant settings in the same simple query as its BEGIN: one round
    trip instead of two for every transaction. asyncpg's own transaction bookkeeping is
    untouched (it sends exactly "BEGIN;" for a top-level default transaction)."""

    async def execute(self, query: str, *args: Any, timeout: float | None = None  # noqa: ASYNC109 (asyncpg's signature)
                      ) -> str:
        if query == "BEGIN;" and not args:
            settings = _begin_with.get()
            if settings is not None:
                query = f"BEGIN; {settings}"
        return await super().execute(query, *args, timeout=timeout)


def _tenant_settings(tenant_id: str | None, cross_tenant: bool) -> str:
    # Literals, not parameters (a simple query takes none): a UUID's text and a fixed word.
    tenant = str(UUID(tenant_id)) if tenant_id else ""
    flag = "on" if cross_tenant else "off"
    return (f"SELECT set_config('app.tenant_id', '{tenant}', true), "
            f"set_config('app.cross_tenant', '{flag}', true);")


def dialect() -> str:
    return _dialect


async def _release_as_is(connection: Any) -> None:
    """asyncpg resets a pooled connection on release with RESET ALL, UNLISTEN *, CLOSE ALL and
    an advisory unlock: a round trip per transaction, for state this app never leaves behind
    (set_config and SET are transaction-local here, advisory locks transaction-level, no
    LISTEN, no held cursors). asyncpg still rolls back a transaction left open first."""


def tortoise_config(settings: Settings, *, app_role: bool = True) -> dict[str, Any]:
    url = settings.database_url
    if settings.dialect == "sqlite":
        path = url.removeprefix("sqlite://")
        conn: dict[str, Any] = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {"file_path": path, "journal_mode": "WAL", "busy_timeout": 10000},
        }
    else:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        credentials: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": unquote(parts.username or "postgres"),
            "password": unquote(parts.password or ""),
            "database": parts.path.lstrip("/"),
            "minsize": 1,
            "maxsize": 10,
            "reset": _release_as_is,
            "connection_class": _TenantConnection,
        }
        if app_role and settings.database_app_role:
            # The app runs as a role that owns nothing and cannot bypass RLS.
            credentials["server_settings"] = {"role": settings.database_app_role}
        conn = {"engine": "tortoise.backends.asyncpg", "credentials": credentials}
    return {
        "connections": {"default": conn},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_db(settings: Settings) -> None:
    global _dialect
    _dialect = settings.dialect
    # Global fallback: the lifespan task opens it, request tasks use it.
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


@contextlib.asynccontextmanager
async def _transaction(tenant_id: str | None, cross_tenant: bool) -> AsyncIterator[BaseDBAsyncClient]:
    outer = _tx.get()
    if outer is not None:
        if tenant_id is not None and outer.tenant_id not in (None, tenant_id):
            raise RuntimeError("a transaction cannot switch tenant")
        mark = len(outer.after_commit)
        try:
            async with in_transaction() as conn:  # a savepoint
                yield conn
        except BaseException:
            del outer.after_commit[mark:]  # what the rolled-back block registered never happened
            raise
        return
    state = _TxState(tenant_id=tenant_id)
    token = _tx.set(state)
    begin = _begin_with.set(_tenant_settings(tenant_id, cross_tenant)) \
        if _dialect == "postgres" else None
    try:
        async with in_transaction() as conn:
            if begin is not None:  # sent with BEGIN; nothing later in the block may reuse it
                _begin_with.reset(begin)
                begin = None
            yield conn
    finally:
        if begin is not None:
            _begin_with.reset(begin)
        _tx.reset(token)
    for callback in state.after_commit:
        await callback()


def tenant_tx(scope: Scope) -> contextlib.AbstractAsyncContextManager[BaseDBAsyncClient]:
    return _transaction(str(scope.tenant_id), cross_tenant=False)


def identity_tx() -> contextlib.AbstractAsyncContextManager[BaseDBAsyncClient]:
    return _transaction(None, cross_tenant=True)


def system_tenant_tx(tenant_id: str) -> contextlib.AbstractAsyncContextManager[BaseDBAsyncClient]:
    """For jobs and operator commands that act for a tenant without a member (no scope)."""
    return _transaction(tenant_id, cross_tenant=False)


def on_commit(callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` after the outermost transaction commits; dropped on rollback."""
    state = _tx.get()
    if state is None:
        raise RuntimeError("on_commit outside a transaction")
    if callback not in state.after_commit:
        state.after_commit.append(callback)


def current_tenant_id() -> str | None:
    state = _tx.get()
    return state.tenant_id if state else None
