"""Job functions: thin adapters from a queued call to one domain function.

arq calls them as fn(ctx, *args); the in-process queue does the same, so both run one code.
"""

from __future__ import annotations

import logging
from typing import Any

from arq.worker import Retry

from domain.events import service as events
from domain.mailboxes import tokens as mailbox_tokens
from domain.prospects import imports
from domain.slas import service as slas

log = logging.getLogger("talentgraph.jobs")

# arq retries a job only when it raises Retry (any other exception fails it for good), so a
# failed dispatch is re-raised as Retry, deferred RETRY_BASE_SECONDS * 2 ** (try - 1).
RETRY_BASE_SECONDS = 1.0


async def dispatch_event(ctx: dict[str, Any], tenant_id: str, event_id: str) -> bool:
    try:
        return await events.dispatch_event(tenant_id=tenant_id, event_id=event_id)
    except Exception as exc:
        job_try = int(ctx.get("job_try") or 1)
        log.warning("dispatch of event %s failed (try %d)", event_id, job_try, exc_info=True)
        raise Retry(defer=RETRY_BASE_SECONDS * 2 ** (job_try - 1)) from exc


async def dispatch_events(ctx: dict[str, Any], tenant_id: str, event_ids: list[str]) -> int:
    """Several events in one transaction: the in-process queue's batches (called directly,
    not queued by name); a failure is the caller's to split into single dispatches, each
    retried on its own."""
    return await events.dispatch_events(tenant_id=tenant_id, event_ids=event_ids)


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    return await events.redispatch_pending()


# Under arq's default job timeout (300 s): a longer import continues in a follow-up job.
IMPORT_JOB_SECONDS = 240.0


async def run_prospect_import(ctx: dict[str, Any], tenant_id: str, import_id: str) -> str:
    try:
        return await imports.run_import(tenant_id=tenant_id, import_id=import_id,
                                        time_budget=IMPORT_JOB_SECONDS)
    except imports.ImportInterrupted as exc:
        # The import is queued again and says where it stopped; retry from there later.
        job_try = int(ctx.get("job_try") or 1)
        raise Retry(defer=RETRY_BASE_SECONDS * 2 ** job_try) from exc


async def sweep_prospect_imports(ctx: dict[str, Any]) -> int:
    return await imports.sweep_imports()


async def refresh_mailbox_tokens(ctx: dict[str, Any]) -> int:
    """Ahead of expiry, so sends rarely wait on a refresh (a 401 still refreshes on demand)."""
    return await mailbox_tokens.refresh_expiring()


async def sweep_sla_breaches(ctx: dict[str, Any]) -> int:
    """Notifies each new SLA breach once (per tenant, failures isolated)."""
    return await slas.sweep_sla_breaches()


FUNCTIONS = [dispatch_event, sweep_outbox, run_prospect_import, sweep_prospect_imports,
             refresh_mailbox_tokens, sweep_sla_breaches]
# (function, seconds between runs) for the periodic ones
PERIODIC = [(sweep_outbox, 60), (sweep_prospect_imports, 60), (refresh_mailbox_tokens, 300),
            (sweep_sla_breaches, 300)]
