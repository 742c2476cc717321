"""Node resolution for tenancy types: global ID type name -> batch load in the caller's scope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from api.relay import node_type
from api.tenancy.types import ApiKey, Invite, Membership, Tenant, User
from domain.core.scope import Scope
from domain.tenancy import service


async def _users(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    if not scope.can("tenancy:read"):
        return {}
    rows = await service.users_by_ids(scope, ids)
    return {k: User(db_id=k, row=v) for k, v in rows.items()}


async def _memberships(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    if not scope.can("tenancy:read"):
        return {}
    return {k: Membership.of(v) for k, v in (await service.memberships_by_ids(scope, ids)).items()}


async def _tenants(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    if scope.tenant_id not in ids or not scope.can("tenancy:read"):
        return {}
    return {scope.tenant_id: Tenant.of(await service.get_tenant(scope))}


async def _invites(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: Invite.of(v) for k, v in (await service.invites_by_ids(scope, ids)).items()}


async def _api_keys(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: ApiKey.of(v) for k, v in (await service.api_keys_by_ids(scope, ids)).items()}


def register() -> None:
    node_type("User", _users)
    node_type("Membership", _memberships)
    node_type("Tenant", _tenants)
    node_type("Invite", _invites)
    node_type("ApiKey", _api_keys)
