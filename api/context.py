"""The per-request context: who is calling, and the request's tenant-keyed dataloaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from domain.core.errors import AccessError, Unauthenticated
from domain.core.scope import Scope

BatchLoad = Callable[[Scope, Sequence[UUID]], Awaitable[dict[UUID, Any]]]
T = TypeVar("T")


@dataclass
class Context:
    request_id: str
    scope: Scope | None = None
    auth_error: AccessError | None = None
    production: bool = False
    _loaders: dict[tuple[str, Hashable], DataLoader[UUID, Any]] = field(default_factory=dict)

    def require_scope(self) -> Scope:
        if self.scope is None:
            raise self.auth_error or Unauthenticated()
        return self.scope

    def loader(self, batch: BatchLoad, variant: Hashable = None) -> DataLoader[UUID, Any]:
        """One dataloader per batch function (and variant: the arguments a closure `batch`
        binds, such as a page's) per request, bound to the request's scope.

        The scope (and so the tenant) is fixed for the request, so keys need no tenant part;
        a loader never outlives the request.
        """
        name = (f"{batch.__module__}.{batch.__qualname__}", variant)
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

    def load_now(self, batch: BatchLoad, key: UUID, then: Callable[[Any], T]
                 ) -> T | Awaitable[T]:
        """then(the loaded value) at once when this request's loader has it already (a
        page's relations prefetched), else an awaitable of it. A plain resolver returning
        this stays a plain read for the flat path whenever the value is at hand."""
        loader = self.loader(batch)
        ready = loader.cache_map.get(key)
        if ready is not None and ready.done() and not ready.cancelled() \
                and ready.exception() is None:
            return then(ready.result())

        async def later() -> T:
            return then(await loader.load(key))
        return later()

    async def prefetch(self, batch: BatchLoad, keys: Iterable[UUID]) -> None:
        """Load `keys` in one batch now, so that load_now finds them."""
        await self.loader(batch).load_many(list(dict.fromkeys(keys)))


def context_of(info: strawberry.Info) -> Context:
    return info.context


def scope_of(info: strawberry.Info, permission: str | None = None) -> Scope:
    scope = context_of(info).require_scope()
    if permission is not None:
        scope.require(permission)
    return scope
