"""The outbox path of domain events: publish in the caller's transaction, live listeners and the
dispatch job after commit, durable handlers and the dispatched mark in one transaction, and the
sweep that recovers events left pending by a crash between commit and enqueue."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.core import clock, db, jobs
from domain.core.clock import FrozenClock, use_clock
from domain.events import service
from domain.events.models import OutboxEvent
from workers.queue import InProcessQueue


class Boom(Exception):
    pass


class RecordingQueue(InProcessQueue):
    """The real in-process queue, also keeping the list of what was enqueued."""

    def __init__(self) -> None:
        super().__init__(max_tries=3, retry_base_seconds=0.01)
        self.enqueued: list[tuple[str, tuple[Any, ...], str | None]] = []

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        self.enqueued.append((name, args, job_id))
        await super().enqueue(name, *args, job_id=job_id, defer_seconds=defer_seconds)


class ParkedQueue:
    """Accepts jobs and runs none of them, so a test can run dispatch itself."""

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, tuple[Any, ...], str | None]] = []

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        self.enqueued.append((name, args, job_id))


class DownQueue:
    """A queue whose broker is unreachable: the process 'crashes' between commit and enqueue."""

    def __init__(self) -> None:
        self.attempts = 0

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        self.attempts += 1
        raise ConnectionError("the job broker is down")


def dispatch_job(event: OutboxEvent) -> tuple[str, tuple[str, str], str]:
    return ("dispatch_event", (str(event.tenant_id), str(event.id)), f"event:{event.id}")


def sweep_job(event: OutboxEvent) -> tuple[str, tuple[str, str], str]:
    """The sweep's job id is its own per sweep minute: arq keeps a failed job's id for
    keep_result, so reusing event:<id> would silently drop the retry."""
    minute = int(clock.now().timestamp()) // 60
    return ("dispatch_event", (str(event.tenant_id), str(event.id)),
            f"event:{event.id}:sweep:{minute}")


@pytest.fixture
async def recording(settings: Any) -> AsyncIterator[RecordingQueue]:
    queue = RecordingQueue()
    previous = jobs.install(queue)
    try:
        yield queue
        await queue.drain()
    finally:
        jobs.install(previous)


@pytest.fixture
async def parked(settings: Any) -> AsyncIterator[ParkedQueue]:
    queue = ParkedQueue()
    previous = jobs.install(queue)
    try:
        yield queue
    finally:
        jobs.install(previous)


@pytest.fixture
def event_name() -> Iterator[str]:
    """A unique event name; its durable handlers are removed afterwards."""
    name = f"test.outbox.{secrets.token_hex(6)}"
    try:
        yield name
    finally:
        service._handlers.pop(name, None)
    assert name not in service._handlers


@pytest.fixture
def heard() -> Iterator[list[OutboxEvent]]:
    """Events heard by a live listener registered for the test."""
    events: list[OutboxEvent] = []

    async def listener(event: OutboxEvent) -> None:
        events.append(event)

    stop = service.listen(listener)
    try:
        yield events
    finally:
        stop()
    assert listener not in service._listeners


async def load(event_id: UUID, tenant_id: UUID) -> OutboxEvent | None:
    async with db.system_tenant_tx(str(tenant_id)):
        return await OutboxEvent.get_or_none(id=event_id)


async def count_named(name: str) -> int:
    async with db.identity_tx():
        return await OutboxEvent.filter(name=name).count()


async def pending_ids() -> list[UUID]:
    async with db.identity_tx():
        rows = await OutboxEvent.filter(dispatched_at=None).order_by("created_at")
    return [row.id for row in rows]


async def write_marker(event: OutboxEvent, name: str) -> None:
    """A handler's own write, in the dispatch transaction (already dispatched: not for the sweep)."""
    await OutboxEvent.create(tenant_id=event.tenant_id, name=name,
                             payload={"for": str(event.id)}, dispatched_at=clock.now())


# --- publish and commit ----------------------------------------------------------------------

async def test_rolled_back_publish_leaves_no_row_no_job_and_no_listener_call(
        world, recording, heard, event_name):
    handled: list[UUID] = []

    async def handler(event: OutboxEvent) -> None:
        handled.append(event.id)

    service.subscribe(event_name, handler)
    scope = await world.scope()
    published: list[OutboxEvent] = []
    with pytest.raises(Boom):
        async with db.tenant_tx(scope):
            published.append(await service.publish(event_name, {"n": 1}, scope=scope))
            # the row is real inside its own transaction
            assert await OutboxEvent.filter(id=published[0].id).count() == 1
            raise Boom
    await recording.drain()

    assert await load(published[0].id, world.tenant.id) is None
    assert await count_named(event_name) == 0
    assert recording.enqueued == []
    assert heard == []
    assert handled == []


async def test_savepoint_rollback_drops_the_event_of_the_inner_block(
        world, recording, heard, event_name):
    """The outer transaction commits, the nested block that published rolls back."""
    scope = await world.scope()
    async with db.tenant_tx(scope):
        kept = await service.publish(event_name, {"kept": True}, scope=scope)
        with pytest.raises(Boom):
            async with db.tenant_tx(scope):
                await service.publish(event_name, {"kept": False}, scope=scope)
                raise Boom
    await recording.drain()

    assert await count_named(event_name) == 1
    assert [e.id for e in heard] == [kept.id]
    assert recording.enqueued == [dispatch_job(kept)]


async def test_committed_event_is_heard_once_after_commit_and_dispatched_once(
        world, recording, heard, event_name):
    handled: list[tuple[UUID, str, dict[str, Any], UUID]] = []

    async def handler(event: OutboxEvent) -> None:
        handled.append((event.id, event.name, event.payload, event.tenant_id))
        await write_marker(event, event_name + ".marker")

    service.subscribe(event_name, handler)
    service.subscribe(event_name, handler)  # the same handler twice is one subscription
    frozen = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    previous = use_clock(frozen)
    try:
        scope = await world.scope()
        async with db.tenant_tx(scope):
            event = await service.publish(event_name, {"n": 1}, scope=scope)
            assert heard == []
            assert recording.enqueued == []
        assert [e.id for e in heard] == [event.id]
        assert recording.enqueued == [dispatch_job(event)]
        await recording.drain()
    finally:
        use_clock(previous)

    assert handled == [(event.id, event_name, {"n": 1}, world.tenant.id)]
    assert [e.id for e in heard] == [event.id]  # dispatch does not call live listeners again
    row = await load(event.id, world.tenant.id)
    assert row is not None
    assert row.dispatched_at == frozen.at
    assert row.attempts == 1
    assert row.actor == f"user:{world.admin.user_id}"
    assert await count_named(event_name + ".marker") == 1


async def test_a_failing_live_listener_breaks_neither_other_listeners_nor_dispatch(
        world, recording, heard, event_name):
    async def broken(event: OutboxEvent) -> None:
        raise Boom("listener failed")

    stop = service.listen(broken)
    try:
        scope = await world.scope()
        async with db.tenant_tx(scope):
            event = await service.publish(event_name, {}, scope=scope)
        await recording.drain()
    finally:
        stop()
    assert [e.id for e in heard] == [event.id]
    assert recording.enqueued == [dispatch_job(event)]
    row = await load(event.id, world.tenant.id)
    assert row is not None and row.dispatched_at is not None


async def test_publish_outside_a_transaction_is_refused_and_writes_nothing(
        world, recording, heard, event_name):
    scope = await world.scope()
    with pytest.raises(RuntimeError, match="outside a transaction"):
        await service.publish(event_name, {}, scope=scope)
    assert await count_named(event_name) == 0
    assert heard == []
    assert recording.enqueued == []


async def test_publish_needs_a_tenant(settings, event_name):
    async with db.identity_tx():
        with pytest.raises(ValueError, match="belongs to a tenant"):
            await service.publish(event_name, {})
    assert await count_named(event_name) == 0


# --- dispatch --------------------------------------------------------------------------------

async def test_dispatching_an_event_twice_runs_its_handlers_once(world, parked, event_name):
    handled: list[UUID] = []

    async def handler(event: OutboxEvent) -> None:
        handled.append(event.id)

    service.subscribe(event_name, handler)
    scope = await world.scope()
    async with db.tenant_tx(scope):
        event = await service.publish(event_name, {}, scope=scope)
    assert parked.enqueued == [dispatch_job(event)]
    tid, eid = str(world.tenant.id), str(event.id)

    assert await service.dispatch_event(tenant_id=tid, event_id=eid) is True
    assert await service.dispatch_event(tenant_id=tid, event_id=eid) is False
    assert handled == [event.id]
    row = await load(event.id, world.tenant.id)
    assert row is not None and row.dispatched_at is not None and row.attempts == 1


async def test_concurrent_dispatches_of_one_event_run_its_handlers_once(
        world, parked, event_name):
    handled: list[UUID] = []

    async def handler(event: OutboxEvent) -> None:
        handled.append(event.id)
        await asyncio.sleep(0.05)  # hold the transaction while the other dispatch tries

    service.subscribe(event_name, handler)
    scope = await world.scope()
    async with db.tenant_tx(scope):
        event = await service.publish(event_name, {}, scope=scope)
    tid, eid = str(world.tenant.id), str(event.id)

    results = await asyncio.gather(service.dispatch_event(tenant_id=tid, event_id=eid),
                                   service.dispatch_event(tenant_id=tid, event_id=eid))
    assert sorted(results) == [False, True]
    assert handled == [event.id]
    row = await load(event.id, world.tenant.id)
    assert row is not None and row.attempts == 1


async def test_dispatch_of_another_tenants_event_finds_nothing(
        world, other_world, parked, event_name):
    handled: list[UUID] = []

    async def handler(event: OutboxEvent) -> None:
        handled.append(event.id)

    service.subscribe(event_name, handler)
    scope = await world.scope()
    async with db.tenant_tx(scope):
        event = await service.publish(event_name, {}, scope=scope)

    assert await service.dispatch_event(tenant_id=str(other_world.tenant.id),
                                        event_id=str(event.id)) is False
    assert handled == []
    row = await load(event.id, world.tenant.id)
    assert row is not None and row.dispatched_at is None


async def test_a_failing_handler_leaves_the_event_pending_and_its_writes_rolled_back(
        world, parked, event_name):
    calls: list[str] = []
    failing = True

    async def first(event: OutboxEvent) -> None:
        calls.append("first")
        await write_marker(event, event_name + ".first")

    async def second(event: OutboxEvent) -> None:
        calls.append("second")
        await write_marker(event, event_name + ".second")
        if failing:
            raise Boom("handler failed")

    service.subscribe(event_name, first)
    service.subscribe(event_name, second)
    scope = await world.scope()
    async with db.tenant_tx(scope):
        event = await service.publish(event_name, {}, scope=scope)
    tid, eid = str(world.tenant.id), str(event.id)

    with pytest.raises(Boom, match="handler failed"):
        await service.dispatch_event(tenant_id=tid, event_id=eid)
    assert calls == ["first", "second"]
    row = await load(event.id, world.tenant.id)
    assert row is not None
    assert row.dispatched_at is None
    assert row.attempts == 0
    assert await count_named(event_name + ".first") == 0  # every handler's writes roll back
    assert await count_named(event_name + ".second") == 0
    assert event.id in await pending_ids()

    # once the handler recovers, the next dispatch runs all handlers again and commits
    failing = False
    assert await service.dispatch_event(tenant_id=tid, event_id=eid) is True
    assert calls == ["first", "second", "first", "second"]
    row = await load(event.id, world.tenant.id)
    assert row is not None and row.dispatched_at is not None and row.attempts == 1
    assert await count_named(event_name + ".first") == 1
    assert await count_named(event_name + ".second") == 1


# --- the sweep -------------------------------------------------------------------------------

async def test_the_sweep_dispatches_events_left_pending_by_a_crash_before_enqueue(
        world, other_world, recording, heard, event_name):
    handled: list[UUID] = []

    async def handler(event: OutboxEvent) -> None:
        handled.append(event.id)

    service.subscribe(event_name, handler)

    # Dispatch whatever earlier tests left pending, so the counts below are this test's alone.
    await service.redispatch_pending(older_than_seconds=0)
    await recording.drain()
    assert await pending_ids() == []
    recording.enqueued.clear()

    down = DownQueue()
    previous_queue = jobs.install(down)
    try:
        crashed = []
        for w in (world, other_world):
            scope = await w.scope()
            async with db.tenant_tx(scope):
                crashed.append(await service.publish(event_name, {"slug": w.tenant.slug},
                                                     scope=scope))
    finally:
        jobs.install(previous_queue)
    assert down.attempts == 2
    assert [e.id for e in heard] == [e.id for e in crashed]  # listeners run before the enqueue
    assert sorted(await pending_ids()) == sorted(e.id for e in crashed)

    # still young: the sweep leaves them to their own dispatch job
    assert await service.redispatch_pending(older_than_seconds=60) == 0
    await recording.drain()
    assert recording.enqueued == []
    assert handled == []

    frozen = FrozenClock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=61))
    previous_clock = use_clock(frozen)
    try:
        assert await service.redispatch_pending(older_than_seconds=60) == 2
        assert recording.enqueued == [sweep_job(e) for e in crashed]  # oldest first
        await recording.drain()
        assert sorted(handled) == sorted(e.id for e in crashed)
        for event, w in zip(crashed, (world, other_world), strict=True):
            row = await load(event.id, w.tenant.id)
            assert row is not None
            assert row.dispatched_at == frozen.at
            assert row.attempts == 1
        assert await pending_ids() == []
        # nothing left for the next sweep
        assert await service.redispatch_pending(older_than_seconds=60) == 0
    finally:
        use_clock(previous_clock)
    await recording.drain()
    assert len(handled) == 2
    assert [e.id for e in heard] == [e.id for e in crashed]


async def test_the_sweep_takes_at_most_limit_oldest_first(world, recording, event_name):
    await service.redispatch_pending(older_than_seconds=0)
    await recording.drain()
    assert await pending_ids() == []
    recording.enqueued.clear()

    previous_queue = jobs.install(DownQueue())
    try:
        scope = await world.scope()
        crashed = []
        for n in range(3):
            async with db.tenant_tx(scope):
                crashed.append(await service.publish(event_name, {"n": n}, scope=scope))
            await asyncio.sleep(0.002)  # distinct created_at
    finally:
        jobs.install(previous_queue)

    assert await service.redispatch_pending(older_than_seconds=0, limit=2) == 2
    # the sweep's own job ids, oldest first
    assert [(n, a, j.split(":sweep:")[0]) for n, a, j in recording.enqueued] == \
        [dispatch_job(e) for e in crashed[:2]]
    assert all(":sweep:" in j for _, _, j in recording.enqueued)
    await recording.drain()
    assert await pending_ids() == [crashed[2].id]
    assert await service.redispatch_pending(older_than_seconds=0, limit=2) == 1
    await recording.drain()
    assert await pending_ids() == []
