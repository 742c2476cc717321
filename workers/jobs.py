"""Job functions: thin adapters from a queued call to one domain function.

arq calls them as fn(ctx, *args); the in-process queue does the same, so both run one code.
"""

from __future__ import annotations

from typing import Any

from domain.events import service as events


async def dispatch_event(ctx: dict[str, Any], tenant_id: str, event_id: str) -> bool:
    return await events.dispatch_event(tenant_id=tenant_id, event_id=event_id)


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    return await events.redispatch_pending()


FUNCTIONS = [dispatch_event, sweep_outbox]
# (function, seconds between runs) for the periodic ones
PERIODIC = [(sweep_outbox, 60)]
