"""The embedded job queue: runs the job functions as asyncio tasks, one per job id at a time,
retried with backoff, deferred on request; drain() waits for jobs queued by jobs too."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from domain.core import db, jobs
from domain.events import service
from domain.events.models import OutboxEvent
from workers import queue as queue_module
from workers.jobs import PERIODIC
from workers.queue import InProcessQueue

Register = Callable[[Callable[..., Awaitable[Any]]], str]


@pytest.fixture
def register() -> Iterator[Register]:
    """Registers test job functions under unique names; removes them afterwards."""
    names: list[str] = []

    def add(function: Callable[..., Awaitable[Any]]) -> str:
        name = f"test_job_{secrets.token_hex(4)}"
        queue_module._BY_NAME[name] = function
        names.append(name)
        return name

    try:
        yield add
    finally:
        for name in names:
            queue_module._BY_NAME.pop(name, None)


@pytest.fixture
def event_name() -> Iterator[str]:
    name = f"test.inproc.{secrets.token_hex(6)}"
    try:
        yield name
    finally:
        service._handlers.pop(name, None)
        service._handlers.pop(name + ".next", None)


async def test_runs_a_job_with_its_args_and_context(register):
    calls: list[tuple[dict[str, Any], tuple[Any, ...]]] = []

    async def job(ctx: dict[str, Any], *args: Any) -> None:
        calls.append((ctx, args))

    name = register(job)
    queue = InProcessQueue()
    await queue.enqueue(name, 1, "a", job_id="j-1")
    await queue.enqueue(name, 2)
    await queue.drain()
    assert calls == [({"job_try": 1, "job_id": "j-1"}, (1, "a")),
                     ({"job_try": 1, "job_id": None}, (2,))]


async def test_an_unknown_job_is_refused_and_reserves_no_id(register):
    calls: list[int] = []

    async def job(ctx: dict[str, Any]) -> None:
        calls.append(1)

    queue = InProcessQueue()
    with pytest.raises(KeyError):
        await queue.enqueue("no_such_job", job_id="same")
    await queue.enqueue(register(job), job_id="same")
    await queue.drain()
    assert calls == [1]


async def test_a_job_id_is_queued_once_while_queued_and_again_once_done(register):
    calls: list[str] = []

    async def job(ctx: dict[str, Any], tag: str) -> None:
        calls.append(tag)

    name = register(job)
    queue = InProcessQueue()
    await queue.enqueue(name, "first", job_id="x")
    await queue.enqueue(name, "second", job_id="x")  # still queued: dropped
    await queue.enqueue(name, "other", job_id="y")
    await queue.drain()
    assert sorted(calls) == ["first", "other"]

    await queue.enqueue(name, "third", job_id="x")  # done: the id is free again
    await queue.drain()
    assert sorted(calls) == ["first", "other", "third"]


async def test_a_job_id_is_not_queued_again_while_it_runs(register):
    started, release = asyncio.Event(), asyncio.Event()
    calls: list[str] = []

    async def job(ctx: dict[str, Any], tag: str) -> None:
        calls.append(tag)
        started.set()
        await release.wait()

    name = register(job)
    queue = InProcessQueue()
    await queue.enqueue(name, "first", job_id="x")
    await asyncio.wait_for(started.wait(), 5)
    await queue.enqueue(name, "while-running", job_id="x")
    release.set()
    await queue.drain()
    assert calls == ["first"]


async def test_a_failing_job_is_retried_with_backoff_up_to_max_tries(register):
    tries: list[tuple[int, float]] = []

    async def job(ctx: dict[str, Any]) -> None:
        tries.append((ctx["job_try"], time.monotonic()))
        raise ConnectionError("down")

    queue = InProcessQueue(max_tries=3, retry_base_seconds=0.05)
    await queue.enqueue(register(job), job_id="x")
    await queue.drain()  # the failure does not escape the queue
    assert [n for n, _ in tries] == [1, 2, 3]
    assert tries[1][1] - tries[0][1] >= 0.05
    assert tries[2][1] - tries[1][1] >= 0.1  # doubled


async def test_a_job_that_fails_once_succeeds_on_its_second_try(register):
    tries: list[int] = []

    async def job(ctx: dict[str, Any]) -> str:
        tries.append(ctx["job_try"])
        if len(tries) == 1:
            raise ConnectionError("blip")
        return "ok"

    queue = InProcessQueue(max_tries=5, retry_base_seconds=0.01)
    await queue.enqueue(register(job), job_id="x")
    await queue.drain()
    assert tries == [1, 2]


async def test_a_job_id_stays_taken_while_the_job_waits_to_retry(register):
    tries: list[str] = []
    failed_once = asyncio.Event()

    async def job(ctx: dict[str, Any], tag: str) -> None:
        tries.append(tag)
        if len(tries) == 1:
            failed_once.set()
            raise ConnectionError("blip")

    name = register(job)
    queue = InProcessQueue(max_tries=2, retry_base_seconds=0.2)
    await queue.enqueue(name, "first", job_id="x")
    await asyncio.wait_for(failed_once.wait(), 5)
    await asyncio.sleep(0)  # let the failure reach the backoff sleep
    assert tries == ["first"]
    await queue.enqueue(name, "duplicate", job_id="x")
    await queue.drain()
    assert tries == ["first", "first"]


async def test_after_the_last_try_the_job_ends_at_once_and_frees_its_id(register):
    """No backoff after the final failure: it would hold the id and delay drain and close."""
    tries: list[int] = []

    async def job(ctx: dict[str, Any]) -> None:
        tries.append(ctx["job_try"])
        raise ConnectionError("down")

    name = register(job)
    queue = InProcessQueue(max_tries=1, retry_base_seconds=30)
    await queue.enqueue(name, job_id="x")
    await asyncio.wait_for(queue.drain(), 5)
    assert tries == [1]
    await queue.enqueue(name, job_id="x")
    await asyncio.wait_for(queue.drain(), 5)
    assert tries == [1, 1]


async def test_a_deferred_job_runs_after_its_delay(register):
    ran_at: list[float] = []

    async def job(ctx: dict[str, Any], tag: str) -> None:
        ran_at.append(time.monotonic())

    name = register(job)
    queue = InProcessQueue()
    queued_at = time.monotonic()
    await queue.enqueue(name, "deferred", job_id="x", defer_seconds=0.2)
    await asyncio.sleep(0.05)
    assert ran_at == []
    await queue.enqueue(name, "duplicate", job_id="x")  # the deferred one holds the id
    await queue.drain()
    assert len(ran_at) == 1
    assert ran_at[0] - queued_at >= 0.2


async def test_drain_waits_for_jobs_queued_by_jobs(register):
    done: list[str] = []
    names: dict[str, str] = {}

    async def grandchild(ctx: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)
        done.append("grandchild")

    async def child(ctx: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)
        await jobs.enqueue(names["grandchild"])
        done.append("child")

    async def parent(ctx: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)
        await jobs.enqueue(names["child"])
        done.append("parent")

    names.update(grandchild=register(grandchild), child=register(child))
    queue = InProcessQueue()
    previous = jobs.install(queue)
    try:
        await queue.enqueue(register(parent))
        await queue.drain()
        assert done == ["parent", "child", "grandchild"]
    finally:
        jobs.install(previous)


async def test_close_stops_the_periodic_jobs_and_drains(register):
    done: list[str] = []

    async def job(ctx: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)
        done.append("job")

    queue = InProcessQueue()
    queue.start_periodic()
    periodic = list(queue._periodic)
    assert len(periodic) == len(PERIODIC)
    await queue.enqueue(register(job))
    await asyncio.wait_for(queue.close(), 5)
    assert done == ["job"]
    assert all(task.cancelled() for task in periodic)


# --- the dispatch job on this queue ------------------------------------------------------------

async def load(event_id: UUID, tenant_id: UUID) -> OutboxEvent:
    async with db.system_tenant_tx(str(tenant_id)):
        return await OutboxEvent.get(id=event_id)


async def test_a_failed_dispatch_is_retried_until_the_event_is_dispatched(world, event_name):
    tries: list[UUID] = []

    async def flaky(event: OutboxEvent) -> None:
        tries.append(event.id)
        if len(tries) < 3:
            raise ConnectionError("blip")

    service.subscribe(event_name, flaky)
    queue = InProcessQueue(max_tries=5, retry_base_seconds=0.01)
    previous = jobs.install(queue)
    try:
        scope = await world.scope()
        async with db.tenant_tx(scope):
            event = await service.publish(event_name, {}, scope=scope)
        await queue.drain()
    finally:
        jobs.install(previous)
    assert tries == [event.id] * 3
    row = await load(event.id, world.tenant.id)
    assert row.dispatched_at is not None and row.attempts == 1


async def test_drain_waits_for_events_published_by_durable_handlers(world, event_name):
    """A handler publishes a follow-up event; its dispatch is a job queued by the first job."""
    seen: list[tuple[str, UUID]] = []

    async def first(event: OutboxEvent) -> None:
        seen.append(("first", event.id))
        await service.publish(event_name + ".next", {"after": str(event.id)},
                              tenant_id=event.tenant_id)

    async def follow_up(event: OutboxEvent) -> None:
        await asyncio.sleep(0.02)
        seen.append(("next", event.id))

    service.subscribe(event_name, first)
    service.subscribe(event_name + ".next", follow_up)
    queue = InProcessQueue(retry_base_seconds=0.01)
    previous = jobs.install(queue)
    try:
        scope = await world.scope()
        async with db.tenant_tx(scope):
            event = await service.publish(event_name, {}, scope=scope)
        await queue.drain()
    finally:
        jobs.install(previous)

    assert [kind for kind, _ in seen] == ["first", "next"]
    assert seen[0][1] == event.id
    async with db.system_tenant_tx(str(world.tenant.id)):
        follow = await OutboxEvent.get(name=event_name + ".next")
    assert follow.payload == {"after": str(event.id)}
    assert follow.actor is None
    assert seen[1][1] == follow.id
    assert follow.dispatched_at is not None
    assert (await load(event.id, world.tenant.id)).dispatched_at is not None


async def _publish_each(world: Any, name: str, count: int) -> list[UUID]:
    scope = await world.scope()
    ids = []
    for _ in range(count):  # a transaction each, as separate requests would
        async with db.tenant_tx(scope):
            ids.append((await service.publish(name, {}, scope=scope)).id)
    return ids


async def test_events_published_close_together_are_dispatched_in_one_batch(
        world, event_name, monkeypatch):
    batches: list[list[str]] = []
    real = service.dispatch_events

    async def spy(*, tenant_id: str, event_ids: list[str]) -> int:
        batches.append(list(event_ids))
        return await real(tenant_id=tenant_id, event_ids=event_ids)

    monkeypatch.setattr(service, "dispatch_events", spy)
    handled: list[UUID] = []

    async def handler(event: OutboxEvent) -> None:
        handled.append(event.id)

    service.subscribe(event_name, handler)
    queue = InProcessQueue(retry_base_seconds=0.01, event_batch_seconds=0.05)
    previous = jobs.install(queue)
    try:
        ids = await _publish_each(world, event_name, 3)
        await queue.drain()
    finally:
        jobs.install(previous)
    assert batches == [[str(i) for i in ids]]
    assert handled == ids  # in publication order
    for event_id in ids:
        row = await load(event_id, world.tenant.id)
        assert row.dispatched_at is not None and row.attempts == 1


async def test_a_failing_event_does_not_hold_back_the_rest_of_its_batch(world, event_name):
    handled: list[UUID] = []
    failing: set[UUID] = set()

    async def handler(event: OutboxEvent) -> None:
        if event.id in failing:
            raise ConnectionError("this one cannot be handled")
        handled.append(event.id)

    service.subscribe(event_name, handler)
    queue = InProcessQueue(max_tries=2, retry_base_seconds=0.01, event_batch_seconds=0.05)
    previous = jobs.install(queue)
    try:
        scope = await world.scope()
        async with db.tenant_tx(scope):  # ids known before dispatch: publish in one go
            events = [await service.publish(event_name, {}, scope=scope) for _ in range(3)]
            failing.add(events[1].id)
        await queue.drain()
    finally:
        jobs.install(previous)
    # the batch rolled back as a whole (the first event's handling with it), then each event
    # went on its own
    assert set(handled) == {events[0].id, events[2].id}
    assert (await load(events[1].id, world.tenant.id)).dispatched_at is None
    for event in (events[0], events[2]):
        row = await load(event.id, world.tenant.id)
        assert row.dispatched_at is not None and row.attempts == 1
