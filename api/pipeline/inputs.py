"""Inputs of pipeline queries and mutations."""

from __future__ import annotations

from datetime import date

import strawberry

from api.pipeline.types import ApplicationOutcome, JobStatus, StageKind


@strawberry.input(description="Which jobs to list; every field narrows.")
class JobFilterInput:
    statuses: list[JobStatus] | None = None
    departments: list[str] | None = None
    hiring_manager_id: strawberry.ID | None = None
    recruiter_id: strawberry.ID | None = None
    text: str | None = strawberry.field(default=None, description="A part of the title.")


@strawberry.input(description="Fields of a job; on update, omitted fields stay as they are.")
class JobFieldsInput:
    title: str | None = None
    department: str | None = None
    location: str | None = None
    hiring_manager_id: strawberry.ID | None = None
    recruiter_id: strawberry.ID | None = None
    coordinator_id: strawberry.ID | None = None
    target_hires: int | None = None
    target_date: date | None = None
    external_id: str | None = None


@strawberry.input
class CreateJobInput:
    job: JobFieldsInput
    template_id: strawberry.ID | None = strawberry.field(
        default=None, description="The stage template to copy; default: the tenant's default.")
    status: JobStatus = JobStatus.OPEN


@strawberry.input
class UpdateJobInput:
    job_id: strawberry.ID
    job: JobFieldsInput


@strawberry.input
class SetJobStatusInput:
    job_id: strawberry.ID
    status: JobStatus


@strawberry.input
class StageInput:
    name: str
    kind: StageKind


@strawberry.input(description="Create a template (no templateId) or replace one's name and "
                              "stages; jobs made from it keep their own copies.")
class SaveStageTemplateInput:
    template_id: strawberry.ID | None = None
    name: str
    stages: list[StageInput]
    is_default: bool = False


@strawberry.input
class AddJobStageInput:
    job_id: strawberry.ID
    name: str
    kind: StageKind
    position: int | None = strawberry.field(
        default=None, description="1-based; later stages shift down. Default: last.")


@strawberry.input
class RenameJobStageInput:
    stage_id: strawberry.ID
    name: str
    kind: StageKind | None = None


@strawberry.input
class ReorderJobStagesInput:
    job_id: strawberry.ID
    stage_ids: list[strawberry.ID] = strawberry.field(
        description="Every stage of the job, each once, in the new order.")


@strawberry.input(description="Remove a stage; refused while active applications are in it.")
class RemoveJobStageInput:
    stage_id: strawberry.ID


@strawberry.input
class CreateApplicationInput:
    prospect_id: strawberry.ID
    job_id: strawberry.ID
    stage_id: strawberry.ID | None = strawberry.field(
        default=None, description="A stage of the job; default: its first.")
    source: str | None = strawberry.field(default=None,
                                          description="Default: the prospect's source.")
    recruiter_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the job's recruiter, else you.")


@strawberry.input(description="Forward, back or skipping: any stage of the same job.")
class MoveApplicationInput:
    application_id: strawberry.ID
    stage_id: strawberry.ID
    expected_version: int | None = strawberry.field(
        default=None, description="Refuse (CONFLICT) if the application changed since.")


@strawberry.input(description="REJECTED, WITHDREW and OFFER_DECLINED need a reason key from "
                              "closingReasons; a reason that requiresNote needs a note.")
class CloseApplicationInput:
    application_id: strawberry.ID
    outcome: ApplicationOutcome
    reason: str | None = None
    note: str | None = None
    expected_version: int | None = None


@strawberry.input
class ReopenApplicationInput:
    application_id: strawberry.ID
    stage_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the stage it closed in.")
    confirm_hired: bool = strawberry.field(
        default=False, description="Required to reopen a hired application (undoes a hire).")
    expected_version: int | None = None


@strawberry.input
class CreateClosingReasonInput:
    outcome: ApplicationOutcome
    key: str
    label: str
    requires_note: bool = False


@strawberry.input
class UpdateClosingReasonInput:
    reason_id: strawberry.ID
    label: str | None = None
    requires_note: bool | None = None
    archived: bool | None = None


@strawberry.input(description="Ask interviewers for scorecards at the application's current "
                              "stage.")
class RequestScorecardsInput:
    application_id: strawberry.ID
    interviewer_ids: list[strawberry.ID]


@strawberry.input(description="Give scorecardId (an awaited scorecard), or applicationId for "
                              "your own scorecard at its current stage.")
class SubmitScorecardInput:
    scorecard_id: strawberry.ID | None = None
    application_id: strawberry.ID | None = None
    score: int = strawberry.field(description="1 strong no, 2 no, 3 yes, 4 strong yes.")
    notes: str = ""
