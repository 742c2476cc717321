"""SLA mutations: tenant policies (admins) and per-job overrides (recruiting staff)."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry

from api.context import scope_of
from api.errors import UserError, run_mutation
from api.permissions import requires
from api.relay import require_id
from api.slas import inputs
from api.slas.types import SlaPolicy
from domain.slas import service

_job_id = partial(require_id, type_name="Job", field="jobId",
                  message="No such job.")


@strawberry.type
class SlaPolicyPayload:
    policy: SlaPolicy | None = strawberry.field(default=None,
                                                description="The policy now in force.")
    errors: list[UserError]


@strawberry.type
class SlaMutation:
    @strawberry.mutation(description="Set the tenant's SLA for a stage kind.",
                         extensions=[requires("tenancy:write")])
    async def set_sla_policy(self, info: strawberry.Info,
                             input: inputs.SetSlaPolicyInput) -> SlaPolicyPayload:
        async def act() -> dict[str, Any]:
            policy = await service.set_sla_policy(
                scope_of(info), stage_kind=input.stage_kind.value,
                yellow_hours=input.yellow_hours, red_hours=input.red_hours,
                action=input.action.value, owner_role=input.owner_role.value)
            return {"policy": SlaPolicy.of(policy)}
        return await run_mutation(SlaPolicyPayload, act)

    @strawberry.mutation(description="Override the tenant's SLA for one job and stage kind.",
                         extensions=[requires("pipeline:write")])
    async def set_job_sla_override(self, info: strawberry.Info,
                                   input: inputs.SetJobSlaOverrideInput) -> SlaPolicyPayload:
        async def act() -> dict[str, Any]:
            policy = await service.set_job_sla_override(
                scope_of(info), job_id=_job_id(input.job_id), stage_kind=input.stage_kind.value,
                yellow_hours=input.yellow_hours, red_hours=input.red_hours,
                action=input.action.value, owner_role=input.owner_role.value)
            return {"policy": SlaPolicy.of(policy)}
        return await run_mutation(SlaPolicyPayload, act)

    @strawberry.mutation(description="Remove a job's override: the tenant's SLA applies again "
                                      "(returned). Removing none is not an error.",
                         extensions=[requires("pipeline:write")])
    async def remove_job_sla_override(self, info: strawberry.Info,
                                      input: inputs.RemoveJobSlaOverrideInput
                                      ) -> SlaPolicyPayload:
        async def act() -> dict[str, Any]:
            policy = await service.remove_job_sla_override(
                scope_of(info), job_id=_job_id(input.job_id), stage_kind=input.stage_kind.value)
            return {"policy": SlaPolicy.of(policy)}
        return await run_mutation(SlaPolicyPayload, act)
