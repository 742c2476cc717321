"""Jobs (reqs), their stages, and the stage templates jobs copy. Recruiting staff manage these
(rules.can_manage); hiring managers read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from domain.core import clock, db
from domain.core.errors import DomainError, Forbidden, NotFound
from domain.core.scope import Scope
from domain.events.service import publish
from domain.pipeline import events, rules
from domain.pipeline.errors import StageNotEmpty
from domain.pipeline.models import Application, Job, JobStage, StageTemplate
from domain.pipeline.service import get_job, live_stages, locked
from domain.tenancy import service as tenancy


def require_manage(scope: Scope) -> None:
    scope.require("pipeline:write")
    if not rules.can_manage(scope):
        raise Forbidden("Only recruiting staff manage jobs and stages.")


# --- stage templates -------------------------------------------------------------------------

async def ensure_default_template(scope: Scope) -> StageTemplate:
    """The tenant's default template, created on first use."""
    async with db.tenant_tx(scope):
        found = await StageTemplate.filter(tenant_id=scope.tenant_id, is_default=True
                                           ).order_by("id").first()
        if found is not None:
            return found
        now = clock.now()
        try:
            async with db.tenant_tx(scope):  # a savepoint: a concurrent first use may win
                return await StageTemplate.create(
                    tenant_id=scope.tenant_id, name=rules.DEFAULT_TEMPLATE_NAME,
                    stages=list(rules.DEFAULT_STAGES), is_default=True, created_at=now,
                    updated_at=now)
        except IntegrityError:
            return await StageTemplate.get(tenant_id=scope.tenant_id,
                                           name=rules.DEFAULT_TEMPLATE_NAME)


async def list_stage_templates(scope: Scope) -> list[StageTemplate]:
    scope.require("pipeline:read")
    async with db.tenant_tx(scope):
        await ensure_default_template(scope)
        return list(await StageTemplate.filter(tenant_id=scope.tenant_id).order_by("id"))


async def stage_templates_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, StageTemplate]:
    if not scope.can("pipeline:read"):
        return {}
    async with db.tenant_tx(scope):
        return {t.id: t for t in await StageTemplate.filter(tenant_id=scope.tenant_id,
                                                            id__in=list(ids))}


async def save_stage_template(scope: Scope, *, name: str, stages: list[dict[str, Any]],
                              template_id: UUID | None = None, is_default: bool = False
                              ) -> StageTemplate:
    """Create a template, or replace one's name and stages; jobs made from it keep their
    copies. is_default makes it the one new jobs copy when none is named."""
    require_manage(scope)
    name = rules.check_text(name, field="name", max_length=100)
    checked = rules.check_template_stages(stages)
    async with db.tenant_tx(scope):
        await ensure_default_template(scope)
        now = clock.now()
        if await StageTemplate.filter(tenant_id=scope.tenant_id, name=name).exclude(
                id=template_id).exists():
            raise DomainError(f"A template '{name}' exists already.", field="name",
                              code="DUPLICATE")
        if template_id is None:
            template = await StageTemplate.create(tenant_id=scope.tenant_id, name=name,
                                                  stages=checked, is_default=False,
                                                  created_at=now, updated_at=now)
        else:
            found = await locked(StageTemplate.filter(tenant_id=scope.tenant_id,
                                                      id=template_id)).first()
            if found is None:
                raise NotFound("No such stage template.", field="templateId")
            template = found
            template.name, template.stages, template.updated_at = name, checked, now
            await template.save()
        if is_default:
            await StageTemplate.filter(tenant_id=scope.tenant_id).exclude(id=template.id
                                                                          ).update(is_default=False)
            template.is_default = True
            await template.save(update_fields=["is_default"])
        return template


# --- jobs --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobData:
    """What a create or update says about a job; None means "not given" (unchanged)."""

    title: str | None = None
    department: str | None = None
    location: str | None = None
    hiring_manager_id: UUID | None = None
    recruiter_id: UUID | None = None
    coordinator_id: UUID | None = None
    target_hires: int | None = None
    target_date: date | None = None
    external_id: str | None = None


async def _check_members(scope: Scope, data: JobData) -> None:
    wanted = {name: getattr(data, name) for name in ("hiring_manager_id", "recruiter_id",
                                                      "coordinator_id")}
    ids = [v for v in wanted.values() if v is not None]
    if not ids:
        return
    members = await tenancy.users_by_ids(scope, ids)
    for name, value in wanted.items():
        if value is not None and value not in members:
            head, *rest = name.split("_")
            raise NotFound("No such member.", field=head + "".join(p.title() for p in rest))


def _apply(job: Job, data: JobData) -> None:
    if data.title is not None:
        job.title = rules.check_text(data.title, field="title", max_length=200)
    if data.department is not None:
        job.department = rules.check_text(data.department, field="department", max_length=100,
                                          required=False)
    if data.location is not None:
        job.location = rules.check_text(data.location, field="location", max_length=200,
                                        required=False)
    rules.check_target(data.target_hires, data.target_date)
    for name in ("hiring_manager_id", "recruiter_id", "coordinator_id", "target_hires",
                 "target_date"):
        if getattr(data, name) is not None:
            setattr(job, name, getattr(data, name))
    if data.external_id is not None:
        job.external_id = rules.check_text(data.external_id, field="externalId",
                                           max_length=200, required=False) or None


async def _check_external(scope: Scope, external_id: str | None, job_id: UUID | None) -> None:
    if external_id and await Job.filter(tenant_id=scope.tenant_id, external_id=external_id
                                        ).exclude(id=job_id).exists():
        raise DomainError("Another job has this external id.", field="externalId",
                          code="DUPLICATE")


async def create_job(scope: Scope, *, data: JobData, template_id: UUID | None = None,
                     stages: list[dict[str, Any]] | None = None, status: str = "open") -> Job:
    """A job with its stages copied from `stages`, or the template, or the tenant's default."""
    require_manage(scope)
    if data.title is None:
        raise DomainError("A job needs a title.", field="title", code="REQUIRED")
    rules.check_job_status(status)
    checked = None
    if stages is not None:  # external ids (ATS) ride along with the checked names and kinds
        checked = [{**c, "external_id": s.get("external_id")}
                   for c, s in zip(rules.check_template_stages(stages), stages, strict=True)]
    async with db.tenant_tx(scope):
        if checked is None:
            if template_id is not None:
                template = await StageTemplate.get_or_none(tenant_id=scope.tenant_id,
                                                           id=template_id)
                if template is None:
                    raise NotFound("No such stage template.", field="templateId")
            else:
                template = await ensure_default_template(scope)
            checked = list(template.stages)
        await _check_members(scope, data)
        now = clock.now()
        job = Job(tenant_id=scope.tenant_id, status=status, created_at=now, updated_at=now,
                  opened_at=now if status == "open" else None,
                  on_hold_since=now if status == "on_hold" else None,
                  closed_at=now if status == "closed" else None)
        _apply(job, data)
        await _check_external(scope, job.external_id, None)
        await job.save()
        await JobStage.bulk_create([
            JobStage(tenant_id=scope.tenant_id, job_id=job.id, position=i + 1, name=s["name"],
                     kind=s["kind"], external_id=s.get("external_id"), created_at=now)
            for i, s in enumerate(checked)])
        await publish(events.JOB_CREATED, {"jobId": str(job.id), "title": job.title},
                      scope=scope)
        return job


async def update_job(scope: Scope, *, job_id: UUID, data: JobData) -> Job:
    require_manage(scope)
    async with db.tenant_tx(scope):
        job = await get_job(scope, job_id, lock=True)
        await _check_members(scope, data)
        _apply(job, data)
        await _check_external(scope, job.external_id, job.id)
        job.updated_at = clock.now()
        await job.save()
        await publish(events.JOB_UPDATED, {"jobId": str(job.id)}, scope=scope)
        return job


async def set_job_status(scope: Scope, *, job_id: UUID, status: str) -> Job:
    """on_hold records since when (SLA clocks pause); reopening clears it; closing stamps
    closed_at. Setting the current status again changes nothing."""
    require_manage(scope)
    rules.check_job_status(status)
    async with db.tenant_tx(scope):
        job = await get_job(scope, job_id, lock=True)
        if job.status == status:
            return job
        now = clock.now()
        previous, job.status, job.updated_at = job.status, status, now
        job.on_hold_since = now if status == "on_hold" else None
        job.closed_at = now if status == "closed" else None
        if status == "open" and job.opened_at is None:
            job.opened_at = now
        await job.save()
        await publish(events.JOB_STATUS_CHANGED, {"jobId": str(job.id), "from": previous,
                                                  "to": status}, scope=scope)
        return job


# --- a job's stages -------------------------------------------------------------------------------

async def renumber(stages: Sequence[JobStage]) -> None:
    for i, stage in enumerate(stages):
        if stage.position != i + 1:
            stage.position = i + 1
            await stage.save(update_fields=["position"])


async def add_job_stage(scope: Scope, *, job_id: UUID, name: str, kind: str,
                        position: int | None = None, external_id: str | None = None) -> JobStage:
    """Inserted at `position` (1-based; default: last); later stages shift down."""
    require_manage(scope)
    name = rules.check_text(name, field="name", max_length=100)
    rules.check_kind(kind)
    async with db.tenant_tx(scope):
        await get_job(scope, job_id, lock=True)
        stages = await live_stages(scope, job_id)
        if len(stages) >= rules.MAX_STAGES:
            raise DomainError(f"At most {rules.MAX_STAGES} stages.", field="jobId",
                              code="OUT_OF_RANGE")
        at = len(stages) + 1 if position is None else position
        if not 1 <= at <= len(stages) + 1:
            raise DomainError(f"Between 1 and {len(stages) + 1}.", field="position",
                              code="OUT_OF_RANGE")
        stage = await JobStage.create(tenant_id=scope.tenant_id, job_id=job_id, position=at,
                                      name=name, kind=kind, external_id=external_id,
                                      created_at=clock.now())
        await renumber([*stages[:at - 1], stage, *stages[at - 1:]])
        return stage


async def _live_stage(scope: Scope, stage_id: UUID) -> JobStage:
    stage = await JobStage.get_or_none(tenant_id=scope.tenant_id, id=stage_id, removed_at=None)
    if stage is None:
        raise NotFound("No such stage.", field="stageId")
    return stage


async def rename_job_stage(scope: Scope, *, stage_id: UUID, name: str,
                           kind: str | None = None) -> JobStage:
    require_manage(scope)
    name = rules.check_text(name, field="name", max_length=100)
    if kind is not None:
        rules.check_kind(kind)
    async with db.tenant_tx(scope):
        stage = await _live_stage(scope, stage_id)
        stage.name = name
        stage.kind = kind or stage.kind
        await stage.save(update_fields=["name", "kind"])
        return stage


async def reorder_job_stages(scope: Scope, *, job_id: UUID, stage_ids: Sequence[UUID]
                             ) -> list[JobStage]:
    require_manage(scope)
    async with db.tenant_tx(scope):
        await get_job(scope, job_id, lock=True)
        stages = {s.id: s for s in await live_stages(scope, job_id)}
        order = rules.check_reorder(list(stages), stage_ids)
        ordered = [stages[i] for i in order]
        await renumber(ordered)
        return ordered


async def remove_job_stage(scope: Scope, *, stage_id: UUID) -> JobStage:
    """Soft removal (history keeps pointing at it); refused while active applications are in
    it, and for a job's last stage."""
    require_manage(scope)
    async with db.tenant_tx(scope):
        stage = await _live_stage(scope, stage_id)
        await get_job(scope, stage.job_id, lock=True)
        waiting = await Application.filter(tenant_id=scope.tenant_id, job_id=stage.job_id,
                                           stage_id=stage.id, status="active").count()
        if waiting:
            raise StageNotEmpty(f"{waiting} active application(s) are in this stage; move them "
                                "first.", field="stageId")
        stages = await live_stages(scope, stage.job_id)
        if len(stages) == 1:
            raise DomainError("A job keeps at least one stage.", field="stageId",
                              code="INVALID")
        stage.removed_at = clock.now()
        await stage.save(update_fields=["removed_at"])
        await renumber([s for s in stages if s.id != stage.id])
        return stage
