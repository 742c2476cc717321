"""The per-request context: who is calling, and the request's tenant-keyed dataloaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from domain.core.errors import AccessError, Unauthenticated
from domain.core.scope import Scope

BatchLoad = Callable[[Scope, Sequence[UUID]], Awaitable[dict[UUID, Any]]]


@dataclass
class Context:
    request_id: str
    scope: Scope | None = None
    auth_error: AccessError | None = None
    production: bool = False
    _loaders: dict[str, DataLoader[UUID, Any]] = field(default_factory=dict)

    def require_scope(self) -> Scope:
        if self.scope is None:
            raise self.auth_error or Unauthenticated()
        return self.scope

    def loader(self, batch: BatchLoad) -> DataLoader[UUID, Any]:
        """One dataloader per batch function per request, bound to the request's scope.

        The scope (and so the tenant) is fixed for the request, so keys need no tenant part;
        a loader never outlives the request.
        """
        name = f"{batch.__module__}.{batch.__qualname__}"
        existing = self._loaders.get(name)
        if existing is not None:
            return existing
        scope = self.require_scope()

        async def load(keys: list[UUID]) -> list[Any]:
            found = await batch(scope, keys)
            return [found.get(k) for k in keys]

        created: DataLoader[UUID, Any] = DataLoader(load_fn=load)
        self._loaders[name] = created
        return created


def context_of(info: strawberry.Info) -> Context:
    return info.context


def scope_of(info: strawberry.Info, permission: str | None = None) -> Scope:
    scope = context_of(info).require_scope()
    if permission is not None:
        scope.require(permission)
    return scope
