"""Project queries (one project: node(id:))."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.context import scope_of
from api.permissions import requires
from api.projects.types import Project
from api.relay import Connection, connection, expect_id, page_args
from domain.core.pagination import Page
from domain.prospects import projects


@strawberry.type
class ProjectQuery:
    @strawberry.field(description="Projects you can see, newest first.",
                      extensions=[requires("prospects:read")])
    async def projects(self, info: strawberry.Info, first: int | None = None,
                       after: str | None = None, last: int | None = None,
                       before: str | None = None, include_archived: bool = False,
                       prospect_id: Annotated[strawberry.ID | None, strawberry.argument(
                           description="Only projects holding this prospect.")] = None,
                       ) -> Connection[Project]:
        args = page_args(first, after, last, before)
        prospect = None
        if prospect_id is not None:
            prospect = expect_id(prospect_id, "Prospect")
            if prospect is None:  # an ID that cannot exist is in no project
                return connection(Page([], False, False), Project.of)
        page = await projects.list_projects(scope_of(info), args,
                                            include_archived=include_archived,
                                            prospect_id=prospect)
        return connection(page, Project.of)
