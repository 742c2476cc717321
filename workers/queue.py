"""The two implementations of the domain's job queue: arq on Redis, or in this process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from arq.connections import ArqRedis

from workers.jobs import FUNCTIONS, PERIODIC

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

    A job id already queued or running is not queued twice, as with arq.
    """

    def __init__(self, max_tries: int = 5, retry_base_seconds: float = 0.5) -> None:
        self.max_tries = max_tries
        self.retry_base_seconds = retry_base_seconds
        self._tasks: set[asyncio.Task[Any]] = set()
        self._active_ids: set[str] = set()
        self._periodic: list[asyncio.Task[Any]] = []

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        function = _BY_NAME[name]
        if job_id is not None:
            if job_id in self._active_ids:
                return
            self._active_ids.add(job_id)
        task = asyncio.create_task(self._run(function, args, job_id, defer_seconds or 0))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
