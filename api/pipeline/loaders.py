"""Node resolution for pipeline types: another tenant's ids resolve to nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from api.pipeline import types
from api.relay import node_type
from domain.core.scope import Scope
from domain.pipeline import applications, jobs, service


async def _jobs(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: types.Job.of(v) for k, v in (await service.jobs_by_ids(scope, ids)).items()}


async def _stages(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: types.JobStage.of(v) for k, v in (await service.stages_by_ids(scope, ids)).items()}


async def _applications(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: types.Application.of(v)
            for k, v in (await service.applications_by_ids(scope, ids)).items()}


async def _scorecards(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: types.Scorecard.of(v)
            for k, v in (await service.scorecards_by_ids(scope, ids)).items()}


async def _reasons(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: types.ClosingReason.of(v)
            for k, v in (await applications.closing_reasons_by_ids(scope, list(ids))).items()}


async def _templates(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: types.StageTemplate.of(v)
            for k, v in (await jobs.stage_templates_by_ids(scope, ids)).items()}


def register() -> None:
    node_type("Job", _jobs)
    node_type("JobStage", _stages)
    node_type("Application", _applications)
    node_type("Scorecard", _scorecards)
    node_type("ClosingReason", _reasons)
    node_type("StageTemplate", _templates)
