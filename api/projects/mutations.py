"""Project mutations: one input, a payload with the project and user errors."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any
from urllib.parse import quote
from uuid import UUID

import strawberry

from api.context import scope_of
from api.errors import UserError, run_mutation
from api.permissions import requires
from api.projects import inputs
from api.projects.types import Project
from api.relay import expect_id, require_id, to_global_id
from domain.core.config import settings
from domain.core.errors import DomainError, NotFound
from domain.prospects import projects

_project_id = partial(require_id, type_name="Project", field="projectId",
                      message=projects.NO_PROJECT)


@strawberry.type
class CreateProjectPayload:
    project: Project | None = None
    share_link: str | None = strawberry.field(
        default=None, description="Set when the project is shared with the tenant; it is not "
                                  "shown again.")
    errors: list[UserError]


@strawberry.type
class UpdateProjectPayload:
    project: Project | None = None
    errors: list[UserError]


@strawberry.type
class ArchiveProjectPayload:
    project: Project | None = None
    errors: list[UserError]


@strawberry.type
class ShareProjectPayload:
    project: Project | None = None
    share_link: str | None = strawberry.field(
        default=None, description="Set when this call made the link (the project became "
                                  "tenant-shared); it is not shown again. Otherwise rotate it.")
    errors: list[UserError]


@strawberry.type
class RotateProjectShareLinkPayload:
    project: Project | None = None
    share_link: str | None = strawberry.field(
        default=None, description="The new link; the old one stops working. Not shown again.")
    errors: list[UserError]


@strawberry.type
class JoinProjectByLinkPayload:
    project: Project | None = None
    errors: list[UserError]


@strawberry.type
class AddProspectsToProjectPayload:
    project: Project | None = None
    added_count: int | None = strawberry.field(
        default=None, description="How many were not in the project yet.")
    errors: list[UserError]


@strawberry.type
class RemoveProspectsFromProjectPayload:
    project: Project | None = None
    removed_count: int | None = strawberry.field(
        default=None, description="How many were in the project.")
    errors: list[UserError]


def _ids(global_ids: Sequence[str], type_name: str, field: str, message: str) -> list[UUID]:
    """Malformed IDs and IDs of another type fail like unknown ones."""
    decoded = [expect_id(g, type_name) for g in global_ids]
    if any(d is None for d in decoded):
        raise NotFound(message, field=field)
    return [d for d in decoded if d is not None]


def _members(global_ids: Sequence[str]) -> list[UUID]:
    return _ids(global_ids, "User", "memberIds", projects.NO_MEMBER)


def _prospects(global_ids: Sequence[str]) -> list[UUID]:
    return _ids(global_ids, "Prospect", "prospectIds", projects.NO_PROSPECTS)


def share_link(project_id: UUID, token: str | None) -> str | None:
    """PUBLIC_BASE_URL/projects/<global id>?token=<token>: the app's page of the project."""
    if token is None:
        return None
    return (f"{settings().public_base_url}/projects/{to_global_id('Project', project_id)}"
            f"?token={quote(token, safe='')}")


@strawberry.type
class ProjectMutation:
    @strawberry.mutation(description="Create a project; you own it.",
                         extensions=[requires("prospects:write")])
    async def create_project(self, info: strawberry.Info,
                             input: inputs.CreateProjectInput) -> CreateProjectPayload:
        async def act() -> dict[str, Any]:
            project, token = await projects.create_project(
                scope_of(info), name=input.name, description=input.description,
                visibility=input.visibility.value, member_ids=_members(input.member_ids))
            return {"project": Project.of(project), "share_link": share_link(project.id, token)}
        return await run_mutation(CreateProjectPayload, act)

    @strawberry.mutation(description="Rename a project or change its description (its owner, "
                                     "members and admins).",
                         extensions=[requires("prospects:write")])
    async def update_project(self, info: strawberry.Info,
                             input: inputs.UpdateProjectInput) -> UpdateProjectPayload:
        async def act() -> dict[str, Any]:
            project = await projects.update_project(
                scope_of(info), project_id=_project_id(input.project_id), name=input.name,
                description=input.description)
            return {"project": Project.of(project)}
        return await run_mutation(UpdateProjectPayload, act)

    @strawberry.mutation(description="Archive a project: it becomes read-only and leaves "
                                     "listings (its owner and admins).",
                         extensions=[requires("prospects:write")])
    async def archive_project(self, info: strawberry.Info,
                              input: inputs.ArchiveProjectInput) -> ArchiveProjectPayload:
        async def act() -> dict[str, Any]:
            project = await projects.archive_project(
                scope_of(info), project_id=_project_id(input.project_id))
            return {"project": Project.of(project)}
        return await run_mutation(ArchiveProjectPayload, act)

    @strawberry.mutation(description="Set who sees a project: private, its members, or the "
                                     "whole tenant (its owner and admins).",
                         extensions=[requires("prospects:write")])
    async def share_project(self, info: strawberry.Info,
                            input: inputs.ShareProjectInput) -> ShareProjectPayload:
        async def act() -> dict[str, Any]:
            project, token = await projects.share_project(
                scope_of(info), project_id=_project_id(input.project_id),
                visibility=input.visibility.value,
                member_ids=None if input.member_ids is None else _members(input.member_ids))
            return {"project": Project.of(project), "share_link": share_link(project.id, token)}
        return await run_mutation(ShareProjectPayload, act)

    @strawberry.mutation(description="Replace a tenant-shared project's link (its owner and "
                                     "admins).",
                         extensions=[requires("prospects:write")])
    async def rotate_project_share_link(
            self, info: strawberry.Info, input: inputs.RotateProjectShareLinkInput
    ) -> RotateProjectShareLinkPayload:
        async def act() -> dict[str, Any]:
            project, token = await projects.rotate_share_link(
                scope_of(info), project_id=_project_id(input.project_id))
            return {"project": Project.of(project), "share_link": share_link(project.id, token)}
        return await run_mutation(RotateProjectShareLinkPayload, act)

    @strawberry.mutation(description="Open a share link: you become a member of the project. "
                                     "Works only for members of the project's tenant.",
                         extensions=[requires("prospects:read")])
    async def join_project_by_link(self, info: strawberry.Info,
                                   input: inputs.JoinProjectByLinkInput
                                   ) -> JoinProjectByLinkPayload:
        async def act() -> dict[str, Any]:
            project = await projects.join_project_by_link(scope_of(info), token=input.token)
            return {"project": Project.of(project)}
        return await run_mutation(JoinProjectByLinkPayload, act)

    @strawberry.mutation(description="Add prospects, given or matched by a saved search, to a "
                                     "project; those in it already are left as they are. All "
                                     "or nothing.",
                         extensions=[requires("prospects:write")])
    async def add_prospects_to_project(self, info: strawberry.Info,
                                       input: inputs.AddProspectsToProjectInput
                                       ) -> AddProspectsToProjectPayload:
        async def act() -> dict[str, Any]:
            scope, project_id = scope_of(info), _project_id(input.project_id)
            if (input.prospect_ids is None) == (input.saved_search_id is None):
                raise DomainError("Give either prospectIds or savedSearchId.",
                                  field="prospectIds")
            if input.saved_search_id is not None:
                saved_search_id = expect_id(input.saved_search_id, "SavedSearch")
                if saved_search_id is None:
                    raise NotFound("No such saved search.", field="savedSearchId")
                added = await projects.add_saved_search(scope, project_id=project_id,
                                                        saved_search_id=saved_search_id)
            else:
                added = await projects.add_prospects(
                    scope, project_id=project_id, prospect_ids=_prospects(input.prospect_ids or []))
            project = await projects.get_project(scope, project_id=project_id)
            return {"project": Project.of(project), "added_count": added}
        return await run_mutation(AddProspectsToProjectPayload, act)

    @strawberry.mutation(description="Remove prospects from a project. All or nothing.",
                         extensions=[requires("prospects:write")])
    async def remove_prospects_from_project(self, info: strawberry.Info,
                                            input: inputs.RemoveProspectsFromProjectInput
                                            ) -> RemoveProspectsFromProjectPayload:
        async def act() -> dict[str, Any]:
            scope, project_id = scope_of(info), _project_id(input.project_id)
            removed = await projects.remove_prospects(scope, project_id=project_id,
                                                      prospect_ids=_prospects(input.prospect_ids))
            project = await projects.get_project(scope, project_id=project_id)
            return {"project": Project.of(project), "removed_count": removed}
        return await run_mutation(RemoveProspectsFromProjectPayload, act)
