"""Single-flight refresh per mailbox: a Redis lock across processes when REDIS_URL is set,
and an asyncio lock per mailbox in this process (always, so local waiters do not poll)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from domain.core.config import settings
from domain.mailboxes.errors import RetryableSendError

# The lock outlives a token call's timeout by this much, so a live holder never loses it; a
# waiter gives up after a whole holder's worth of time more.
LOCK_MARGIN_SECONDS = 10

_local: dict[str, asyncio.Lock] = {}
_redis: dict[tuple[str, int], Any] = {}


def _client(url: str) -> Any:
    from redis.asyncio import Redis

    key = (url, id(asyncio.get_running_loop()))
    if key not in _redis:
        _redis[key] = Redis.from_url(url)
    return _redis[key]


@contextlib.asynccontextmanager
async def refresh_lock(tenant_id: UUID, mailbox_id: UUID) -> AsyncIterator[None]:
    name = f"tg:{tenant_id}:mailbox-refresh:{mailbox_id}"
    local = _local.setdefault(name, asyncio.Lock())
    async with local:
        url = settings().redis_url
        if not url:
            yield
            return
        hold = settings().provider_timeout_seconds + LOCK_MARGIN_SECONDS
        lock = _client(url).lock(name, timeout=hold, blocking_timeout=hold + LOCK_MARGIN_SECONDS)
        if not await lock.acquire():
            raise RetryableSendError("Another process is refreshing this mailbox.",
                                     retry_after=5.0)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # expired meanwhile: nothing to release
                await lock.release()
