"""The two implementations of the domain's job queue: arq on Redis, or in this process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq.connections import ArqRedis

from workers.jobs import FUNCTIONS, PERIODIC, dispatch_event, dispatch_events

log = logging.getLogger("talentgraph.jobs")

JobFunction = Callable[..., Awaitable[Any]]
_BY_NAME: dict[str, JobFunction] = {f.__name__: f for f in FUNCTIONS}  # type: ignore[misc]


class ArqQueue:
    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        if name not in _BY_NAME:
            raise KeyError(f"unknown job {name}")
        await self.redis.enqueue_job(name, *args, _job_id=job_id, _defer_by=defer_seconds)


class InProcessQueue:
    """The embedded default: the same job functions as asyncio tasks, retried with backoff.

    A job id already queued or running is not queued twice, as with arq. Event dispatches
    queued within `event_batch_seconds` of each other run as one transaction per tenant:
    in the API process, each dispatch's own transaction would cost the requests as much CPU
    as the handlers' work (a handful of events is a few milliseconds later in the feed).
    """

    def __init__(self, max_tries: int = 5, retry_base_seconds: float = 0.5,
                 event_batch_seconds: float = 0.05) -> None:
        self.max_tries = max_tries
        self.retry_base_seconds = retry_base_seconds
        self.event_batch_seconds = event_batch_seconds
        self._tasks: set[asyncio.Task[Any]] = set()
        self._active_ids: set[str] = set()
        self._periodic: list[asyncio.Task[Any]] = []
        # tenant id -> [(event id, job id)] waiting for the next batch
        self._events: dict[str, list[tuple[str, str | None]]] = {}
        self._batching = False

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        function = _BY_NAME[name]
        if job_id is not None:
            if job_id in self._active_ids:
                return
            self._active_ids.add(job_id)
        if function is dispatch_event and not defer_seconds and self.event_batch_seconds:
            tenant_id, event_id = args
            self._events.setdefault(tenant_id, []).append((event_id, job_id))
            if not self._batching:
                self._batching = True
                self._spawn(self._dispatch_batches())
            return
        self._spawn(self._run(function, args, job_id, defer_seconds or 0))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dispatch_batches(self) -> None:
        await asyncio.sleep(self.event_batch_seconds)
        batches, self._events, self._batching = self._events, {}, False
        for tenant_id, entries in batches.items():
            try:
                await dispatch_events({"job_try": 1}, tenant_id, [e for e, _ in entries])
            except Exception:
                log.warning("batch dispatch failed; dispatching its %d events one by one",
                            len(entries), exc_info=True)
                for event_id, job_id in entries:
                    self._spawn(self._run(dispatch_event, (tenant_id, event_id), job_id, 0))
                continue
            self._active_ids.difference_update(job_id for _, job_id in entries if job_id)

    async def _run(self, function: JobFunction, args: tuple[Any, ...], job_id: str | None,
                   delay: float) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)
            for attempt in range(1, self.max_tries + 1):
                try:
                    await function({"job_try": attempt, "job_id": job_id}, *args)
                    return
                except Exception:
                    log.exception("job %s failed (try %d of %d)", function.__name__, attempt,
                                  self.max_tries)
                    if attempt < self.max_tries:  # no backoff after the last try
                        await asyncio.sleep(self.retry_base_seconds * 2 ** (attempt - 1))
        finally:
            if job_id is not None:
                self._active_ids.discard(job_id)

    def start_periodic(self) -> None:
        for function, every in PERIODIC:
            self._periodic.append(asyncio.create_task(self._every(function, every)))

    async def _every(self, function: JobFunction, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await function({})
            except Exception:
                log.exception("periodic job %s failed", function.__name__)

    async def drain(self) -> None:
        """Wait for queued jobs (and the jobs they queue) to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in self._periodic:
            task.cancel()
        await asyncio.gather(*self._periodic, return_exceptions=True)
        await self.drain()
