"""GraphQL types of the talent pipeline. Every relation loads through the request's dataloaders
(api.pipeline.loaders), so a page of jobs or applications costs a fixed number of queries."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import strawberry

from api.context import context_of
from api.prospects.types import Prospect
from api.relay import Connection, Node, connection, page_args, to_global_id
from api.row_fields import row_field
from api.tenancy.types import User, visible_user
from domain.core import clock
from domain.core.pagination import PageArgs
from domain.core.scope import Scope
from domain.pipeline import models, rules, service
from domain.prospects import service as prospects


@strawberry.enum(description="What a stage is for, whatever its name: analytics and SLAs rely "
                             "on it.")
class StageKind(enum.Enum):
    APPLICATION_REVIEW = "application_review"
    SCREEN = "screen"
    HM_REVIEW = "hm_review"
    INTERVIEW = "interview"
    OFFER = "offer"
    HIRED = "hired"


@strawberry.enum
class JobStatus(enum.Enum):
    OPEN = "open"
    ON_HOLD = strawberry.enum_value("on_hold", description="Paused: SLA clocks stop.")
    CLOSED = "closed"


@strawberry.enum
class ApplicationStatus(enum.Enum):
    ACTIVE = "active"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDREW = strawberry.enum_value("withdrew", description="Also after a declined offer.")


@strawberry.enum(description="How an application closed.")
class ApplicationOutcome(enum.Enum):
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDREW = "withdrew"
    OFFER_DECLINED = "offer_declined"


@strawberry.enum(description="What a history entry records.")
class ApplicationEventKind(enum.Enum):
    MOVE = strawberry.enum_value("move", description="Entered a stage.")
    CLOSE = strawberry.enum_value("close", description="Closed with an outcome.")
    REOPEN = strawberry.enum_value("reopen", description="Reopened into a stage.")


@strawberry.type(description="A stage in a template: copied into each new job.")
class TemplateStage:
    name: str
    kind: StageKind


@strawberry.type(description="A list of stages new jobs copy; the default one is used when a "
                             "job names none.")
class StageTemplate(Node):
    row: strawberry.Private[models.StageTemplate]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("StageTemplate", self.row.id)

    name: str = row_field("name")
    is_default: bool = row_field("is_default")

    @strawberry.field
    def stages(self) -> list[TemplateStage]:
        return [TemplateStage(name=s["name"], kind=StageKind(s["kind"]))
                for s in self.row.stages or []]

    @staticmethod
    def of(row: models.StageTemplate) -> StageTemplate:
        return StageTemplate(row=row)


@strawberry.type(description="Applications of a job by status.")
class JobCounts:
    active: int
    hired: int
    rejected: int
    withdrew: int
    total: int


class _Pages:
    """A batch function per page argument set: one loader per request and arguments, so the
    same page of many jobs' applications loads in one go."""

    def __init__(self, page: PageArgs, statuses: list[str]) -> None:
        self.page, self.statuses = page, statuses
        self.__module__ = __name__
        self.__qualname__ = f"_Pages[{page.first},{page.after},{','.join(statuses)}]"

    async def __call__(self, scope: Scope, job_ids: Sequence[UUID]) -> dict[UUID, Any]:
        return await service.application_pages(scope, job_ids, page=self.page,
                                               statuses=self.statuses)


@strawberry.type(description="A job (req): what is hired for, by whom, through which stages.")
class Job(Node):
    row: strawberry.Private[models.Job]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Job", self.row.id)

    title: str = row_field("title")
    department: str = row_field("department")
    location: str = row_field("location")

    @strawberry.field
    def status(self) -> JobStatus:
        return JobStatus(self.row.status)

    @strawberry.field
    async def hiring_manager(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.row.hiring_manager_id)

    @strawberry.field
    async def recruiter(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.row.recruiter_id)

    @strawberry.field
    async def coordinator(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.row.coordinator_id)

    target_hires: int = row_field("target_hires")
    target_date: date | None = row_field("target_date")
    external_id: str | None = row_field("external_id", "The ATS's id of this job (ATS sync).")
    created_at: datetime = row_field("created_at")
    updated_at: datetime = row_field("updated_at")
    opened_at: datetime | None = row_field("opened_at")
    closed_at: datetime | None = row_field("closed_at")
    on_hold_since: datetime | None = row_field(
        "on_hold_since", "Since when the job is on hold; null unless it is.")

    @strawberry.field(description="The job's stages in order (removed ones excluded).")
    async def stages(self, info: strawberry.Info) -> list[JobStage]:
        rows = await context_of(info).loader(service.stages_by_job).load(self.row.id)
        return [JobStage.of(s) for s in rows or []]

    @strawberry.field
    async def counts(self, info: strawberry.Info) -> JobCounts:
        found = await context_of(info).loader(service.counts_by_job).load(self.row.id)
        c = found or service.JobCounts()
        return JobCounts(active=c.active, hired=c.hired, rejected=c.rejected,
                         withdrew=c.withdrew, total=c.total)

    @strawberry.field(description="The job's applications in creation order.")
    async def applications(self, info: strawberry.Info, first: int | None = None,
                           after: str | None = None,
                           statuses: list[ApplicationStatus] | None = None
                           ) -> Connection[Application]:
        pages = _Pages(page_args(first, after, None, None), [s.value for s in statuses or []])
        page = await context_of(info).loader(pages).load(self.row.id)
        return connection(page, Application.of)

    @staticmethod
    def of(row: models.Job) -> Job:
        return Job(row=row)


@strawberry.type(description="One stage of a job.")
class JobStage(Node):
    row: strawberry.Private[models.JobStage]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("JobStage", self.row.id)

    name: str = row_field("name")

    @strawberry.field
    def kind(self) -> StageKind:
        return StageKind(self.row.kind)

    position: int = row_field("position", "1-based order within the job.")
    external_id: str | None = row_field("external_id")
    removed_at: datetime | None = row_field(
        "removed_at", "Set when the stage was removed; history still shows it.")

    @strawberry.field
    async def job(self, info: strawberry.Info) -> Job | None:
        row = await context_of(info).loader(service.jobs_by_ids).load(self.row.job_id)
        return Job.of(row) if row else None

    @strawberry.field(description="Active applications in this stage now.")
    async def active_count(self, info: strawberry.Info) -> int:
        found = await context_of(info).loader(service.counts_by_job).load(self.row.job_id)
        return found.by_stage.get(self.row.id, 0) if found else 0

    @staticmethod
    def of(row: models.JobStage) -> JobStage:
        return JobStage(row=row)


async def _stage(info: strawberry.Info, stage_id: UUID | None) -> JobStage | None:
    if stage_id is None:
        return None
    row = await context_of(info).loader(service.stages_by_ids).load(stage_id)
    return JobStage.of(row) if row else None


@strawberry.type(description="A stay in a stage (or a close or reopen), from the append-only "
                             "history: it ends when the next entry begins.")
class ApplicationHistoryEntry:
    entry: strawberry.Private[rules.HistoryEntry]

    @strawberry.field
    def kind(self) -> ApplicationEventKind:
        return ApplicationEventKind(self.entry.kind)

    @strawberry.field
    async def stage(self, info: strawberry.Info) -> JobStage | None:
        return await _stage(info, self.entry.stage_id)

    @strawberry.field(description="The stage it came from (moves recorded as current only).")
    async def from_stage(self, info: strawberry.Info) -> JobStage | None:
        return await _stage(info, self.entry.from_stage_id)

    @strawberry.field
    def entered_at(self) -> datetime:
        return self.entry.entered_at

    @strawberry.field(description="When the next entry began; null for the latest.")
    def exited_at(self) -> datetime | None:
        return self.entry.exited_at

    @strawberry.field(description="Seconds from enteredAt to exitedAt (or now).")
    def duration_seconds(self) -> int:
        return rules.seconds_in_stage(self.entry.entered_at, self.entry.exited_at or clock.now())

    @strawberry.field(description="The member who did it; null for a partner or the system.")
    async def actor(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.entry.actor_id)

    @strawberry.field(description="app, ats, import or demo.")
    def source(self) -> str:
        return self.entry.source

    @strawberry.field
    def outcome(self) -> ApplicationOutcome | None:
        return ApplicationOutcome(self.entry.outcome) if self.entry.outcome else None

    @strawberry.field
    def outcome_reason(self) -> str | None:
        return self.entry.outcome_reason


@strawberry.type(description="Scorecards of an application: submitted (all stages), awaited "
                             "(at its current stage), and the average submitted score.")
class ScorecardSummary:
    submitted: int
    awaiting: int
    average_score: float | None


@strawberry.type(description="An interviewer's scorecard: score 1 (strong no) to 4 (strong "
                             "yes); null score while awaited.")
class Scorecard(Node):
    row: strawberry.Private[models.Scorecard]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Scorecard", self.row.id)

    score: int | None = row_field("score")
    notes: str = row_field("notes")
    requested_at: datetime = row_field("requested_at")
    submitted_at: datetime | None = row_field("submitted_at")

    @strawberry.field
    def awaiting(self) -> bool:
        return self.row.submitted_at is None

    @strawberry.field
    async def interviewer(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.row.interviewer_id)

    @strawberry.field
    async def stage(self, info: strawberry.Info) -> JobStage | None:
        return await _stage(info, self.row.stage_id)

    @strawberry.field
    async def application(self, info: strawberry.Info) -> Application | None:
        row = await context_of(info).loader(service.applications_by_ids).load(
            self.row.application_id)
        return Application.of(row) if row else None

    @staticmethod
    def of(row: models.Scorecard) -> Scorecard:
        return Scorecard(row=row)


@strawberry.type(description="A prospect in process for a job.")
class Application(Node):
    row: strawberry.Private[models.Application]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Application", self.row.id)

    @strawberry.field
    async def prospect(self, info: strawberry.Info) -> Prospect | None:
        row = await context_of(info).loader(prospects.prospects_by_ids).load(
            self.row.prospect_id)
        return Prospect.of(row) if row else None

    @strawberry.field
    async def job(self, info: strawberry.Info) -> Job | None:
        row = await context_of(info).loader(service.jobs_by_ids).load(self.row.job_id)
        return Job.of(row) if row else None

    @strawberry.field(description="The current stage (where it closed, for a closed one).")
    async def stage(self, info: strawberry.Info) -> JobStage | None:
        return await _stage(info, self.row.stage_id)

    stage_entered_at: datetime = row_field("stage_entered_at")

    @strawberry.field(description="Seconds in the current stage: until now, or until it closed.")
    def time_in_stage(self) -> int:
        end = self.row.closed_at if self.row.status != "active" and self.row.closed_at \
            else clock.now()
        return rules.seconds_in_stage(self.row.stage_entered_at, end)

    @strawberry.field
    def status(self) -> ApplicationStatus:
        return ApplicationStatus(self.row.status)

    @strawberry.field
    def outcome(self) -> ApplicationOutcome | None:
        return ApplicationOutcome(self.row.outcome) if self.row.outcome else None

    outcome_reason: str | None = row_field("outcome_reason", "The closing reason's key (see closingReasons).")
    outcome_note: str | None = row_field("outcome_note")
    source: str = row_field("source")

    @strawberry.field
    async def recruiter(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.row.recruiter_id)

    external_id: str | None = row_field("external_id")
    created_at: datetime = row_field("created_at")
    updated_at: datetime = row_field("updated_at")
    closed_at: datetime | None = row_field("closed_at")

    @strawberry.field(description="Bumped by every change; pass it as expectedVersion to refuse "
                                  "a change made on stale data.")
    def version(self) -> int:
        return self.row.version

    @strawberry.field(description="Every stage entry, close and reopen, oldest first.")
    async def history(self, info: strawberry.Info) -> list[ApplicationHistoryEntry]:
        entries = await context_of(info).loader(service.history_by_application).load(
            self.row.id)
        return [ApplicationHistoryEntry(entry=e) for e in entries or []]

    @strawberry.field(description="Every scorecard, submitted and awaited, in request order.")
    async def scorecards(self, info: strawberry.Info) -> list[Scorecard]:
        rows = await context_of(info).loader(service.scorecards_by_application).load(
            self.row.id)
        return [Scorecard.of(r) for r in rows or []]

    @strawberry.field
    async def scorecard_summary(self, info: strawberry.Info) -> ScorecardSummary:
        found = await context_of(info).loader(service.scorecard_summaries).load(self.row.id)
        s = found or service.ScorecardSummary()
        return ScorecardSummary(submitted=s.submitted, awaiting=s.awaiting,
                                average_score=s.average_score)

    @staticmethod
    def of(row: models.Application) -> Application:
        return Application(row=row)


@strawberry.type(description="A tenant's reason for closing applications with an outcome.")
class ClosingReason(Node):
    row: strawberry.Private[models.ClosingReason]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("ClosingReason", self.row.id)

    @strawberry.field
    def outcome(self) -> ApplicationOutcome:
        return ApplicationOutcome(self.row.outcome)

    key: str = row_field("key", "What closeApplication(reason:) takes.")
    label: str = row_field("label")
    requires_note: bool = row_field("requires_note", "Closing with it needs a note (\"Other\").")

    @strawberry.field
    def archived(self) -> bool:
        return self.row.archived_at is not None

    @staticmethod
    def of(row: models.ClosingReason) -> ClosingReason:
        return ClosingReason(row=row)
