"""GraphQL types of projects."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry

from api.context import context_of
from api.prospects.types import Prospect
from api.relay import Connection, Node, connection, page_args, to_global_id
from api.row_fields import row_field
from api.tenancy.types import User, visible_user
from domain.core.pagination import Page
from domain.core.scope import Scope
from domain.prospects import models, projects


@strawberry.enum(description="Who can see a project: PRIVATE its owner (and admins), MEMBERS "
                             "its owner and members, TENANT every member of the tenant (it "
                             "then has a share link).")
class ProjectVisibility(enum.Enum):
    PRIVATE = "private"
    MEMBERS = "members"
    TENANT = "tenant"


@strawberry.type(description="How a project's prospects are doing. Rates are fractions from 0 "
                             "to 1: contacted of all prospects, opened and replied of the "
                             "contacted ones; 0 while nobody has been contacted.")
class ProjectStats:
    prospects: int = strawberry.field(description="Prospects in the project.")
    contacted: int = strawberry.field(description="Prospects contacted at least once.")
    opened: int = strawberry.field(description="Prospects who opened an email.")
    replied: int = strawberry.field(description="Prospects who replied.")
    contacted_rate: float
    open_rate: float
    reply_rate: float

    @staticmethod
    def of(stats: projects.ProjectStats) -> ProjectStats:
        return ProjectStats(prospects=stats.prospects, contacted=stats.contacted,
                            opened=stats.opened, replied=stats.replied,
                            contacted_rate=stats.contacted_rate, open_rate=stats.open_rate,
                            reply_rate=stats.reply_rate)


@strawberry.type(description="A named list of prospects (a talent pool), private or shared.")
class Project(Node):
    row: strawberry.Private[models.Project]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Project", self.row.id)

    name: str = row_field("name")
    description: str = row_field("description")

    @strawberry.field
    def visibility(self) -> ProjectVisibility:
        return ProjectVisibility(self.row.visibility)

    @strawberry.field(description="Whether a share link exists (only for tenant-shared "
                                  "projects); the link itself is shown only when made.")
    def has_share_link(self) -> bool:
        return self.row.share_token_hash is not None

    created_at: datetime = row_field("created_at")
    updated_at: datetime = row_field("updated_at")
    archived_at: datetime | None = row_field("archived_at")

    @strawberry.field(description="Null once the owner has left the tenant.")
    async def owner(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.row.owner_id)

    @strawberry.field(description="Members besides the owner, in the order they joined; those "
                                  "who left the tenant are left out.")
    async def members(self, info: strawberry.Info) -> list[User]:
        ids = await context_of(info).loader(projects.members_by_project).load(self.row.id)
        users = await asyncio.gather(*(visible_user(info, u) for u in ids or []))
        return [u for u in users if u is not None]

    @strawberry.field(description="Whether the viewer may rename it and add or remove "
                                  "prospects.")
    async def viewer_can_edit(self, info: strawberry.Info) -> bool:
        found = await context_of(info).loader(projects.access_by_project).load(self.row.id)
        return bool(found and found.can_edit and self.row.archived_at is None)

    @strawberry.field(description="Whether the viewer may share and archive it.")
    async def viewer_can_share(self, info: strawberry.Info) -> bool:
        found = await context_of(info).loader(projects.access_by_project).load(self.row.id)
        return bool(found and found.can_manage and self.row.archived_at is None)

    @strawberry.field(description="The project's prospects, in the order they were added.")
    async def prospects(self, info: strawberry.Info, first: int | None = None,
                        after: str | None = None, last: int | None = None,
                        before: str | None = None) -> Connection[Prospect]:
        args = page_args(first, after, last, before)

        async def pages(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
            return await projects.project_prospect_pages(scope, ids, args)

        # One loader per page arguments: every project of a list in one batch.
        page = await context_of(info).loader(pages, variant=args).load(self.row.id)
        return connection(page or Page([], has_next_page=False, has_previous_page=False),
                          lambda entry: Prospect.of(entry.prospect))

    @strawberry.field
    async def stats(self, info: strawberry.Info) -> ProjectStats:
        found = await context_of(info).loader(projects.stats_by_project).load(self.row.id)
        return ProjectStats.of(found or projects.ProjectStats())

    @staticmethod
    def of(row: models.Project) -> Project:
        return Project(row=row)
