"""Inputs of project mutations."""

from __future__ import annotations

import strawberry

from api.projects.types import ProjectVisibility


@strawberry.input
class CreateProjectInput:
    name: str
    description: str = ""
    visibility: ProjectVisibility = ProjectVisibility.PRIVATE
    member_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Users who become members (not for PRIVATE).")


@strawberry.input
class UpdateProjectInput:
    project_id: strawberry.ID
    name: str | None = strawberry.field(default=None, description="Unchanged when omitted.")
    description: str | None = strawberry.field(default=None,
                                               description="Unchanged when omitted.")


@strawberry.input
class ArchiveProjectInput:
    project_id: strawberry.ID


@strawberry.input
class ShareProjectInput:
    project_id: strawberry.ID
    visibility: ProjectVisibility
    member_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The exact member list; omitted keeps it. PRIVATE removes "
                                  "every member.")


@strawberry.input
class RotateProjectShareLinkInput:
    project_id: strawberry.ID


@strawberry.input
class JoinProjectByLinkInput:
    token: str = strawberry.field(description="The token parameter of the share link.")


@strawberry.input(description="Give either prospectIds or savedSearchId.")
class AddProspectsToProjectInput:
    project_id: strawberry.ID
    prospect_ids: list[strawberry.ID] | None = None
    saved_search_id: strawberry.ID | None = strawberry.field(
        default=None, description="Add the prospects this saved search of yours matches now.")


@strawberry.input
class RemoveProspectsFromProjectInput:
    project_id: strawberry.ID
    prospect_ids: list[strawberry.ID]
