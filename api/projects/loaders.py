"""Node resolution for projects: only the projects the caller may see resolve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from api.projects.types import Project
from api.relay import node_type
from domain.core.scope import Scope
from domain.prospects import projects


async def _projects(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: Project.of(v) for k, v in (await projects.projects_by_ids(scope, ids)).items()}


def register() -> None:
    node_type("Project", _projects)
