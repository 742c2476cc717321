"""The dispatch job on the real arq worker and the real Redis (db 7, flushed per test).

Redis must be up: a missing server fails these tests (in CI and locally), nothing is skipped.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import default_queue_name
from arq.worker import Worker

import workers.jobs
from domain.core import db, jobs
from domain.events import service
from domain.events.models import OutboxEvent
from tests.conftest import REDIS_URL
from workers.queue import ArqQueue


def redis_settings() -> RedisSettings:
    settings = RedisSettings.from_dsn(REDIS_URL)
    settings.conn_retries = 2  # fail fast (and loudly) when Redis is down
    return settings


@pytest.fixture
async def pool(settings: Any) -> AsyncIterator[ArqRedis]:
    assert redis_settings().database == 7, "these tests flush the Redis database: use db 7"
    redis = await create_pool(redis_settings())
    await redis.flushdb()
    try:
        yield redis
    finally:
        await redis.flushdb()
        await redis.aclose(close_connection_pool=True)


@pytest.fixture
async def arq_queue(pool: ArqRedis) -> AsyncIterator[ArqQueue]:
    queue = ArqQueue(pool)
    previous = jobs.install(queue)
    try:
        yield queue
    finally:
        jobs.install(previous)


@pytest.fixture
def event_name() -> Iterator[str]:
    name = f"test.arq.{secrets.token_hex(6)}"
    try:
        yield name
    finally:
        service._handlers.pop(name, None)


async def run_worker(**options: Any) -> Worker:
    """Run a real arq worker in burst mode until the queue is empty; returns it for its counts."""
    worker = Worker(functions=workers.jobs.FUNCTIONS,  # type: ignore[arg-type]
                    redis_settings=redis_settings(), burst=True, poll_delay=0.01,
                    handle_signals=False, **options)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


async def load(event_id: UUID, tenant_id: UUID) -> OutboxEvent:
    async with db.system_tenant_tx(str(tenant_id)):
        return await OutboxEvent.get(id=event_id)


async def publish(world: Any, name: str, payload: dict[str, Any]) -> OutboxEvent:
    scope = await world.scope()
    async with db.tenant_tx(scope):
        return await service.publish(name, payload, scope=scope)


async def test_redis_is_reachable_and_db_7_is_flushed(pool):
    assert await pool.ping() is True
    assert await pool.dbsize() == 0


async def test_a_committed_event_is_dispatched_by_the_arq_worker(
        world, pool, arq_queue, event_name):
    handled: list[tuple[UUID, dict[str, Any]]] = []

    async def handler(event: OutboxEvent) -> None:
        handled.append((event.id, event.payload))

    service.subscribe(event_name, handler)
    event = await publish(world, event_name, {"n": 1})

    # the commit queued exactly one dispatch job, under the event's job id
    assert await pool.zrange(default_queue_name, 0, -1) == [f"event:{event.id}".encode()]
    assert handled == []
    assert (await load(event.id, world.tenant.id)).dispatched_at is None

    worker = await run_worker()
    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (1, 0, 0)
    assert handled == [(event.id, {"n": 1})]
    row = await load(event.id, world.tenant.id)
    assert row.dispatched_at is not None
    assert row.attempts == 1
    assert await pool.zcard(default_queue_name) == 0
    result = await pool.all_job_results()
    assert [(r.job_id, r.function, r.success, r.result) for r in result] == [
        (f"event:{event.id}", "dispatch_event", True, True)]


async def test_the_same_job_id_enqueued_twice_runs_once(world, pool, arq_queue, event_name):
    handled: list[UUID] = []

    async def handler(event: OutboxEvent) -> None:
        handled.append(event.id)

    service.subscribe(event_name, handler)
    event = await publish(world, event_name, {})
    args = (str(world.tenant.id), str(event.id))
    # the commit enqueued event:<id>; a second enqueue with the same id is not queued
    await arq_queue.enqueue("dispatch_event", *args, job_id=f"event:{event.id}")
    assert await pool.zcard(default_queue_name) == 1

    worker = await run_worker()
    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
    assert handled == [event.id]

    # once done, its kept result still holds the id: a late duplicate is not queued again
    await arq_queue.enqueue("dispatch_event", *args, job_id=f"event:{event.id}")
    assert await pool.zcard(default_queue_name) == 0
    worker = await run_worker()
    assert worker.jobs_complete == 0
    assert handled == [event.id]


async def test_unknown_job_names_are_refused_before_reaching_redis(pool, arq_queue):
    with pytest.raises(KeyError, match="unknown job"):
        await arq_queue.enqueue("no_such_job", job_id="x")
    assert await pool.zcard(default_queue_name) == 0


async def test_a_dispatch_that_fails_once_is_retried_by_arq(
        world, pool, arq_queue, event_name, monkeypatch):
    monkeypatch.setattr(workers.jobs, "RETRY_BASE_SECONDS", 0.2)
    tries: list[float] = []

    async def flaky(event: OutboxEvent) -> None:
        tries.append(time.monotonic())
        if len(tries) == 1:
            raise ConnectionError("the mail server hung up")

    service.subscribe(event_name, flaky)
    event = await publish(world, event_name, {})

    worker = await run_worker(max_tries=5)
    assert len(tries) == 2
    assert tries[1] - tries[0] >= 0.2  # retried after the backoff, not at once
    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (1, 0, 1)
    row = await load(event.id, world.tenant.id)
    assert row.dispatched_at is not None
    assert row.attempts == 1


async def test_a_dispatch_that_keeps_failing_stops_after_max_tries_and_stays_pending(
        world, pool, arq_queue, event_name, monkeypatch):
    monkeypatch.setattr(workers.jobs, "RETRY_BASE_SECONDS", 0.01)
    tries: list[float] = []

    async def broken(event: OutboxEvent) -> None:
        tries.append(time.monotonic())
        raise ConnectionError("down for good")

    service.subscribe(event_name, broken)
    event = await publish(world, event_name, {})

    worker = await run_worker(max_tries=3)
    assert len(tries) == 3
    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (0, 1, 3)
    row = await load(event.id, world.tenant.id)
    assert row.dispatched_at is None  # left for the sweep
    assert row.attempts == 0
    assert await pool.zcard(default_queue_name) == 0
