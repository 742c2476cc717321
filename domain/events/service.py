"""Publishing and dispatching domain events through the outbox.

publish() writes the event in the caller's transaction. After commit, live listeners in this
process hear it at once (for subscriptions), and a `dispatch_event` job runs the durable
handlers and marks it dispatched in one transaction, so a handler's writes and the mark
commit together. A sweep re-enqueues events left pending by a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from tortoise.expressions import F

from domain.core import clock, db, jobs
from domain.core.scope import Scope
from domain.events.models import OutboxEvent

log = logging.getLogger("talentgraph.events")

Handler = Callable[[OutboxEvent], Awaitable[None]]

_handlers: dict[str, list[Handler]] = {}
_listeners: list[Handler] = []


ANY = "*"


def subscribe(name: str, handler: Handler) -> None:
    """Durable handler: runs once per event (at least once; must be idempotent).
    The name ANY subscribes to every event."""
    _handlers.setdefault(name, [])
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def listen(listener: Handler) -> Callable[[], None]:
    """Live listener in this process; best effort. Returns a function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


async def publish(name: str, payload: dict[str, Any], *, scope: Scope | None = None,
                  tenant_id: UUID | None = None) -> OutboxEvent:
    tid = scope.tenant_id if scope else tenant_id
    if tid is None:
        raise ValueError("an event belongs to a tenant")
    event: OutboxEvent | None = None

    async def after_commit() -> None:
        written = event
        if written is None:  # the insert failed and the caller committed anyway
            return
        for listener in list(_listeners):
            try:
                await listener(written)
            except Exception:  # a live listener must not break the writer
                log.exception("live listener failed for %s", name)
        try:
            await jobs.enqueue("dispatch_event", str(tid), str(written.id),
                               job_id=f"event:{written.id}")
        except Exception:  # the sweep picks it up
            log.exception("could not enqueue dispatch of event %s", written.id)

    # Registered before the insert: outside a transaction this raises before anything is
    # written (otherwise the row would autocommit and only the sweep would ever see it).
    db.on_commit(after_commit)
    event = await OutboxEvent.create(
        tenant_id=tid, name=name, payload=payload, actor=scope.actor_label if scope else None
    )
    return event


async def dispatch_event(*, tenant_id: str, event_id: str) -> bool:
    """Run the durable handlers of one event; False when it was already dispatched."""
    return await dispatch_events(tenant_id=tenant_id, event_ids=[event_id]) == 1


async def dispatch_events(*, tenant_id: str, event_ids: Sequence[str]) -> int:
    """Run the durable handlers of several events of one tenant in one transaction, in the
    order they were published; returns how many were still pending. A failing handler rolls
    back the whole batch (the caller then dispatches the events one by one)."""
    async with db.system_tenant_tx(tenant_id):
        claimed = await _claim(tenant_id, event_ids)
        for event in claimed:
            for handler in _handlers.get(event.name, []) + _handlers.get(ANY, []):
                await handler(event)
        return len(claimed)


# Marks pending events dispatched and returns them, in one statement. Rows another dispatch
# holds are skipped (it runs their handlers), so concurrent dispatches neither wait nor
# deadlock.
_CLAIM = """WITH picked AS (
    SELECT id FROM outbox_events
    WHERE id = ANY($1::uuid[]) AND tenant_id = $2 AND dispatched_at IS NULL
    ORDER BY id FOR UPDATE SKIP LOCKED)
UPDATE outbox_events o SET dispatched_at = $3, attempts = o.attempts + 1 FROM picked
WHERE o.id = picked.id
RETURNING o.id, o.tenant_id, o.name, o.payload, o.actor, o.created_at, o.dispatched_at,
          o.attempts"""


async def _claim(tenant_id: str, event_ids: Sequence[str]) -> list[OutboxEvent]:
    """The pending events, oldest first, marked dispatched inside the handlers' transaction:
    the marks and their writes commit together, or none do."""
    now = clock.now()
    ids = [UUID(str(event_id)) for event_id in event_ids]
    if db.dialect() == "postgres":
        rows = await OutboxEvent._meta.db.execute_query_dict(_CLAIM, [ids, UUID(tenant_id), now])
        events = [OutboxEvent._init_from_db(**row) for row in rows]
    else:  # one writer at a time: nothing to lock
        pending = OutboxEvent.filter(id__in=ids, tenant_id=tenant_id, dispatched_at=None)
        events = await pending
        await pending.update(dispatched_at=now, attempts=F("attempts") + 1)
        for event in events:
            event.dispatched_at, event.attempts = now, event.attempts + 1
    return sorted(events, key=lambda event: (event.created_at, event.id))


async def redispatch_pending(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Safety net: enqueue events still pending after a crash between commit and enqueue."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    async with db.identity_tx():
        rows = await OutboxEvent.filter(dispatched_at=None, created_at__lt=cutoff).order_by(
            "created_at").limit(limit).values_list("tenant_id", "id")
    # A job id of its own per sweep: arq keeps a failed job's id for keep_result, and reusing
    # it would silently drop the retry. Dispatch is idempotent, so a duplicate is harmless.
    sweep = int(clock.now().timestamp()) // 60
    for tid, eid in rows:
        await jobs.enqueue("dispatch_event", str(tid), str(eid), job_id=f"event:{eid}:sweep:{sweep}")
    return len(rows)
