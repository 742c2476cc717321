"""The job queue the domain enqueues to, by job name. The edge installs the implementation:
arq when REDIS_URL is set, in-process otherwise (see workers.queue)."""

from __future__ import annotations

from typing import Any, Protocol


class JobQueue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None: ...


class _Unset:
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        raise RuntimeError("no job queue installed; call domain.core.jobs.install() at startup")


_queue: JobQueue = _Unset()


def install(queue: JobQueue) -> JobQueue:
    global _queue
    previous, _queue = _queue, queue
    return previous


async def enqueue(name: str, *args: Any, job_id: str | None = None,
                  defer_seconds: float | None = None) -> None:
    await _queue.enqueue(name, *args, job_id=job_id, defer_seconds=defer_seconds)
