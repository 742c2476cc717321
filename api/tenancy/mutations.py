"""Tenancy mutations: one input, a payload with the result and user errors."""

from __future__ import annotations

from typing import Any

import strawberry

from api.context import context_of, scope_of
from api.errors import UserError, run_mutation
from api.permissions import requires
from api.relay import expect_id, to_global_id
from api.tenancy import inputs
from api.tenancy.types import ApiKey, Invite, Membership, Session, Tenant
from domain.core.errors import NotFound
from domain.tenancy import service, sessions


@strawberry.type
class LoginPayload:
    session: Session | None = None
    errors: list[UserError]


@strawberry.type
class RefreshSessionPayload:
    session: Session | None = None
    errors: list[UserError]


@strawberry.type
class LogoutPayload:
    revoked: bool = False
    errors: list[UserError]


@strawberry.type
class InviteMemberPayload:
    invite: Invite | None = None
    invite_token: str | None = strawberry.field(
        default=None, description="Give this to the invitee; it is not shown again.")
    errors: list[UserError]


@strawberry.type
class RevokeInvitePayload:
    invite: Invite | None = None
    errors: list[UserError]


@strawberry.type
class AcceptInvitePayload:
    session: Session | None = None
    errors: list[UserError]


@strawberry.type
class UpdateMemberRolePayload:
    membership: Membership | None = None
    errors: list[UserError]


@strawberry.type
class RemoveMemberPayload:
    removed_membership_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(
        default=None, description="The key itself; store it now, it is not shown again.")
    errors: list[UserError]


@strawberry.type
class RevokeApiKeyPayload:
    api_key: ApiKey | None = None
    errors: list[UserError]


@strawberry.type
class UpdateTenantPayload:
    tenant: Tenant | None = None
    errors: list[UserError]


def _id(global_id: str, type_name: str, field: str) -> Any:
    raw = expect_id(global_id, type_name)
    if raw is None:
        raise NotFound(f"No such {type_name}.", field=field)
    return raw


@strawberry.type
class TenancyMutation:
    @strawberry.mutation(description="Log in with email and password.")
    async def login(self, input: inputs.LoginInput) -> LoginPayload:
        async def act() -> dict[str, Any]:
            issued = await sessions.login(email=input.email, password=input.password,
                                          tenant_slug=input.tenant)
            return {"session": Session.of(issued)}
        return await run_mutation(LoginPayload, act)

    @strawberry.mutation(description="Trade a refresh token for new tokens; the old one is "
                                     "spent, and reusing a spent one ends the session.")
    async def refresh_session(self, input: inputs.RefreshSessionInput) -> RefreshSessionPayload:
        async def act() -> dict[str, Any]:
            issued = await sessions.refresh_session(refresh_token=input.refresh_token)
            return {"session": Session.of(issued)}
        return await run_mutation(RefreshSessionPayload, act)

    @strawberry.mutation(description="End a session.")
    async def logout(self, info: strawberry.Info, input: inputs.LogoutInput) -> LogoutPayload:
        async def act() -> dict[str, Any]:
            if input.refresh_token is not None:
                return {"revoked": await sessions.revoke_session(refresh_token=input.refresh_token)}
            scope = context_of(info).require_scope()
            if scope.session_id is None:
                raise NotFound("API keys have no session; revoke the key instead.",
                               field="refreshToken")
            return {"revoked": await sessions.revoke_session(session_id=scope.session_id)}
        return await run_mutation(LogoutPayload, act)

    @strawberry.mutation(description="Invite someone by email (admins).",
                         extensions=[requires("tenancy:write")])
    async def invite_member(self, info: strawberry.Info,
                            input: inputs.InviteMemberInput) -> InviteMemberPayload:
        async def act() -> dict[str, Any]:
            invite, token = await service.invite_member(scope_of(info), email=input.email,
                                                        role=input.role.value)
            return {"invite": Invite.of(invite), "invite_token": token}
        return await run_mutation(InviteMemberPayload, act)

    @strawberry.mutation(description="Withdraw a pending invite (admins).",
                         extensions=[requires("tenancy:write")])
    async def revoke_invite(self, info: strawberry.Info,
                            input: inputs.RevokeInviteInput) -> RevokeInvitePayload:
        async def act() -> dict[str, Any]:
            invite = await service.revoke_invite(
                scope_of(info), invite_id=_id(input.invite_id, "Invite", "inviteId"))
            return {"invite": Invite.of(invite)}
        return await run_mutation(RevokeInvitePayload, act)

    @strawberry.mutation(description="Join a tenant with an invite token; logs you in there.")
    async def accept_invite(self, input: inputs.AcceptInviteInput) -> AcceptInvitePayload:
        async def act() -> dict[str, Any]:
            issued = await service.accept_invite(token=input.token, name=input.name,
                                                 password=input.password)
            return {"session": Session.of(issued)}
        return await run_mutation(AcceptInvitePayload, act)

    @strawberry.mutation(description="Change a member's role (admins); ends their sessions.",
                         extensions=[requires("tenancy:write")])
    async def update_member_role(self, info: strawberry.Info,
                                 input: inputs.UpdateMemberRoleInput) -> UpdateMemberRolePayload:
        async def act() -> dict[str, Any]:
            membership = await service.update_member_role(
                scope_of(info), membership_id=_id(input.membership_id, "Membership",
                                                  "membershipId"),
                role=input.role.value)
            return {"membership": Membership.of(membership)}
        return await run_mutation(UpdateMemberRolePayload, act)

    @strawberry.mutation(description="Remove a member (admins); ends their sessions.",
                         extensions=[requires("tenancy:write")])
    async def remove_member(self, info: strawberry.Info,
                            input: inputs.RemoveMemberInput) -> RemoveMemberPayload:
        async def act() -> dict[str, Any]:
            removed = await service.remove_member(
                scope_of(info), membership_id=_id(input.membership_id, "Membership",
                                                  "membershipId"))
            return {"removed_membership_id": to_global_id("Membership", removed)}
        return await run_mutation(RemoveMemberPayload, act)

    @strawberry.mutation(description="Create a partner API key (admins).",
                         extensions=[requires("tenancy:write")])
    async def create_api_key(self, info: strawberry.Info,
                             input: inputs.CreateApiKeyInput) -> CreateApiKeyPayload:
        async def act() -> dict[str, Any]:
            key, secret = await service.create_api_key(scope_of(info), name=input.name,
                                                       scopes=input.scopes)
            return {"api_key": ApiKey.of(key), "secret": secret}
        return await run_mutation(CreateApiKeyPayload, act)

    @strawberry.mutation(description="Revoke an API key at once (admins).",
                         extensions=[requires("tenancy:write")])
    async def revoke_api_key(self, info: strawberry.Info,
                             input: inputs.RevokeApiKeyInput) -> RevokeApiKeyPayload:
        async def act() -> dict[str, Any]:
            key = await service.revoke_api_key(
                scope_of(info), api_key_id=_id(input.api_key_id, "ApiKey", "apiKeyId"))
            return {"api_key": ApiKey.of(key)}
        return await run_mutation(RevokeApiKeyPayload, act)

    @strawberry.mutation(description="Rename the tenant or change its settings (admins).",
                         extensions=[requires("tenancy:write")])
    async def update_tenant(self, info: strawberry.Info,
                            input: inputs.UpdateTenantInput) -> UpdateTenantPayload:
        async def act() -> dict[str, Any]:
            changes = {}
            if input.settings is not None:
                changes = {
                    "timeZone": input.settings.time_zone,
                    "engagementPolicy": input.settings.engagement_policy.value
                    if input.settings.engagement_policy else None,
                }
            tenant = await service.update_tenant(scope_of(info), name=input.name,
                                                 settings_changes=changes)
            return {"tenant": Tenant.of(tenant)}
        return await run_mutation(UpdateTenantPayload, act)
