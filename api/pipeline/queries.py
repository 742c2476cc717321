"""Pipeline queries: jobs, closing reasons, stage templates, awaited scorecards. Single jobs,
stages, applications and scorecards resolve through node(id:)."""

from __future__ import annotations

from uuid import UUID

import strawberry

from api.context import scope_of
from api.permissions import requires
from api.pipeline import inputs
from api.pipeline.types import ApplicationOutcome, ClosingReason, Job, Scorecard, StageTemplate
from api.relay import Connection, connection, expect_id, page_args
from domain.pipeline import applications, jobs, service

# An id that does not resolve narrows to nothing rather than being dropped (which would widen).
_NOTHING = UUID(int=0)


def _member(value: strawberry.ID | None) -> UUID | None:
    return None if value is None else expect_id(value, "User") or _NOTHING


@strawberry.type
class PipelineQuery:
    @strawberry.field(description="Jobs in creation order.", extensions=[requires("pipeline:read")])
    async def jobs(self, info: strawberry.Info, filter: inputs.JobFilterInput | None = None,
                   first: int | None = None, after: str | None = None, last: int | None = None,
                   before: str | None = None) -> Connection[Job]:
        given = filter or inputs.JobFilterInput()
        page = await service.list_jobs(scope_of(info), filter=service.JobFilter(
            statuses=[s.value for s in given.statuses or []],
            departments=list(given.departments or []),
            hiring_manager_id=_member(given.hiring_manager_id),
            recruiter_id=_member(given.recruiter_id), text=given.text),
            page=page_args(first, after, last, before))
        return connection(page, Job.of)

    @strawberry.field(description="The tenant's closing reasons (defaults seeded on first use).",
                      extensions=[requires("pipeline:read")])
    async def closing_reasons(self, info: strawberry.Info,
                              outcome: ApplicationOutcome | None = None,
                              include_archived: bool = False) -> list[ClosingReason]:
        rows = await applications.list_closing_reasons(
            scope_of(info), outcome=outcome.value if outcome else None,
            include_archived=include_archived)
        return [ClosingReason.of(r) for r in rows]

    @strawberry.field(description="The tenant's stage templates (the default created on first "
                                  "use).", extensions=[requires("pipeline:read")])
    async def stage_templates(self, info: strawberry.Info) -> list[StageTemplate]:
        return [StageTemplate.of(t) for t in await jobs.list_stage_templates(scope_of(info))]

    @strawberry.field(description="Scorecards not yet submitted: yours as interviewer, or all "
                                  "of one application. Oldest request first.",
                      extensions=[requires("pipeline:read")])
    async def awaiting_scorecards(self, info: strawberry.Info,
                                  application_id: strawberry.ID | None = None,
                                  first: int | None = None, after: str | None = None
                                  ) -> Connection[Scorecard]:
        raw = None
        if application_id is not None:
            raw = expect_id(application_id, "Application") or _NOTHING
        page = await service.awaiting_scorecards(scope_of(info),
                                                 page=page_args(first, after, None, None),
                                                 application_id=raw)
        return connection(page, Scorecard.of)
