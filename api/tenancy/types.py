"""GraphQL types of tenancy."""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry

from api.context import context_of, scope_of
from api.relay import Node, to_global_id
from domain.tenancy import models, service


@strawberry.enum(description="A member's role in a tenant.")
class Role(enum.Enum):
    ADMIN = "admin"
    RECRUITER = "recruiter"
    SOURCER = "sourcer"
    COORDINATOR = "coordinator"
    HIRING_MANAGER = "hiring_manager"
    VIEWER = "viewer"


@strawberry.enum(description="What happens when someone contacts a prospect another member owns.")
class EngagementPolicy(enum.Enum):
    WARN = "warn"
    BLOCK = "block"


@strawberry.type(description="A person with an account. Only members of your tenant are visible.")
class User(Node):
    db_id: strawberry.Private[UUID]
    # Set when the row is at hand already (at login the caller has no scope to load it with).
    row: strawberry.Private[models.User | None] = None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("User", self.db_id)

    async def _row(self, info: strawberry.Info) -> models.User:
        if self.row is not None:
            return self.row
        row = await context_of(info).loader(service.users_by_ids).load(self.db_id)
        if row is None:  # a reference handed out by a visible relation cannot vanish mid-request
            raise LookupError(f"user {self.db_id} not visible")
        return row

    async def _column(self, info: strawberry.Info, name: str) -> str:
        return str(getattr(await self._row(info), name))

    # Plain (not async) resolvers that hand back a coroutine only when the row must be loaded:
    # most Users arrive with their row, and an async resolver per field on every card of a
    # list costs a task each (a third of a 300-card board's execution time).
    @strawberry.field(graphql_type=str)
    def name(self, info: strawberry.Info) -> str | Awaitable[str]:
        return self.row.name if self.row is not None else self._column(info, "name")

    @strawberry.field(graphql_type=str)
    def email(self, info: strawberry.Info) -> str | Awaitable[str]:
        return self.row.email if self.row is not None else self._column(info, "email")


def user_ref(user_id: UUID | None) -> User | None:
    """A User by id alone, for relations that guarantee the user is a member (the viewer,
    a membership's user); fields load through the request's dataloader when asked for."""
    return None if user_id is None else User(db_id=user_id)


def visible_user_now(info: strawberry.Info, user_id: UUID | None
                     ) -> User | Awaitable[User | None] | None:
    """visible_user, at once when the request has loaded the user already."""
    if user_id is None:
        return None
    return context_of(info).load_now(
        service.users_by_ids, user_id,
        lambda row: None if row is None else User(db_id=user_id, row=row))


async def visible_user(info: strawberry.Info, user_id: UUID | None) -> User | None:
    """A User only if still a member of the tenant (an inviter may have left since)."""
    found = visible_user_now(info, user_id)
    return await found if isinstance(found, Awaitable) else found


@strawberry.type(description="Tenant-wide settings.")
class TenantSettings:
    time_zone: str
    engagement_policy: EngagementPolicy


@strawberry.type(description="A customer company; everything in Talentgraph belongs to one.")
class Tenant(Node):
    db_id: strawberry.Private[UUID]
    slug: str
    name: str
    created_at: datetime
    raw_settings: strawberry.Private[dict[str, Any]]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Tenant", self.db_id)

    @strawberry.field
    def settings(self) -> TenantSettings:
        merged = {**service.rules.DEFAULT_SETTINGS, **self.raw_settings}
        return TenantSettings(time_zone=merged["timeZone"],
                              engagement_policy=EngagementPolicy(merged["engagementPolicy"]))

    @staticmethod
    def of(row: models.Tenant) -> Tenant:
        return Tenant(db_id=row.id, slug=row.slug, name=row.name, created_at=row.created_at,
                      raw_settings=row.settings or {})


@strawberry.type(description="A user's membership of a tenant, with their role there.")
class Membership(Node):
    db_id: strawberry.Private[UUID]
    role: Role
    created_at: datetime
    user_id: strawberry.Private[UUID]
    tenant_row: strawberry.Private[models.Tenant | None]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Membership", self.db_id)

    @strawberry.field
    def user(self) -> User:
        return User(db_id=self.user_id)

    @strawberry.field
    async def tenant(self, info: strawberry.Info) -> Tenant:
        if self.tenant_row is not None:
            return Tenant.of(self.tenant_row)
        return Tenant.of(await service.get_tenant(scope_of(info)))

    @staticmethod
    def of(row: models.Membership, tenant: models.Tenant | None = None) -> Membership:
        return Membership(db_id=row.id, role=Role(row.role), created_at=row.created_at,
                          user_id=row.user_id, tenant_row=tenant)


@strawberry.type(description="An invitation to join the tenant; its token is shown only once.")
class Invite(Node):
    db_id: strawberry.Private[UUID]
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    invited_by_id: strawberry.Private[UUID | None]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Invite", self.db_id)

    @strawberry.field(description="Null once the inviter has left the tenant.")
    async def invited_by(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.invited_by_id)

    @staticmethod
    def of(row: models.Invite) -> Invite:
        return Invite(db_id=row.id, email=row.email, role=Role(row.role),
                      created_at=row.created_at, expires_at=row.expires_at,
                      accepted_at=row.accepted_at, revoked_at=row.revoked_at,
                      invited_by_id=row.invited_by_id)


@strawberry.type(description="A partner's credential, bound to this tenant; the secret is "
                             "shown only when created.")
class ApiKey(Node):
    db_id: strawberry.Private[UUID]
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_by_id: strawberry.Private[UUID | None]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("ApiKey", self.db_id)

    @strawberry.field(description="Null once its creator has left the tenant.")
    async def created_by(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.created_by_id)

    @strawberry.field(description="The first characters of the secret, to recognise it.")
    def prefix(self) -> str:
        return f"tgk_{self.db_id.hex[:12]}"

    @staticmethod
    def of(row: models.ApiKey) -> ApiKey:
        return ApiKey(db_id=row.id, name=row.name, scopes=list(row.scopes),
                      created_at=row.created_at, last_used_at=row.last_used_at,
                      revoked_at=row.revoked_at,
                      created_by_id=row.created_by_id)


@strawberry.type(description="Who is calling: a member (user and role) or an API key.")
class Viewer:
    user: User | None
    role: Role | None
    permissions: list[str]
    tenant_id: strawberry.Private[UUID]

    @strawberry.field
    async def tenant(self, info: strawberry.Info) -> Tenant:
        return Tenant.of(await service.get_tenant(scope_of(info)))

    @strawberry.field(description="Every tenant the user belongs to, to switch between them.")
    async def memberships(self, info: strawberry.Info) -> list[Membership]:
        rows = await service.viewer_memberships(scope_of(info))
        return [Membership.of(m, m.tenant) for m in rows]


@strawberry.type(description="Tokens of a logged-in session.")
class Session:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    user: User
    tenant: Tenant
    role: Role

    @staticmethod
    def of(issued: service.IssuedSession) -> Session:
        return Session(
            access_token=issued.access_token,
            access_token_expires_at=issued.access_token_expires_at,
            refresh_token=issued.refresh_token,
            refresh_token_expires_at=issued.refresh_token_expires_at,
            user=User(db_id=issued.user.id, row=issued.user),
            tenant=Tenant.of(issued.tenant), role=Role(issued.role),
        )
