"""Inputs of SLA mutations."""

from __future__ import annotations

import strawberry

from api.pipeline.types import StageKind
from api.slas.types import SlaAction, SlaOwnerRole


@strawberry.input
class SetSlaPolicyInput:
    stage_kind: StageKind
    yellow_hours: int = strawberry.field(description="Hours in the stage before yellow (>= 1).")
    red_hours: int = strawberry.field(description="Hours in the stage before red (> yellow).")
    action: SlaAction
    owner_role: SlaOwnerRole


@strawberry.input
class SetJobSlaOverrideInput:
    job_id: strawberry.ID
    stage_kind: StageKind
    yellow_hours: int
    red_hours: int
    action: SlaAction
    owner_role: SlaOwnerRole


@strawberry.input
class RemoveJobSlaOverrideInput:
    job_id: strawberry.ID
    stage_kind: StageKind
