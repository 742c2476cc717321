"""ATS sync for partners: jobs, candidates (prospects + applications) and stage moves upserted
by the ATS's external ids, with an API key scoped `ats:write`.

Idempotent: the same payload twice changes nothing (no row, no event, no timestamp) and
returns the same result. A move older than the application's latest known one is recorded in
the history at its time without moving the current stage backwards. Everything is checked
before anything is written, so a bad payload writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from uuid import UUID

from domain.core import clock, db
from domain.core.errors import DomainError, NotFound
from domain.core.scope import Scope
from domain.pipeline import applications, jobs, rules
from domain.pipeline.errors import StageOfAnotherJob
from domain.pipeline.models import Application, ApplicationMove, Job, JobStage
from domain.pipeline.service import live_stages, locked
from domain.prospects import service as prospects
from domain.prospects.rules import ProspectData

SYNC_PERMISSIONS = frozenset({"prospects:read", "prospects:write", "pipeline:read",
                              "pipeline:write"})


def _sync_scope(scope: Scope) -> Scope:
    """`ats:write` is the whole grant a sync needs: it writes prospects and applications as
    the partner, within these functions only."""
    scope.require("ats:write")
    return replace(scope, permissions=scope.permissions | SYNC_PERMISSIONS)


def _required(value: str | None, name: str | list[str], max_length: int = 200) -> str:
    return rules.check_text(value, field=name, max_length=max_length)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AtsStage:
    external_id: str | None
    name: str | None
    kind: str | None


@dataclass(frozen=True)
class AtsJob:
    external_id: str | None
    title: str | None
    department: str | None = None
    location: str | None = None
    status: str | None = None
    stages: list[AtsStage] = field(default_factory=list)


def _check_job(payload: AtsJob) -> tuple[str, list[tuple[str, str, str]]]:
    external_id = _required(payload.external_id, "externalId")
    _required(payload.title, "title")
    if payload.status is not None:
        rules.check_job_status(payload.status)
    if not payload.stages:
        raise DomainError("Give the job's stages.", field="stages", code="REQUIRED")
    if len(payload.stages) > rules.MAX_STAGES:
        raise DomainError(f"At most {rules.MAX_STAGES} stages.", field="stages",
                          code="OUT_OF_RANGE")
    stages = []
    for i, s in enumerate(payload.stages):
        where = ["stages", str(i)]
        stages.append((_required(s.external_id, [*where, "externalId"]),
                       rules.check_text(s.name, field=[*where, "name"], max_length=100),
                       rules.check_kind(s.kind or "", field=[*where, "kind"])))
    if len({e for e, _, _ in stages}) != len(stages):
        raise DomainError("Stage external ids repeat.", field="stages", code="DUPLICATE")
    return external_id, stages


async def upsert_ats_job(scope: Scope, payload: AtsJob) -> Job:
    """Create or update a job by external id; its stages by their external ids, in the given
    order (stages the payload does not name stay, after them)."""
    scope = _sync_scope(scope)
    external_id, stages = _check_job(payload)
    async with db.tenant_tx(scope):
        job = await locked(Job.filter(tenant_id=scope.tenant_id, external_id=external_id)).first()
        data = jobs.JobData(title=payload.title, department=payload.department,
                            location=payload.location, external_id=external_id)
        if job is None:
            return await jobs.create_job(
                scope, data=data, status=payload.status or "open",
                stages=[{"name": n, "kind": k, "external_id": e} for e, n, k in stages])
        changed = False
        for name in ("title", "department", "location"):
            value = getattr(payload, name)
            if value is not None and value.strip() != getattr(job, name):
                changed = True
        if changed:
            job = await jobs.update_job(scope, job_id=job.id, data=data)
        if payload.status is not None and payload.status != job.status:
            job = await jobs.set_job_status(scope, job_id=job.id, status=payload.status)
        live = await live_stages(scope, job.id)
        by_external = {s.external_id: s for s in live if s.external_id}
        now = clock.now()
        ordered: list[JobStage] = []
        for e, n, k in stages:
            stage = by_external.get(e)
            if stage is None:
                stage = await JobStage.create(tenant_id=scope.tenant_id, job_id=job.id,
                                              position=0, name=n, kind=k, external_id=e,
                                              created_at=now)
            elif (stage.name, stage.kind) != (n, k):
                stage.name, stage.kind = n, k
                await stage.save(update_fields=["name", "kind"])
            ordered.append(stage)
        named = {s.id for s in ordered}
        ordered += [s for s in live if s.id not in named]
        await jobs.renumber(ordered)
        return job


@dataclass(frozen=True)
class AtsCandidate:
    job_external_id: str | None
    application_external_id: str | None
    first_name: str | None = None
    last_name: str | None = None
    emails: list[str] = field(default_factory=list)
    profile_urls: list[str] = field(default_factory=list)
    title: str | None = None
    company: str | None = None
    location: str | None = None
    source: str | None = None
    stage_external_id: str | None = None
    applied_at: datetime | None = None


async def _adds_something(scope: Scope, prospect_id: UUID, data: ProspectData) -> bool:
    """Whether merging `data` into the prospect would change it (else skip: idempotence)."""
    found = await prospects.get_prospect(scope, prospect_id)
    checked = prospects.check_data(data)
    emails = {e.email for e in (await prospects.emails_by_prospect(scope, [found.id])
                                ).get(found.id, [])}
    urls = {p.url for p in (await prospects.profiles_by_prospect(scope, [found.id])
                            ).get(found.id, [])}
    if set(checked.emails) - emails or {u for _, u in checked.profiles} - urls:
        return True
    return any(getattr(data, n) and not getattr(found, n) for n in prospects.SCALARS)


async def upsert_ats_candidate(scope: Scope, payload: AtsCandidate) -> Application:
    """The prospect by email or profile URL (created or merged), and its application for the
    job by the application's external id (created in the given or first stage, or adopted if
    the prospect is in process for the job already)."""
    scope = _sync_scope(scope)
    job_external = _required(payload.job_external_id, "jobExternalId")
    app_external = _required(payload.application_external_id, "applicationExternalId")
    if not payload.emails and not payload.profile_urls:
        raise DomainError("Give an email or a profile URL to match the candidate by.",
                          field="emails", code="REQUIRED")
    data = ProspectData(first_name=payload.first_name, last_name=payload.last_name,
                        emails=list(payload.emails), profile_urls=list(payload.profile_urls),
                        title=payload.title, company=payload.company, location=payload.location,
                        source=payload.source or "ats")
    prospects.check_data(data)
    async with db.tenant_tx(scope):
        job = await Job.get_or_none(tenant_id=scope.tenant_id, external_id=job_external)
        if job is None:
            raise NotFound("No job with this external id.", field="jobExternalId")
        stage = None
        if payload.stage_external_id:
            stage = await JobStage.get_or_none(tenant_id=scope.tenant_id, job_id=job.id,
                                               external_id=payload.stage_external_id,
                                               removed_at=None)
            if stage is None:
                raise NotFound("No stage of this job has this external id.",
                               field="stageExternalId")
        existing = await locked(Application.filter(tenant_id=scope.tenant_id,
                                                   external_id=app_external)).first()
        if existing is not None:
            if existing.job_id != job.id:
                raise DomainError("This application belongs to another job.",
                                  field="jobExternalId", code="INVALID")
            if await _adds_something(scope, existing.prospect_id, data):
                await prospects.save_prospect(scope, data, activity_source="ats")
            return existing
        prospect, _ = await prospects.save_prospect(scope, data, activity_source="ats")
        adopted = await locked(Application.filter(tenant_id=scope.tenant_id, job_id=job.id,
                                                  prospect_id=prospect.id)).first()
        if adopted is not None:
            if adopted.external_id is None:
                adopted.external_id = app_external
                await adopted.save(update_fields=["external_id"])
            return adopted
        return await applications.create_application(
            scope, prospect_id=prospect.id, job_id=job.id,
            stage_id=stage.id if stage else None, source=payload.source or "ats",
            occurred_at=_aware(payload.applied_at) if payload.applied_at else None,
            external_id=app_external, via="ats")


@dataclass(frozen=True)
class AtsMoveResult:
    application: Application
    move: ApplicationMove
    current: bool  # the move is the application's current stage (not an older one)


async def record_ats_stage_move(scope: Scope, *, application_external_id: str | None,
                                stage_external_id: str | None, occurred_at: datetime | None,
                                move_external_id: str | None) -> AtsMoveResult:
    scope = _sync_scope(scope)
    app_external = _required(application_external_id, "applicationExternalId")
    stage_external = _required(stage_external_id, "stageExternalId")
    move_external = _required(move_external_id, "moveExternalId")
    if occurred_at is None:
        raise DomainError("Give the time of the move.", field="occurredAt", code="REQUIRED")
    when = _aware(occurred_at)
    async with db.tenant_tx(scope):
        application = await locked(Application.filter(tenant_id=scope.tenant_id,
                                                      external_id=app_external)).first()
        if application is None:
            raise NotFound("No application with this external id.",
                           field="applicationExternalId")
        done = await ApplicationMove.get_or_none(tenant_id=scope.tenant_id,
                                                 external_id=move_external)
        if done is not None:
            if done.application_id != application.id:
                raise DomainError("This move id was used for another application.",
                                  field="moveExternalId", code="DUPLICATE")
            current = (application.status == "active" and application.stage_id == done.to_stage_id
                       and application.stage_entered_at == done.occurred_at)
            return AtsMoveResult(application, done, current)
        stages = await JobStage.filter(tenant_id=scope.tenant_id, external_id=stage_external,
                                       removed_at=None)
        stage = next((s for s in stages if s.job_id == application.job_id), None)
        if stage is None:
            if stages:
                raise StageOfAnotherJob("This stage belongs to another job.",
                                        field="stageExternalId")
            raise NotFound("No stage with this external id.", field="stageExternalId")
        job = await Job.get(tenant_id=scope.tenant_id, id=application.job_id)
        result = await applications.record_move(scope, application, job, stage, when=when,
                                                source="ats", external_id=move_external)
        return AtsMoveResult(result.application, result.move, result.current)
