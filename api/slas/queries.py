"""SLA queries: the policies in force, for the tenant or one job."""

from __future__ import annotations

import strawberry

from api.context import scope_of
from api.permissions import requires
from api.relay import expect_id
from api.slas.types import SlaPolicy
from domain.slas import service


@strawberry.type
class SlaQuery:
    @strawberry.field(description="The SLA policy in force per stage kind, in kind order: the "
                                  "tenant's, or with jobId that job's (its overrides first). "
                                  "Empty for a job that does not exist or is not yours.",
                      extensions=[requires("pipeline:read")])
    async def sla_policies(self, info: strawberry.Info, job_id: strawberry.ID | None = None
                           ) -> list[SlaPolicy]:
        raw = None
        if job_id is not None:
            raw = expect_id(job_id, "Job")
            if raw is None:
                return []
        return [SlaPolicy.of(p)
                for p in await service.effective_policies(scope_of(info), job_id=raw)]
