"""The pipeline board and "my actions": columns per stage with urgency-ordered cards.

Every column's `applications(first, after)` goes through one per-board dataloader, so all the
columns' pages of a request are one query (domain.pipeline.board.board_pages); the cards'
relations (prospect, recruiter, scorecards) go through the request's dataloaders.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from api.context import Context, context_of, scope_of
from api.permissions import requires
from api.pipeline.types import Application, Job, JobStage, ScorecardSummary, StageKind
from api.prospects.types import Prospect
from api.relay import Connection, Edge, PageInfo, expect_id, to_global_id
from api.slas.types import SlaAction, SlaColor, SlaOwnerRole
from api.tenancy.types import User
from domain.pipeline import board, service
from domain.prospects import service as prospects
from domain.tenancy import service as tenancy

# An id that does not resolve narrows to nothing rather than being dropped (which would widen).
_NOTHING = UUID(int=0)


@strawberry.type(description="An application's SLA status now.")
class SlaStatus:
    color: SlaColor
    action: SlaAction
    owner_role: SlaOwnerRole
    due_at: datetime | None = strawberry.field(
        description="When the next colour starts (yellow, then red; for red, when it did). "
                    "Null while the job is on hold.")
    hours_in_stage: float = strawberry.field(description="Wall-clock hours in the stage.")
    paused: bool = strawberry.field(description="The job is on hold: the SLA clock is stopped.")
    owner: User | None = strawberry.field(description="The member who owns the next action.")


# A card's fields are plain attributes filled when the page arrives (with its prospects'
# names, scorecard figures and members): a board has hundreds of cards, and a resolver or an
# awaitable per field would dominate the request's cost. Only `application`, `job` and
# `prospect` objects resolve on demand, through the request's dataloaders.
@strawberry.type(description="An active application on the board or in my actions.")
class BoardCard:
    card: strawberry.Private[board.Card]
    application_id: strawberry.ID
    prospect_name: str = strawberry.field(description="The prospect's name.")
    title: str = strawberry.field(description="The prospect's current title.")
    company: str = strawberry.field(description="The prospect's current company.")
    source: str
    recruiter: User | None = strawberry.field(
        description="The application's recruiter, else the job's.")
    time_in_stage: int = strawberry.field(description="Seconds in the current stage.")
    last_activity_at: datetime = strawberry.field(
        description="The latest touchpoint: the prospect's last activity, or the "
                    "application's last change if later.")
    scorecard_summary: ScorecardSummary
    sla: SlaStatus

    @strawberry.field(description="The application itself (loaded when asked for).")
    async def application(self, info: strawberry.Info) -> Application | None:
        row = await context_of(info).loader(service.applications_by_ids).load(
            self.card.application.id)
        return Application.of(row) if row else None

    @strawberry.field
    def job(self) -> Job:
        return Job.of(self.card.job)

    @strawberry.field(description="The prospect (loaded when asked for).")
    async def prospect(self, info: strawberry.Info) -> Prospect | None:
        row = await context_of(info).loader(prospects.prospects_by_ids).load(
            self.card.application.prospect_id)
        return Prospect.of(row) if row else None

    @staticmethod
    def of(card: board.Card, users: dict[UUID, User]) -> BoardCard:
        app, person, u, s = card.application, card.prospect, card.urgency, card.scorecards
        last = app.updated_at
        if person is not None and person.last_activity_at is not None:
            last = max(person.last_activity_at, last)
        recruiter = _recruiter_id(card)
        return BoardCard(
            card=card, application_id=to_global_id("Application", app.id),
            prospect_name=person.name if person else "",
            title=person.title if person else "", company=person.company if person else "",
            source=app.source, recruiter=users.get(recruiter) if recruiter else None,
            time_in_stage=int(u.hours_in_stage * 3600), last_activity_at=last,
            scorecard_summary=ScorecardSummary(submitted=s.submitted, awaiting=s.awaiting,
                                               average_score=s.average_score),
            sla=SlaStatus(color=SlaColor(u.status), action=SlaAction(u.action),
                          owner_role=SlaOwnerRole(u.owner_role), due_at=u.due_at,
                          hours_in_stage=round(u.hours_in_stage, 4), paused=u.paused,
                          owner=users.get(card.owner_id) if card.owner_id else None))


def _recruiter_id(card: board.Card) -> UUID | None:
    return card.application.recruiter_id or card.job.recruiter_id


async def _members(ctx: Context, pages: list[board.CardPage]) -> dict[UUID, User]:
    """The members the cards name (recruiters, owners), in one batch of the request's loader;
    a former member is absent (shown as null)."""
    ids = list({i for p in pages for c in p.cards
                for i in (_recruiter_id(c), c.owner_id) if i is not None})
    if not ids:
        return {}
    rows = await ctx.loader(tenancy.users_by_ids).load_many(ids)
    return {i: User(db_id=i, row=r) for i, r in zip(ids, rows, strict=True) if r is not None}


def _connection(page: board.CardPage, users: dict[UUID, User]) -> Connection[BoardCard]:
    edges = [Edge(cursor=c.cursor.encode(), node=BoardCard.of(c, users))
             for c in page.cards]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=page.has_next_page, has_previous_page=page.has_previous_page,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None))


def _cursor(after: str | None) -> board.CardCursor | None:
    return None if after is None else board.CardCursor.decode(after)


PageKey = tuple[str, int, str | None]
Loaded = tuple[board.CardPage, dict[UUID, User]]


@strawberry.type(description="A column of the board: one stage (one job), or one stage kind "
                             "(several jobs).")
class BoardColumn:
    column: strawberry.Private[board.Column]
    pages: strawberry.Private[DataLoader[PageKey, Loaded]]

    @strawberry.field(description="The stage's id (one job) or its kind (several jobs).")
    def key(self) -> str:
        return self.column.key

    @strawberry.field
    def name(self) -> str:
        return self.column.name

    @strawberry.field
    def kind(self) -> StageKind:
        return StageKind(self.column.kind)

    @strawberry.field(description="The job stages in this column.")
    def stages(self) -> list[JobStage]:
        return [JobStage.of(s) for s in self.column.stages]

    @strawberry.field(description="Active applications in the column now.")
    def count(self) -> int:
        return self.column.count

    @strawberry.field(description="Applications that ever entered the column.")
    def entered(self) -> int:
        return self.column.entered

    @strawberry.field(description="Of those, how many reached a later stage.")
    def passed_through(self) -> int:
        return self.column.went_on

    @strawberry.field(description="passedThrough / entered so far; null when none entered.")
    def passthrough(self) -> float | None:
        return self.column.passthrough

    @strawberry.field(description="Active applications, most urgent first: red, yellow, green, "
                                  "then longest in stage. At most 100 per page.")
    async def applications(self, first: int | None = board.DEFAULT_CARDS,
                           after: str | None = None) -> Connection[BoardCard]:
        size = board.check_first(first)
        _cursor(after)  # a bad cursor is the caller's error, before batching
        page, users = await self.pages.load((self.column.key, size, after))
        return _connection(page, users)


@strawberry.type
class BoardSummary:
    active_candidates: int = strawberry.field(description="Active applications.")
    total_applicants: int = strawberry.field(description="Applications of any status.")
    average_time_to_hire_seconds: float | None = strawberry.field(
        description="From application to hire, over the hires so far; null without hires.")


@strawberry.type(description="The pipeline of the selected jobs.")
class PipelineBoard:
    data: strawberry.Private[board.Board]
    pages: strawberry.Private[DataLoader[PageKey, Loaded]]

    @strawberry.field
    def jobs(self) -> list[Job]:
        return [Job.of(j) for j in self.data.jobs]

    @strawberry.field
    def columns(self) -> list[BoardColumn]:
        return [BoardColumn(column=c, pages=self.pages) for c in self.data.columns]

    @strawberry.field
    def summary(self) -> BoardSummary:
        return BoardSummary(active_candidates=self.data.active,
                            total_applicants=self.data.total,
                            average_time_to_hire_seconds=self.data.average_time_to_hire)


@strawberry.input(description="Which jobs the board shows: by default every open and on-hold "
                              "job; jobIds names jobs of any status. Filters combine (and).")
class PipelineBoardFilter:
    job_ids: list[strawberry.ID] | None = None
    hiring_manager_id: strawberry.ID | None = None
    recruiter_id: strawberry.ID | None = strawberry.field(
        default=None, description="The job's recruiter.")
    department: str | None = None
    stage_kinds: list[StageKind] | None = strawberry.field(
        default=None, description="Only columns of these kinds.")


def _id(value: strawberry.ID | None, type_name: str) -> UUID | None:
    return None if value is None else expect_id(value, type_name) or _NOTHING


@strawberry.type
class BoardQuery:
    @strawberry.field(description="The pipeline board of the selected jobs.",
                      extensions=[requires("pipeline:read")])
    async def pipeline_board(self, info: strawberry.Info,
                             filter: PipelineBoardFilter | None = None) -> PipelineBoard:
        given = filter or PipelineBoardFilter()
        scope = scope_of(info)
        data = await board.load_board(scope, board.BoardFilter(
            job_ids=None if given.job_ids is None
            else [expect_id(j, "Job") or _NOTHING for j in given.job_ids],
            hiring_manager_id=_id(given.hiring_manager_id, "User"),
            recruiter_id=_id(given.recruiter_id, "User"), department=given.department,
            stage_kinds=None if given.stage_kinds is None
            else [k.value for k in given.stage_kinds]))

        async def load(keys: list[PageKey]) -> list[Loaded]:
            pages = await board.board_pages(scope, data, [(k, n, _cursor(a)) for k, n, a in keys])
            users = await _members(context_of(info), pages)
            return [(p, users) for p in pages]

        return PipelineBoard(data=data, pages=DataLoader(load_fn=load))

    @strawberry.field(description="Active applications whose next action you own (as recruiter "
                                  "or hiring manager, as each stage's SLA says), most urgent "
                                  "first; green ones last.",
                      extensions=[requires("pipeline:read")])
    async def my_actions(self, info: strawberry.Info, first: int | None = board.DEFAULT_CARDS,
                         after: str | None = None) -> Connection[BoardCard]:
        page = await board.my_actions(scope_of(info), first=first, after=_cursor(after))
        return _connection(page, await _members(context_of(info), [page]))

