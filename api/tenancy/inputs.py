"""Inputs of tenancy mutations."""

from __future__ import annotations

import strawberry

from api.tenancy.types import EngagementPolicy, Role


@strawberry.input
class LoginInput:
    email: str
    password: str
    tenant: str | None = strawberry.field(
        default=None, description="Slug of the tenant to log in to; default: your first one.")


@strawberry.input
class RefreshSessionInput:
    refresh_token: str


@strawberry.input
class LogoutInput:
    refresh_token: str | None = strawberry.field(
        default=None, description="End this session; default: the calling session.")


@strawberry.input
class InviteMemberInput:
    email: str
    role: Role


@strawberry.input
class RevokeInviteInput:
    invite_id: strawberry.ID


@strawberry.input
class AcceptInviteInput:
    token: str
    password: str
    name: str | None = strawberry.field(
        default=None, description="Required when you have no account yet.")


@strawberry.input
class UpdateMemberRoleInput:
    membership_id: strawberry.ID
    role: Role


@strawberry.input
class RemoveMemberInput:
    membership_id: strawberry.ID


@strawberry.input
class CreateApiKeyInput:
    name: str
    scopes: list[str] = strawberry.field(
        description="Permissions such as 'prospects:read' or 'ats:write'.")


@strawberry.input
class RevokeApiKeyInput:
    api_key_id: strawberry.ID


@strawberry.input
class TenantSettingsInput:
    time_zone: str | None = None
    engagement_policy: EngagementPolicy | None = None


@strawberry.input
class UpdateTenantInput:
    name: str | None = None
    settings: TenantSettingsInput | None = None
