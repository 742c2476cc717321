"""Pipeline mutations: one input, a payload with the changed object and user errors."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import strawberry

from api.context import context_of, scope_of
from api.errors import UserError, run_mutation
from api.permissions import requires
from api.pipeline import inputs
from api.pipeline.types import Application, ClosingReason, Job, JobStage, Scorecard, StageTemplate
from api.relay import require_id
from domain.pipeline import applications, jobs, scorecards, service


@strawberry.type
class JobPayload:
    job: Job | None = None
    errors: list[UserError]


@strawberry.type
class JobStagePayload:
    stage: JobStage | None = None
    job: Job | None = None
    errors: list[UserError]


@strawberry.type
class StageTemplatePayload:
    template: StageTemplate | None = None
    errors: list[UserError]


@strawberry.type
class ApplicationPayload:
    application: Application | None = None
    errors: list[UserError]


@strawberry.type
class ClosingReasonPayload:
    reason: ClosingReason | None = None
    errors: list[UserError]


@strawberry.type
class RequestScorecardsPayload:
    scorecards: list[Scorecard] | None = None
    errors: list[UserError]


@strawberry.type
class ScorecardPayload:
    scorecard: Scorecard | None = None
    errors: list[UserError]


def _optional(global_id: str | None, type_name: str, field: str) -> UUID | None:
    return None if global_id is None else require_id(global_id, type_name, field)


def _job_data(fields: inputs.JobFieldsInput) -> jobs.JobData:
    return jobs.JobData(
        title=fields.title, department=fields.department, location=fields.location,
        hiring_manager_id=_optional(fields.hiring_manager_id, "User", "hiringManagerId"),
        recruiter_id=_optional(fields.recruiter_id, "User", "recruiterId"),
        coordinator_id=_optional(fields.coordinator_id, "User", "coordinatorId"),
        target_hires=fields.target_hires, target_date=fields.target_date,
        external_id=fields.external_id)


def _in_job(action: Any) -> Any:
    """Errors about the job's fields are under input.job."""
    async def wrapped() -> dict[str, Any]:
        from domain.core.errors import DomainError

        try:
            return await action()
        except DomainError as exc:
            if exc.field and exc.field[0] not in ("jobId", "templateId", "status"):
                exc.field = ["job", *exc.field]
            raise
    return wrapped


@strawberry.type
class PipelineMutation:
    @strawberry.mutation(description="A job with stages copied from a template.",
                         extensions=[requires("pipeline:write")])
    async def create_job(self, info: strawberry.Info, input: inputs.CreateJobInput) -> JobPayload:
        async def act() -> dict[str, Any]:
            job = await jobs.create_job(
                scope_of(info), data=_job_data(input.job), status=input.status.value,
                template_id=_optional(input.template_id, "StageTemplate", "templateId"))
            return {"job": Job.of(job)}
        return await run_mutation(JobPayload, _in_job(act))

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def update_job(self, info: strawberry.Info, input: inputs.UpdateJobInput) -> JobPayload:
        async def act() -> dict[str, Any]:
            job = await jobs.update_job(scope_of(info), job_id=require_id(input.job_id, "Job", "jobId"),
                                        data=_job_data(input.job))
            return {"job": Job.of(job)}
        return await run_mutation(JobPayload, _in_job(act))

    @strawberry.mutation(description="Open, put on hold (SLA clocks pause) or close a job.",
                         extensions=[requires("pipeline:write")])
    async def set_job_status(self, info: strawberry.Info,
                             input: inputs.SetJobStatusInput) -> JobPayload:
        async def act() -> dict[str, Any]:
            job = await jobs.set_job_status(scope_of(info),
                                            job_id=require_id(input.job_id, "Job", "jobId"),
                                            status=input.status.value)
            return {"job": Job.of(job)}
        return await run_mutation(JobPayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def save_stage_template(self, info: strawberry.Info,
                                  input: inputs.SaveStageTemplateInput) -> StageTemplatePayload:
        async def act() -> dict[str, Any]:
            template = await jobs.save_stage_template(
                scope_of(info), name=input.name, is_default=input.is_default,
                stages=[{"name": s.name, "kind": s.kind.value} for s in input.stages],
                template_id=_optional(input.template_id, "StageTemplate", "templateId"))
            return {"template": StageTemplate.of(template)}
        return await run_mutation(StageTemplatePayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def add_job_stage(self, info: strawberry.Info,
                            input: inputs.AddJobStageInput) -> JobStagePayload:
        async def act() -> dict[str, Any]:
            job_id = require_id(input.job_id, "Job", "jobId")
            stage = await jobs.add_job_stage(scope_of(info), job_id=job_id, name=input.name,
                                             kind=input.kind.value, position=input.position)
            return {"stage": JobStage.of(stage), "job": await _job(info, job_id)}
        return await run_mutation(JobStagePayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def rename_job_stage(self, info: strawberry.Info,
                               input: inputs.RenameJobStageInput) -> JobStagePayload:
        async def act() -> dict[str, Any]:
            stage = await jobs.rename_job_stage(
                scope_of(info), stage_id=require_id(input.stage_id, "JobStage", "stageId"),
                name=input.name, kind=input.kind.value if input.kind else None)
            return {"stage": JobStage.of(stage), "job": await _job(info, stage.job_id)}
        return await run_mutation(JobStagePayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def reorder_job_stages(self, info: strawberry.Info,
                                 input: inputs.ReorderJobStagesInput) -> JobPayload:
        async def act() -> dict[str, Any]:
            job_id = require_id(input.job_id, "Job", "jobId")
            ids = [require_id(s, "JobStage", ["stageIds", str(i)])
                   for i, s in enumerate(input.stage_ids)]
            await jobs.reorder_job_stages(scope_of(info), job_id=job_id, stage_ids=ids)
            return {"job": await _job(info, job_id)}
        return await run_mutation(JobPayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def remove_job_stage(self, info: strawberry.Info,
                               input: inputs.RemoveJobStageInput) -> JobStagePayload:
        async def act() -> dict[str, Any]:
            stage = await jobs.remove_job_stage(
                scope_of(info), stage_id=require_id(input.stage_id, "JobStage", "stageId"))
            return {"stage": JobStage.of(stage), "job": await _job(info, stage.job_id)}
        return await run_mutation(JobStagePayload, act)

    @strawberry.mutation(description="Put a prospect in process for a job.",
                         extensions=[requires("pipeline:write")])
    async def create_application(self, info: strawberry.Info,
                                 input: inputs.CreateApplicationInput) -> ApplicationPayload:
        async def act() -> dict[str, Any]:
            application = await applications.create_application(
                scope_of(info), prospect_id=require_id(input.prospect_id, "Prospect", "prospectId"),
                job_id=require_id(input.job_id, "Job", "jobId"),
                stage_id=_optional(input.stage_id, "JobStage", "stageId"), source=input.source,
                recruiter_id=_optional(input.recruiter_id, "User", "recruiterId"))
            return {"application": Application.of(application)}
        return await run_mutation(ApplicationPayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def move_application(self, info: strawberry.Info,
                               input: inputs.MoveApplicationInput) -> ApplicationPayload:
        async def act() -> dict[str, Any]:
            result = await applications.move(
                scope_of(info),
                application_id=require_id(input.application_id, "Application", "applicationId"),
                stage_id=require_id(input.stage_id, "JobStage", "stageId"),
                expected_version=input.expected_version)
            # The stage is at hand: the answer's `stage` needs no query of its own.
            context_of(info).loader(service.stages_by_ids).prime(result.stage.id, result.stage)
            return {"application": Application.of(result.application)}
        return await run_mutation(ApplicationPayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def close_application(self, info: strawberry.Info,
                                input: inputs.CloseApplicationInput) -> ApplicationPayload:
        async def act() -> dict[str, Any]:
            application = await applications.close_application(
                scope_of(info),
                application_id=require_id(input.application_id, "Application", "applicationId"),
                outcome=input.outcome.value, reason=input.reason, note=input.note,
                expected_version=input.expected_version)
            return {"application": Application.of(application)}
        return await run_mutation(ApplicationPayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def reopen_application(self, info: strawberry.Info,
                                 input: inputs.ReopenApplicationInput) -> ApplicationPayload:
        async def act() -> dict[str, Any]:
            application = await applications.reopen_application(
                scope_of(info),
                application_id=require_id(input.application_id, "Application", "applicationId"),
                stage_id=_optional(input.stage_id, "JobStage", "stageId"),
                confirm_hired=input.confirm_hired, expected_version=input.expected_version)
            return {"application": Application.of(application)}
        return await run_mutation(ApplicationPayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def create_closing_reason(self, info: strawberry.Info,
                                    input: inputs.CreateClosingReasonInput
                                    ) -> ClosingReasonPayload:
        async def act() -> dict[str, Any]:
            reason = await applications.create_closing_reason(
                scope_of(info), outcome=input.outcome.value, key=input.key, label=input.label,
                requires_note=input.requires_note)
            return {"reason": ClosingReason.of(reason)}
        return await run_mutation(ClosingReasonPayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def update_closing_reason(self, info: strawberry.Info,
                                    input: inputs.UpdateClosingReasonInput
                                    ) -> ClosingReasonPayload:
        async def act() -> dict[str, Any]:
            reason = await applications.update_closing_reason(
                scope_of(info), reason_id=require_id(input.reason_id, "ClosingReason", "reasonId"),
                label=input.label, requires_note=input.requires_note, archived=input.archived)
            return {"reason": ClosingReason.of(reason)}
        return await run_mutation(ClosingReasonPayload, act)

    @strawberry.mutation(extensions=[requires("pipeline:write")])
    async def request_scorecards(self, info: strawberry.Info,
                                 input: inputs.RequestScorecardsInput
                                 ) -> RequestScorecardsPayload:
        async def act() -> dict[str, Any]:
            rows = await scorecards.request_scorecards(
                scope_of(info),
                application_id=require_id(input.application_id, "Application", "applicationId"),
                interviewer_ids=[require_id(u, "User", ["interviewerIds", str(i)])
                                 for i, u in enumerate(input.interviewer_ids)])
            return {"scorecards": [Scorecard.of(r) for r in rows]}
        return await run_mutation(RequestScorecardsPayload, act)

    @strawberry.mutation(description="Submit (or resubmit) a scorecard: the interviewer, or an "
                                      "admin.", extensions=[requires("pipeline:read")])
    async def submit_scorecard(self, info: strawberry.Info,
                               input: inputs.SubmitScorecardInput) -> ScorecardPayload:
        async def act() -> dict[str, Any]:
            card = await scorecards.submit_scorecard(
                scope_of(info), score=input.score, notes=input.notes,
                scorecard_id=_optional(input.scorecard_id, "Scorecard", "scorecardId"),
                application_id=_optional(input.application_id, "Application", "applicationId"))
            return {"scorecard": Scorecard.of(card)}
        return await run_mutation(ScorecardPayload, act)


async def _job(info: strawberry.Info, job_id: UUID) -> Job | None:
    row = (await service.jobs_by_ids(scope_of(info), [job_id])).get(job_id)
    return Job.of(row) if row else None
