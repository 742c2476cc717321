"""Tenancy queries."""

from __future__ import annotations

import strawberry

from api.context import scope_of
from api.permissions import requires
from api.relay import Connection, connection, page_args
from api.tenancy.types import ApiKey, Invite, Membership, Role, Tenant, Viewer, user_ref
from domain.tenancy import service


@strawberry.type
class TenancyQuery:
    @strawberry.field(description="The caller.")
    def viewer(self, info: strawberry.Info) -> Viewer:
        scope = scope_of(info)
        return Viewer(user=user_ref(scope.user_id),
                      role=Role(scope.role) if scope.role else None,
                      permissions=sorted(scope.permissions), tenant_id=scope.tenant_id)

    @strawberry.field(description="The caller's tenant.", extensions=[requires("tenancy:read")])
    async def tenant(self, info: strawberry.Info) -> Tenant:
        return Tenant.of(await service.get_tenant(scope_of(info)))

    @strawberry.field(description="Members of the tenant, oldest first.",
                      extensions=[requires("tenancy:read")])
    async def members(self, info: strawberry.Info, first: int | None = None,
                      after: str | None = None, last: int | None = None,
                      before: str | None = None, role: Role | None = None
                      ) -> Connection[Membership]:
        page = await service.list_members(scope_of(info), page_args(first, after, last, before),
                                          role=role.value if role else None)
        return connection(page, Membership.of)

    @strawberry.field(description="Pending invites (admins).",
                      extensions=[requires("tenancy:write")])
    async def invites(self, info: strawberry.Info, first: int | None = None,
                      after: str | None = None, last: int | None = None,
                      before: str | None = None) -> Connection[Invite]:
        page = await service.list_invites(scope_of(info), page_args(first, after, last, before))
        return connection(page, Invite.of)

    @strawberry.field(description="API keys, revoked ones included (admins).",
                      extensions=[requires("tenancy:write")])
    async def api_keys(self, info: strawberry.Info, first: int | None = None,
                       after: str | None = None, last: int | None = None,
                       before: str | None = None) -> Connection[ApiKey]:
        page = await service.list_api_keys(scope_of(info), page_args(first, after, last, before))
        return connection(page, ApiKey.of)
