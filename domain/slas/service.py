"""SLA use cases: tenant policies and per-job overrides, and the sweep that notifies breaches.

Who may change what: tenant policies are tenant settings (`tenancy:write`, admins); a job's
overrides belong to whoever manages jobs (`pipeline:write`, recruiting staff, not hiring
managers, as for the job itself).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from domain.core import clock, db
from domain.core.errors import NotFound
from domain.core.ids import uuid7
from domain.core.scope import Scope
from domain.events.service import publish
from domain.pipeline import service as pipeline
from domain.pipeline.jobs import require_manage
from domain.prospects import service as prospects
from domain.slas import events, rules
from domain.slas.models import JobSlaOverride, SlaBreach, SlaPolicy
from domain.slas.rules import Policy

log = logging.getLogger("talentgraph.slas")

__all__ = ["SlaBreach", "sweep_sla_breaches"]


def _policy(row: SlaPolicy | JobSlaOverride, source: str) -> Policy:
    return Policy(row.stage_kind, row.yellow_hours, row.red_hours, row.action, row.owner_role,
                  source)


# --- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicySet:
    """A tenant's stored policies and some jobs' overrides; `of` gives the effective one."""

    tenant: dict[str, Policy]
    jobs: dict[UUID, dict[str, Policy]]

    def of(self, job_id: UUID | None, kind: str) -> Policy:
        return rules.effective(kind, self.tenant, self.jobs.get(job_id) if job_id else None)


async def policy_set(scope: Scope, job_ids: Sequence[UUID]) -> PolicySet:
    """Two queries whatever the number of jobs; joins the caller's transaction if any."""
    async with db.tenant_tx(scope):
        tenant = {r.stage_kind: _policy(r, "tenant")
                  for r in await SlaPolicy.filter(tenant_id=scope.tenant_id)}
        jobs: dict[UUID, dict[str, Policy]] = {}
        if job_ids:
            for row in await JobSlaOverride.filter(tenant_id=scope.tenant_id,
                                                   job_id__in=list(job_ids)):
                jobs.setdefault(row.job_id, {})[row.stage_kind] = _policy(row, "job")
    return PolicySet(tenant, jobs)


async def effective_policies(scope: Scope, *, job_id: UUID | None = None) -> list[Policy]:
    """One policy per stage kind, in kind order: the job's (overrides, else the tenant's, else
    the defaults) or the tenant's. An unknown job (or another tenant's) has none."""
    scope.require("pipeline:read")
    if job_id is not None and not await pipeline.jobs_by_ids(scope, [job_id]):
        return []
    found = await policy_set(scope, [job_id] if job_id else [])
    return [found.of(job_id, kind) for kind in rules.STAGE_KINDS]


# --- writing ---------------------------------------------------------------------------------

async def _upsert(scope: Scope, model: Any, keys: dict[str, Any], values: dict[str, Any]
                  ) -> None:
    """Update, else insert; a concurrent insert of the same key turns into the update."""
    if await model.filter(**keys).update(**values):
        return
    try:
        async with db.tenant_tx(scope):  # a savepoint, so a lost race leaves the tx usable
            await model.create(id=uuid7(), **keys, **values)
    except IntegrityError:
        await model.filter(**keys).update(**values)


def _checked(source: str, stage_kind: str, yellow_hours: int, red_hours: int, action: str,
             owner_role: str) -> Policy:
    return rules.check_policy(stage_kind=stage_kind, yellow_hours=yellow_hours,
                              red_hours=red_hours, action=action, owner_role=owner_role,
                              source=source)


async def set_sla_policy(scope: Scope, *, stage_kind: str, yellow_hours: int, red_hours: int,
                         action: str, owner_role: str) -> Policy:
    """The tenant's policy for a stage kind (replacing the default or the previous one)."""
    scope.require("tenancy:write")
    policy = _checked("tenant", stage_kind, yellow_hours, red_hours, action, owner_role)
    values = {"yellow_hours": yellow_hours, "red_hours": red_hours, "action": action,
              "owner_role": owner_role, "updated_at": clock.now(), "updated_by_id": scope.user_id}
    async with db.tenant_tx(scope):
        await _upsert(scope, SlaPolicy, {"tenant_id": scope.tenant_id, "stage_kind": stage_kind},
                      values)
        await publish(events.SLA_POLICY_SET, {"stageKind": stage_kind, **_payload(policy)},
                      scope=scope)
    return policy


def _payload(policy: Policy) -> dict[str, Any]:
    return {"yellowHours": policy.yellow_hours, "redHours": policy.red_hours,
            "action": policy.action, "ownerRole": policy.owner_role}


async def set_job_sla_override(scope: Scope, *, job_id: UUID, stage_kind: str,
                               yellow_hours: int, red_hours: int, action: str,
                               owner_role: str) -> Policy:
    require_manage(scope)
    policy = _checked("job", stage_kind, yellow_hours, red_hours, action, owner_role)
    values = {"yellow_hours": yellow_hours, "red_hours": red_hours, "action": action,
              "owner_role": owner_role, "updated_at": clock.now(), "updated_by_id": scope.user_id}
    async with db.tenant_tx(scope):
        await pipeline.get_job(scope, job_id, lock=True)
        await _upsert(scope, JobSlaOverride, {"tenant_id": scope.tenant_id, "job_id": job_id,
                                       "stage_kind": stage_kind}, values)
        await publish(events.JOB_SLA_OVERRIDE_SET, {"jobId": str(job_id), "stageKind": stage_kind,
                                                    **_payload(policy)}, scope=scope)
    return policy


async def remove_job_sla_override(scope: Scope, *, job_id: UUID, stage_kind: str) -> Policy:
    """Back to the tenant's policy for this job and kind; removing none is not an error (the
    result is the same). Returns the policy now in force."""
    require_manage(scope)
    if stage_kind not in rules.STAGE_KINDS:
        raise NotFound(f"Unknown stage kind '{stage_kind}'.", field="stageKind")
    async with db.tenant_tx(scope):
        await pipeline.get_job(scope, job_id, lock=True)
        removed = await JobSlaOverride.filter(tenant_id=scope.tenant_id, job_id=job_id,
                                              stage_kind=stage_kind).delete()
        if removed:
            await publish(events.JOB_SLA_OVERRIDE_REMOVED, {"jobId": str(job_id),
                                                            "stageKind": stage_kind}, scope=scope)
        return (await policy_set(scope, [job_id])).of(job_id, stage_kind)


# --- the sweep -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """An active application at least yellow, as the board's query finds it."""

    application_id: UUID
    job_id: UUID
    stage_id: UUID
    stage_entered_at: datetime
    status: str
    action: str
    owner_role: str
    owner_id: UUID | None


_INSERT_BREACH = (
    "INSERT INTO sla_breaches (id, tenant_id, application_id, job_id, stage_id, stage_entry, "
    "stage_entered_at, level, owner_id, action, detected_at) VALUES {values} "
    "ON CONFLICT (tenant_id, application_id, stage_entry, level) DO NOTHING RETURNING id")
_BREACH_VALUES = {
    "postgres": "($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::uuid, $6, $7::timestamptz, $8, "
                "$9::uuid, $10, $11::timestamptz)",
    "sqlite": "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
}


def _param(value: Any) -> Any:
    if db.dialect() == "postgres":
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):  # as tortoise stores it: UTC ISO text with a space
        return value.astimezone(UTC).isoformat(sep=" ")
    return value


async def record_breach(scope: Scope, candidate: Candidate, *, now: datetime) -> bool:
    """Record the candidate's breaches not recorded yet and notify the owner of the most
    severe new one, in one transaction: a breach row exists iff its notification does (or, with
    no owner to tell — no recruiter or hiring manager on the job —, the row alone).
    Insert-or-ignore on the unique key makes an overlapping sweep's insert a no-op."""
    entry = rules.stage_entry_key(candidate.stage_id, candidate.stage_entered_at)
    sql = _INSERT_BREACH.format(values=_BREACH_VALUES[db.dialect()])
    async with db.tenant_tx(scope) as conn:
        new: list[str] = []
        for level in rules.breach_levels(candidate.status):
            params = [uuid7(), scope.tenant_id, candidate.application_id, candidate.job_id,
                      candidate.stage_id, entry, candidate.stage_entered_at, level,
                      candidate.owner_id, candidate.action, now]
            # RETURNING says whether this insert won (asyncpg's execute() would only count)
            rows = await conn.execute_query_dict(sql, [_param(p) for p in params])
            if rows:
                new.append(level)
        if not new or candidate.owner_id is None:
            return bool(new)
        level = new[-1]
        await prospects.notify(scope, user_id=candidate.owner_id, kind="sla_breach", payload={
            "applicationId": str(candidate.application_id), "jobId": str(candidate.job_id),
            "stageId": str(candidate.stage_id), "level": level, "action": candidate.action,
            "ownerRole": candidate.owner_role,
            "stageEnteredAt": candidate.stage_entered_at.isoformat()})
        await publish(events.SLA_BREACHED, {
            "applicationId": str(candidate.application_id), "level": level,
            "ownerId": str(candidate.owner_id), "action": candidate.action}, scope=scope)
        return True


async def sweep_tenant(scope: Scope) -> int:
    """Find this tenant's applications past yellow or red and record new breaches. Returns how
    many applications had a new breach."""
    from domain.pipeline import board  # the board's query finds them (board imports us)

    now = clock.now()
    recorded = 0
    for candidate in await board.breach_candidates(scope, now=now):
        recorded += await record_breach(scope, candidate, now=now)
    return recorded


async def sweep_sla_breaches() -> int:
    """Every tenant in turn; a failing tenant is logged and does not stop the others."""
    from domain.tenancy.service import all_tenants, system_scope

    total = 0
    for tenant in await all_tenants():
        try:
            total += await sweep_tenant(await system_scope(tenant))
        except Exception:
            log.exception("SLA sweep failed for tenant %s", tenant.id)
    return total
