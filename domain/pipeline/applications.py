"""Applications: a prospect in process for a job. Creating, moving (forward, back, skipping),
closing with an outcome, reopening; and the tenant's closing reasons.

Invariants:
- Every change appends one row to application_moves (never updated), publishes its event and
  updates the cached stage in the same transaction.
- Concurrent changes of one application serialise on its row (PostgreSQL: SELECT ... FOR
  UPDATE; SQLite has one writer) and each bumps `version`; the cache update is conditional on
  the version read, so a lost update is impossible even without the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from domain.core import clock, db
from domain.core.errors import DomainError, Forbidden, NotFound
from domain.core.ids import uuid7
from domain.core.scope import Scope
from domain.events.service import publish
from domain.pipeline import events, rules
from domain.pipeline.errors import ConfirmationRequired, Conflict, NotActive, StageOfAnotherJob
from domain.pipeline.jobs import require_manage
from domain.pipeline.models import Application, ApplicationMove, ClosingReason, Job, JobStage
from domain.pipeline.service import (
    closing_reasons_of,
    get_application,
    get_job,
    live_stages,
    locked_with_job,
)
from domain.prospects import service as prospects
from domain.tenancy import service as tenancy


def _require_decide(scope: Scope, job: Job) -> None:
    scope.require("pipeline:write")
    if not rules.can_decide(scope, job.hiring_manager_id):
        raise Forbidden("Only recruiting staff and the job's hiring manager decide on its "
                        "candidates.")


async def _target_stage(scope: Scope, job_id: UUID, stage_id: UUID, field: str = "stageId"
                        ) -> JobStage:
    stage = await JobStage.get_or_none(tenant_id=scope.tenant_id, id=stage_id, removed_at=None)
    if stage is None:
        raise NotFound("No such stage.", field=field)
    if stage.job_id != job_id:
        raise StageOfAnotherJob("This stage belongs to another job.", field=field)
    return stage


def _activity(kind: str, application: Application, job: Job, when: datetime,
              **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "prospectIds": [str(application.prospect_id)],
            "applicationId": str(application.id), "jobId": str(job.id), "jobTitle": job.title,
            "occurredAt": when.isoformat(), **extra}


_MOVE_COLUMNS = ("id", "tenant_id", "application_id", "job_id", "kind", "from_stage_id",
                 "to_stage_id", "occurred_at", "recorded_at", "actor_id", "source", "external_id",
                 "outcome", "outcome_reason", "seq")
# Moves are the hot path (hundreds a second): on PostgreSQL the two writes of a move go out as
# constant statements with bound values instead of being rebuilt by the ORM each time.
_INSERT_MOVE = (f"INSERT INTO application_moves ({', '.join(_MOVE_COLUMNS)}) VALUES "  # noqa: S608
                f"({', '.join(f'${i + 1}' for i in range(len(_MOVE_COLUMNS)))})")


def _move_values(scope: Scope, application: Application, *, seq: int, kind: str,
                 to_stage: JobStage, from_stage_id: UUID | None, when: datetime, source: str,
                 external_id: str | None = None, outcome: str | None = None,
                 reason: str | None = None) -> dict[str, Any]:
    return dict(
        id=uuid7(), tenant_id=scope.tenant_id, application_id=application.id,
        job_id=application.job_id, kind=kind, from_stage_id=from_stage_id,
        to_stage_id=to_stage.id, occurred_at=when, recorded_at=clock.now(),
        actor_id=scope.user_id, source=source, external_id=external_id, outcome=outcome,
        outcome_reason=reason, seq=seq)


async def _append(scope: Scope, application: Application, **move: Any) -> ApplicationMove:
    """One history row; its seq is the application's version (saved just before)."""
    values = _move_values(scope, application, seq=application.version, **move)
    if db.dialect() != "postgres":
        return await ApplicationMove.create(**values)
    await ApplicationMove._meta.db.execute_query(_INSERT_MOVE,
                                                 [values[c] for c in _MOVE_COLUMNS])
    return ApplicationMove._init_from_db(**values)


def _update_sql(application: Application, changes: dict[str, Any], scope: Scope
                ) -> tuple[str, list[Any]]:
    """The conditional update of a PostgreSQL move: column names come from this module's code,
    never from input; values are bound."""
    names = list(changes)
    sets = ", ".join(f"{n} = ${i + 1}" for i, n in enumerate(names))
    k = len(names)
    sql = (f"UPDATE applications SET {sets} WHERE tenant_id = ${k + 1} AND id = ${k + 2} "  # noqa: S608
           f"AND version = ${k + 3}")
    return sql, [*changes.values(), scope.tenant_id, application.id, application.version]


_MOVE_TYPES = {"id": "uuid", "tenant_id": "uuid", "application_id": "uuid", "job_id": "uuid",
               "from_stage_id": "uuid", "to_stage_id": "uuid", "actor_id": "uuid",
               "occurred_at": "timestamptz", "recorded_at": "timestamptz", "seq": "integer"}


async def _save_and_append(scope: Scope, application: Application, changes: dict[str, Any],
                           **move: Any) -> ApplicationMove:
    """_save, then _append: on PostgreSQL one statement (the update as a CTE feeding the
    insert, so a lost version check inserts nothing), one round trip less per move."""
    if db.dialect() != "postgres":
        await _save(scope, application, **changes)
        return await _append(scope, application, **move)
    changes = {**changes, "updated_at": clock.now(), "version": application.version + 1}
    values = _move_values(scope, application, seq=application.version + 1, **move)
    update, params = _update_sql(application, changes, scope)
    base = len(params)
    picked = ", ".join(f"${base + i + 1}::{_MOVE_TYPES.get(c, 'text')}"
                       for i, c in enumerate(_MOVE_COLUMNS))
    done, _ = await Application._meta.db.execute_query(
        f"WITH saved AS ({update} RETURNING id) INSERT INTO application_moves "  # noqa: S608
        f"({', '.join(_MOVE_COLUMNS)}) SELECT {picked} FROM saved RETURNING id",
        [*params, *(values[c] for c in _MOVE_COLUMNS)])
    if not done:
        raise Conflict("The application changed meanwhile; reload and try again.",
                       field="applicationId")
    for name, value in changes.items():
        setattr(application, name, value)
    return ApplicationMove._init_from_db(**values)


async def _save(scope: Scope, application: Application, **changes: Any) -> None:
    """Write the changes if the version is still the one read; bumps it."""
    changes["updated_at"] = clock.now()
    changes["version"] = application.version + 1
    if db.dialect() == "postgres":
        done, _ = await Application._meta.db.execute_query(
            *_update_sql(application, changes, scope))
    else:
        done = await Application.filter(tenant_id=scope.tenant_id, id=application.id,
                                        version=application.version).update(**changes)
    if not done:
        raise Conflict("The application changed meanwhile; reload and try again.",
                       field="applicationId")
    for name, value in changes.items():
        setattr(application, name, value)


def _check_version(application: Application, expected: int | None) -> None:
    if expected is not None and expected != application.version:
        raise Conflict(f"The application is at version {application.version}, not {expected}.",
                       field="expectedVersion")


async def _enter(scope: Scope, application: Application, stage: JobStage, when: datetime, *,
                 stages: list[JobStage] | None = None) -> dict[str, Any]:
    """The cache changes for entering `stage` at `when` (furthest reached only ever grows)."""
    stages = stages if stages is not None else await live_stages(scope, stage.job_id)
    return {"stage_id": stage.id, "stage_entered_at": when,
            "furthest_position": max(application.furthest_position, stage.position),
            "furthest_rank": max(application.furthest_rank, rules.rank_of(stage, stages))}


# --- creating ------------------------------------------------------------------------------------

async def create_application(scope: Scope, *, prospect_id: UUID, job_id: UUID,
                             stage_id: UUID | None = None, source: str | None = None,
                             recruiter_id: UUID | None = None,
                             occurred_at: datetime | None = None,
                             external_id: str | None = None, via: str = "app") -> Application:
    """Puts a prospect in process for a job, in its first stage or the given one. One
    application per prospect and job; a prospect may be in process for several jobs. The
    recruiter (default: the job's, else the caller) claims the relationship."""
    scope.require("pipeline:write")
    if source is not None:
        source = rules.check_text(source, field="source", max_length=100, required=False)
    async with db.tenant_tx(scope):
        job = await get_job(scope, job_id)
        _require_decide(scope, job)
        if job.status == "closed":
            raise NotActive("The job is closed.", field="jobId")
        prospect = await prospects.get_prospect(scope, prospect_id)
        stages = await live_stages(scope, job.id)
        stage = stages[0] if stage_id is None else await _target_stage(scope, job.id, stage_id)
        if recruiter_id is not None and not await tenancy.users_by_ids(scope, [recruiter_id]):
            raise NotFound("No such member.", field="recruiterId")
        if await Application.exists(tenant_id=scope.tenant_id, job_id=job.id,
                                    prospect_id=prospect.id):
            raise DomainError("This prospect is in process for this job already.",
                              field="prospectId", code="DUPLICATE")
        now = clock.now()
        when = occurred_at or now
        application = Application(
            tenant_id=scope.tenant_id, job_id=job.id, prospect_id=prospect.id,
            stage_id=stage.id, stage_entered_at=when, status="active",
            source=source if source is not None else prospect.source,
            recruiter_id=recruiter_id or job.recruiter_id or scope.user_id,
            external_id=external_id, created_at=when, updated_at=now,
            furthest_position=stage.position, furthest_rank=rules.rank_of(stage, stages))
        try:
            async with db.tenant_tx(scope):  # a savepoint: a concurrent create may win
                await application.save()
        except IntegrityError as exc:
            raise DomainError("This prospect is in process for this job already.",
                              field="prospectId", code="DUPLICATE") from exc
        await _append(scope, application, kind="move", to_stage=stage, from_stage_id=None,
                      when=when, source=via)
        if application.recruiter_id is not None:
            await prospects.claim_engagement(scope, prospect_id=prospect.id,
                                             owner_id=application.recruiter_id,
                                             reason=f"in process for {job.title}")
        await publish(events.APPLICATION_CREATED, {
            "applicationId": str(application.id), "jobId": str(job.id),
            "stageId": str(stage.id), "activity": _activity(
                "application_created", application, job, when, toStage=stage.name,
                source=application.source)}, scope=scope)
        return application


# --- moving --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MoveResult:
    application: Application
    move: ApplicationMove
    current: bool  # False: an older (out-of-order) move, recorded in the history only
    stage: JobStage  # the stage moved into


async def record_move(scope: Scope, application: Application, job: Job, stage: JobStage, *,
                      when: datetime, source: str, external_id: str | None = None,
                      stages: list[JobStage] | None = None) -> MoveResult:
    """Append a move of a locked application; it becomes current unless it is older than the
    current stage's entry or the application is closed (then history only). `stages`: the
    job's live stages when the caller has them (saves a query on the hot path)."""
    stages = stages if stages is not None else await live_stages(scope, job.id)
    previous = application.stage_id
    current = application.status == "active" and rules.changes_current(
        when, application.stage_entered_at)
    if current:
        changes = await _enter(scope, application, stage, when, stages=stages)
    else:
        changes = {"furthest_rank": max(application.furthest_rank, rules.rank_of(stage, stages)),
                   "furthest_position": max(application.furthest_position, stage.position)}
    move = await _save_and_append(scope, application, changes, kind="move", to_stage=stage,
                                  from_stage_id=previous if current else None, when=when,
                                  source=source, external_id=external_id)
    from_name = None
    if current:
        from_stage = next((s for s in stages if s.id == previous), None) or \
            await JobStage.get_or_none(tenant_id=scope.tenant_id, id=previous)
        from_name = from_stage.name if from_stage else None
    await publish(events.APPLICATION_MOVED, {
        "applicationId": str(application.id), "jobId": str(job.id),
        "fromStageId": str(previous), "toStageId": str(stage.id), "current": current,
        "activity": _activity("stage_changed", application, job, when, fromStage=from_name,
                              toStage=stage.name, via=source)}, scope=scope)
    return MoveResult(application, move, current, stage)


async def move(scope: Scope, *, application_id: UUID, stage_id: UUID,
               expected_version: int | None = None) -> MoveResult:
    """Forward, back or skipping: any live stage of the same job. Three statements on
    PostgreSQL: the locked application with its job and stages, the update with the history
    row, the event."""
    scope.require("pipeline:write")
    async with db.tenant_tx(scope) as conn:
        application, job, stages = await locked_with_job(scope, conn, application_id)
        _require_decide(scope, job)
        _check_version(application, expected_version)
        if application.status != "active":
            raise NotActive("The application is closed; reopen it first.",
                            field="applicationId")
        stage = next((s for s in stages if s.id == stage_id), None)
        if stage is None:  # unknown, removed, or another job's: say which
            stage = await _target_stage(scope, job.id, stage_id)
        if stage.id == application.stage_id:
            raise DomainError("The application is in this stage already.", field="stageId",
                              code="INVALID")
        return await record_move(scope, application, job, stage, when=clock.now(),
                                 source="app", stages=stages)


async def move_application(scope: Scope, *, application_id: UUID, stage_id: UUID,
                           expected_version: int | None = None) -> Application:
    result = await move(scope, application_id=application_id, stage_id=stage_id,
                        expected_version=expected_version)
    return result.application


# --- closing and reopening --------------------------------------------------------------------------

async def _release_if_done(scope: Scope, application: Application) -> None:
    """The relationship stays owned while the prospect is in another active process."""
    if application.recruiter_id is None:
        return
    if await Application.filter(tenant_id=scope.tenant_id, prospect_id=application.prospect_id,
                                status="active").exists():
        return
    await prospects.release_engagement(scope, prospect_id=application.prospect_id,
                                       owner_id=application.recruiter_id)


async def close_application(scope: Scope, *, application_id: UUID, outcome: str,
                            reason: str | None = None, note: str | None = None,
                            expected_version: int | None = None,
                            occurred_at: datetime | None = None, source: str = "app",
                            external_id: str | None = None) -> Application:
    """Hired (the application first enters the job's hired stage if it has one), rejected,
    withdrew or offer declined, the last three with one of the tenant's reasons."""
    scope.require("pipeline:write")
    async with db.tenant_tx(scope):
        application = await get_application(scope, application_id, lock=True)
        job = await get_job(scope, application.job_id)
        _require_decide(scope, job)
        _check_version(application, expected_version)
        reasons = await closing_reasons_of(scope, outcome) if outcome in rules.OUTCOMES else {}
        key, text = rules.check_close(outcome, reason, note, reasons)
        if application.status != "active":
            raise NotActive("The application is closed already.", field="applicationId")
        when = occurred_at or clock.now()
        stages = await live_stages(scope, job.id)
        stage = next((s for s in stages if s.id == application.stage_id), None)
        if stage is None:  # its stage was removed meanwhile (only possible through ATS)
            stage = await JobStage.get(tenant_id=scope.tenant_id, id=application.stage_id)
        if outcome == "hired":
            hired = next((s for s in stages if s.kind == "hired"), None)
            if hired is not None and hired.id != application.stage_id:
                await record_move(scope, application, job, hired, when=when, source=source)
                stage = hired
        await _save(scope, application, status=rules.STATUS_OF_OUTCOME[outcome],
                    outcome=outcome, outcome_reason=key, outcome_note=text, closed_at=when)
        await _append(scope, application, kind="close", to_stage=stage,
                      from_stage_id=stage.id, when=when, source=source,
                      external_id=external_id, outcome=outcome, reason=key)
        await _release_if_done(scope, application)
        await publish(events.APPLICATION_CLOSED, {
            "applicationId": str(application.id), "jobId": str(job.id), "outcome": outcome,
            "reason": key, "activity": _activity("application_closed", application, job, when,
                                                 outcome=outcome, reason=key, note=text,
                                                 stage=stage.name)}, scope=scope)
        return application


async def reopen_application(scope: Scope, *, application_id: UUID,
                             stage_id: UUID | None = None, confirm_hired: bool = False,
                             expected_version: int | None = None) -> Application:
    """Back to active, in the given stage or the one it closed in (its job's first if that
    one is gone). A hire is reopened only with confirm_hired: it undoes a hire."""
    scope.require("pipeline:write")
    async with db.tenant_tx(scope):
        application = await get_application(scope, application_id, lock=True)
        job = await get_job(scope, application.job_id)
        _require_decide(scope, job)
        _check_version(application, expected_version)
        if application.status == "active":
            raise NotActive("The application is active already.", field="applicationId")
        if application.status == "hired" and not confirm_hired:
            raise ConfirmationRequired("This undoes a hire: pass confirmHired to reopen it.",
                                       field="confirmHired")
        if job.status == "closed":
            raise NotActive("The job is closed.", field="applicationId")
        stages = await live_stages(scope, job.id)
        if stage_id is not None:
            stage = await _target_stage(scope, job.id, stage_id)
        else:
            stage = next((s for s in stages if s.id == application.stage_id), stages[0])
        when = clock.now()
        previous = application.outcome
        await _save(scope, application, status="active", outcome=None, outcome_reason=None,
                    outcome_note=None, closed_at=None,
                    **await _enter(scope, application, stage, when, stages=stages))
        await _append(scope, application, kind="reopen", to_stage=stage, from_stage_id=None,
                      when=when, source="app")
        if application.recruiter_id is not None:
            await prospects.claim_engagement(scope, prospect_id=application.prospect_id,
                                             owner_id=application.recruiter_id,
                                             reason=f"in process for {job.title}")
        await publish(events.APPLICATION_REOPENED, {
            "applicationId": str(application.id), "jobId": str(job.id),
            "previousOutcome": previous, "activity": _activity(
                "application_reopened", application, job, when, toStage=stage.name,
                previousOutcome=previous)}, scope=scope)
        return application


# --- closing reasons ---------------------------------------------------------------------------

async def ensure_closing_reasons(scope: Scope) -> None:
    """Seed the default reasons on first use (idempotent; a concurrent seed is harmless)."""
    async with db.tenant_tx(scope):
        if await ClosingReason.exists(tenant_id=scope.tenant_id):
            return
        now = clock.now()
        try:
            async with db.tenant_tx(scope):
                await ClosingReason.bulk_create([
                    ClosingReason(tenant_id=scope.tenant_id, outcome=o, key=k, label=label,
                                  requires_note=note, created_at=now)
                    for o, k, label, note in rules.DEFAULT_CLOSING_REASONS])
        except IntegrityError:
            pass


async def list_closing_reasons(scope: Scope, *, outcome: str | None = None,
                               include_archived: bool = False) -> list[ClosingReason]:
    scope.require("pipeline:read")
    async with db.tenant_tx(scope):
        await ensure_closing_reasons(scope)
        qs = ClosingReason.filter(tenant_id=scope.tenant_id)
        if outcome is not None:
            qs = qs.filter(outcome=outcome)
        if not include_archived:
            qs = qs.filter(archived_at=None)
        # "Other" (needs a note) last, the rest by label.
        return list(await qs.order_by("outcome", "requires_note", "label"))


async def closing_reasons_by_ids(scope: Scope, ids: list[UUID]) -> dict[UUID, ClosingReason]:
    if not scope.can("pipeline:read"):
        return {}
    async with db.tenant_tx(scope):
        return {r.id: r for r in await ClosingReason.filter(tenant_id=scope.tenant_id,
                                                            id__in=ids)}


async def create_closing_reason(scope: Scope, *, outcome: str, key: str, label: str,
                                requires_note: bool = False) -> ClosingReason:
    require_manage(scope)
    if outcome not in rules.REASONED_OUTCOMES:
        raise DomainError("Reasons are for rejected, withdrew and offer_declined.",
                          field="outcome", code="INVALID")
    rules.check_reason_key(key)
    label = rules.check_text(label, field="label", max_length=200)
    async with db.tenant_tx(scope):
        await ensure_closing_reasons(scope)
        if await ClosingReason.exists(tenant_id=scope.tenant_id, outcome=outcome, key=key):
            raise DomainError(f"'{key}' exists already for {outcome}.", field="key",
                              code="DUPLICATE")
        return await ClosingReason.create(tenant_id=scope.tenant_id, outcome=outcome, key=key,
                                          label=label, requires_note=requires_note,
                                          created_at=clock.now())


async def update_closing_reason(scope: Scope, *, reason_id: UUID, label: str | None = None,
                                requires_note: bool | None = None,
                                archived: bool | None = None) -> ClosingReason:
    """Keys never change (closed applications keep them); archived reasons are no longer
    offered but still describe past outcomes."""
    require_manage(scope)
    async with db.tenant_tx(scope):
        reason = await ClosingReason.get_or_none(tenant_id=scope.tenant_id, id=reason_id)
        if reason is None:
            raise NotFound("No such closing reason.", field="reasonId")
        if label is not None:
            reason.label = rules.check_text(label, field="label", max_length=200)
        if requires_note is not None:
            reason.requires_note = requires_note
        if archived is not None:
            reason.archived_at = (reason.archived_at or clock.now()) if archived else None
        await reason.save()
        return reason
