"""ATS sync for partners: API-key mutations scoped `ats:write`, keyed by the ATS's external ids.
Fields are nullable on purpose: a missing one is a typed user error naming it, not a GraphQL
validation failure, so a partner's bad payload reads like any other."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from api.context import scope_of
from api.errors import UserError, run_mutation
from api.permissions import requires
from api.pipeline.mutations import ApplicationPayload, JobPayload
from api.pipeline.types import Application, Job, JobStatus, StageKind
from domain.pipeline import ats


@strawberry.input
class AtsStageInput:
    external_id: str | None = None
    name: str | None = None
    kind: StageKind | None = None


@strawberry.input(description="A job by its ATS id: created, or updated to match. Stages by "
                              "their ATS ids, in order; stages not named stay after them.")
class UpsertAtsJobInput:
    external_id: str | None = None
    title: str | None = None
    department: str | None = None
    location: str | None = None
    status: JobStatus | None = None
    stages: list[AtsStageInput] | None = None


@strawberry.input(description="A candidate: the prospect matched by email or profile URL "
                              "(created or merged), and their application for the job.")
class UpsertAtsCandidateInput:
    job_external_id: str | None = None
    application_external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    emails: list[str] | None = None
    profile_urls: list[str] | None = None
    title: str | None = None
    company: str | None = None
    location: str | None = None
    source: str | None = None
    stage_external_id: str | None = strawberry.field(
        default=None, description="Where a new application starts; default: the first stage.")
    applied_at: datetime | None = None


@strawberry.input(description="A stage move in the ATS. Sending the same moveExternalId again "
                              "changes nothing; a move older than the latest known one goes "
                              "into the history at its time without changing the stage.")
class RecordAtsStageMoveInput:
    application_external_id: str | None = None
    stage_external_id: str | None = None
    occurred_at: datetime | None = None
    move_external_id: str | None = None


@strawberry.type
class RecordAtsStageMovePayload:
    application: Application | None = None
    current: bool | None = strawberry.field(
        default=None, description="Whether the move is the application's current stage "
                                  "(false: an older move, recorded in the history only).")
    errors: list[UserError]


@strawberry.type
class AtsMutation:
    @strawberry.mutation(extensions=[requires("ats:write")])
    async def upsert_ats_job(self, info: strawberry.Info,
                             input: UpsertAtsJobInput) -> JobPayload:
        async def act() -> dict[str, Any]:
            job = await ats.upsert_ats_job(scope_of(info), ats.AtsJob(
                external_id=input.external_id, title=input.title, department=input.department,
                location=input.location, status=input.status.value if input.status else None,
                stages=[ats.AtsStage(s.external_id, s.name, s.kind.value if s.kind else None)
                        for s in input.stages or []]))
            return {"job": Job.of(job)}
        return await run_mutation(JobPayload, act)

    @strawberry.mutation(extensions=[requires("ats:write")])
    async def upsert_ats_candidate(self, info: strawberry.Info,
                                   input: UpsertAtsCandidateInput) -> ApplicationPayload:
        async def act() -> dict[str, Any]:
            application = await ats.upsert_ats_candidate(scope_of(info), ats.AtsCandidate(
                job_external_id=input.job_external_id,
                application_external_id=input.application_external_id,
                first_name=input.first_name, last_name=input.last_name,
                emails=list(input.emails or []), profile_urls=list(input.profile_urls or []),
                title=input.title, company=input.company, location=input.location,
                source=input.source, stage_external_id=input.stage_external_id,
                applied_at=input.applied_at))
            return {"application": Application.of(application)}
        return await run_mutation(ApplicationPayload, act)

    @strawberry.mutation(extensions=[requires("ats:write")])
    async def record_ats_stage_move(self, info: strawberry.Info,
                                    input: RecordAtsStageMoveInput) -> RecordAtsStageMovePayload:
        async def act() -> dict[str, Any]:
            result = await ats.record_ats_stage_move(
                scope_of(info), application_external_id=input.application_external_id,
                stage_external_id=input.stage_external_id, occurred_at=input.occurred_at,
                move_external_id=input.move_external_id)
            return {"application": Application.of(result.application),
                    "current": result.current}
        return await run_mutation(RecordAtsStageMovePayload, act)
