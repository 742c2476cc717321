"""Tenancy use cases: tenants, members, invites, API keys. Each takes the caller's scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from domain.core import clock, db
from domain.core.config import settings
from domain.core.errors import NotFound
from domain.core.pagination import Page, PageArgs, paginate
from domain.core.scope import Scope
from domain.core.security import digest, hash_password, new_token, verify_password
from domain.events.service import publish
from domain.tenancy import events, rules, sessions
from domain.tenancy.errors import (
    Duplicate,
    InvalidCredentials,
    InvalidToken,
    LastAdmin,
    TooManyAttempts,
)
from domain.tenancy.models import ApiKey, Invite, Membership, Tenant, User
from domain.tenancy.sessions import (
    API_KEY_PREFIX,
    IssuedSession,
    forget_cached_auth,
    issue_session,
    revoke_member_sessions,
)

INVITE_PREFIX = "tgi_"


# --- operator functions (CLI, demo): no member acts, so they take no scope ---------------

async def create_tenant(*, slug: str, name: str) -> Tenant:
    rules.check_slug(slug)
    rules.check_name(name)
    async with db.identity_tx():
        if await Tenant.exists(slug=slug):
            raise Duplicate(f"A tenant '{slug}' exists already.", field="slug")
        return await Tenant.create(slug=slug, name=name, settings=dict(rules.DEFAULT_SETTINGS))


async def ensure_member(*, tenant: Tenant, email: str, name: str, role: str,
                        password: str | None = None) -> Membership:
    """Create the user if needed and make them a member with this role (idempotent)."""
    email = rules.normalise_email(email)
    rules.check_role(role)
    async with db.system_tenant_tx(str(tenant.id)):
        user = await User.get_or_none(email=email)
        if user is None:
            user = await User.create(email=email, name=rules.check_name(name),
                                     password_hash=hash_password(password) if password else None)
        elif password:
            user.password_hash = hash_password(password)
            await user.save(update_fields=["password_hash"])
        membership = await Membership.get_or_none(tenant_id=tenant.id, user_id=user.id)
        if membership is None:
            return await Membership.create(tenant_id=tenant.id, user_id=user.id, role=role)
        membership.role = role
        await membership.save(update_fields=["role"])
        return membership


async def tenant_by_slug(slug: str) -> Tenant:
    async with db.identity_tx():
        tenant = await Tenant.get_or_none(slug=slug)
    if tenant is None:
        raise NotFound(f"No tenant '{slug}'.", field="tenant")
    return tenant


async def all_tenants() -> list[Tenant]:
    """Every tenant, oldest first: for periodic jobs that work tenant by tenant (an operator's
    read of the identity plane)."""
    async with db.identity_tx():
        return list(await Tenant.all().order_by("id"))


async def delete_tenant(*, tenant: Tenant) -> None:
    async with db.system_tenant_tx(str(tenant.id)):
        await Tenant.filter(id=tenant.id).delete()
    forget_cached_auth()


async def system_scope(tenant: Tenant) -> Scope:
    """The scope of an operator command acting for a tenant as its administrator."""
    return Scope(tenant_id=tenant.id, permissions=rules.ROLE_PERMISSIONS["admin"], role="admin")


# --- the tenant ----------------------------------------------------------------------------

async def get_tenant(scope: Scope) -> Tenant:
    async with db.tenant_tx(scope):
        return await Tenant.get(id=scope.tenant_id)


async def update_tenant(scope: Scope, *, name: str | None = None,
                        settings_changes: dict[str, Any] | None = None) -> Tenant:
    scope.require("tenancy:write")
    async with db.tenant_tx(scope):
        tenant = await Tenant.get(id=scope.tenant_id)
        if name is not None:
            tenant.name = rules.check_name(name)
        tenant.settings = rules.merge_settings(tenant.settings, settings_changes or {})
        await tenant.save(update_fields=["name", "settings"])
        await publish(events.TENANT_UPDATED, {"name": tenant.name, "settings": tenant.settings},
                      scope=scope)
        return tenant


# --- members -------------------------------------------------------------------------------

async def list_members(scope: Scope, page: PageArgs, *, role: str | None = None) -> Page[Membership]:
    scope.require("tenancy:read")
    async with db.tenant_tx(scope):
        qs = Membership.filter(tenant_id=scope.tenant_id)
        if role is not None:
            qs = qs.filter(role=rules.check_role(role))
        return await paginate(qs, page, settings().max_page_size)


async def memberships_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Membership]:
    async with db.tenant_tx(scope):
        rows = await Membership.filter(tenant_id=scope.tenant_id, id__in=list(ids))
    return {m.id: m for m in rows}


async def users_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, User]:
    """Only users who are members of the scope's tenant are visible to it."""
    async with db.tenant_tx(scope):
        member_ids = await Membership.filter(tenant_id=scope.tenant_id, user_id__in=list(ids)
                                             ).values_list("user_id", flat=True)
        rows = await User.filter(id__in=list(member_ids))
    return {u.id: u for u in rows}


async def viewer_memberships(scope: Scope) -> list[Membership]:
    """Every tenant the acting user belongs to (the identity plane: crosses tenants)."""
    if scope.user_id is None:
        return []
    async with db.identity_tx():
        return list(await Membership.filter(user_id=scope.user_id).order_by("created_at")
                    .prefetch_related("tenant"))


async def _membership_for_update(scope: Scope, membership_id: UUID) -> Membership:
    query = Membership.filter(tenant_id=scope.tenant_id, id=membership_id)
    if db.dialect() == "postgres":
        query = query.select_for_update()
    membership = await query.first()
    if membership is None:
        raise NotFound("No such member.", field="membershipId")
    return membership


async def _check_admins_remain(scope: Scope, membership: Membership) -> None:
    if membership.role != "admin":
        return
    admins = Membership.filter(tenant_id=scope.tenant_id, role="admin")
    if db.dialect() == "postgres":
        # Lock every admin row so two concurrent demotions cannot both pass the check.
        admins = admins.select_for_update()
    if len(await admins) <= 1:
        raise LastAdmin("A tenant keeps at least one admin.", field="membershipId")


async def update_member_role(scope: Scope, *, membership_id: UUID, role: str) -> Membership:
    scope.require("tenancy:write")
    rules.check_role(role)
    async with db.tenant_tx(scope):
        membership = await _membership_for_update(scope, membership_id)
        if membership.role == role:
            return membership
        if role != "admin":
            await _check_admins_remain(scope, membership)
        previous, membership.role = membership.role, role
        await membership.save(update_fields=["role"])
        await revoke_member_sessions(tenant_id=scope.tenant_id, user_id=membership.user_id,
                                     reason="role_changed")
        await publish(events.MEMBER_ROLE_UPDATED, {"membershipId": str(membership.id),
                      "from": previous, "to": role}, scope=scope)
        return membership


async def remove_member(scope: Scope, *, membership_id: UUID) -> UUID:
    scope.require("tenancy:write")
    async with db.tenant_tx(scope):
        membership = await _membership_for_update(scope, membership_id)
        await _check_admins_remain(scope, membership)
        await membership.delete()
        await revoke_member_sessions(tenant_id=scope.tenant_id, user_id=membership.user_id,
                                     reason="removed")
        await publish(events.MEMBER_REMOVED, {"membershipId": str(membership.id),
                      "userId": str(membership.user_id)}, scope=scope)
        return membership.id


# --- invites -------------------------------------------------------------------------------

async def invite_member(scope: Scope, *, email: str, role: str) -> tuple[Invite, str]:
    """Returns the invite and its token; the token is shown once and stored hashed."""
    scope.require("tenancy:write")
    email = rules.normalise_email(email)
    rules.check_role(role)
    now = clock.now()
    async with db.tenant_tx(scope):
        member = await Membership.filter(tenant_id=scope.tenant_id, user__email=email).exists()
        if member:
            raise Duplicate("This person is a member already.", field="email",
                            code="ALREADY_MEMBER")
        pending = await Invite.filter(tenant_id=scope.tenant_id, email=email, accepted_at=None,
                                      revoked_at=None, expires_at__gt=now).exists()
        if pending:
            raise Duplicate("This person has a pending invite already.", field="email")
        token = new_token(INVITE_PREFIX)
        invite = await Invite.create(
            tenant_id=scope.tenant_id, email=email, role=role, token_hash=digest(token),
            invited_by_id=scope.user_id,
            expires_at=now + timedelta(seconds=settings().invite_ttl_seconds),
        )
        await publish(events.MEMBER_INVITED, {"inviteId": str(invite.id), "email": email,
                      "role": role}, scope=scope)
        return invite, token


async def list_invites(scope: Scope, page: PageArgs) -> Page[Invite]:
    scope.require("tenancy:write")
    async with db.tenant_tx(scope):
        qs = Invite.filter(tenant_id=scope.tenant_id, accepted_at=None, revoked_at=None,
                           expires_at__gt=clock.now())
        return await paginate(qs, page, settings().max_page_size)


async def invites_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Invite]:
    if not scope.can("tenancy:write"):
        return {}
    async with db.tenant_tx(scope):
        return {i.id: i for i in await Invite.filter(tenant_id=scope.tenant_id, id__in=list(ids))}


async def revoke_invite(scope: Scope, *, invite_id: UUID) -> Invite:
    scope.require("tenancy:write")
    async with db.tenant_tx(scope):
        invite = await Invite.get_or_none(tenant_id=scope.tenant_id, id=invite_id)
        if invite is None:
            raise NotFound("No such invite.", field="inviteId")
        if invite.revoked_at is None and invite.accepted_at is None:
            invite.revoked_at = clock.now()
            await invite.save(update_fields=["revoked_at"])
            await publish(events.INVITE_REVOKED, {"inviteId": str(invite.id)}, scope=scope)
        return invite


async def accept_invite(*, token: str, name: str | None, password: str) -> IssuedSession:
    """New people set a name and password; existing users prove themselves with theirs,
    under the same throttle as login."""
    try:
        return await _accept_invite(token=token, name=name, password=password)
    except InvalidCredentials as exc:
        if exc.email:
            await sessions.record_login_failure(exc.email)
        raise


async def _accept_invite(*, token: str, name: str | None, password: str) -> IssuedSession:
    now = clock.now()
    async with db.identity_tx():
        query = Invite.filter(token_hash=digest(token or ""))
        if db.dialect() == "postgres":
            query = query.select_for_update()
        invite = await query.first()
        if invite is None or invite.accepted_at or invite.revoked_at or invite.expires_at <= now:
            raise InvalidToken("This invite is unknown, used, revoked or expired.", field="token")
        user = await User.get_or_none(email=invite.email)
        if user is None:
            rules.check_password(password)
            user = await User.create(email=invite.email, name=rules.check_name(name or ""),
                                     password_hash=hash_password(password))
        elif await sessions.throttled(user.email):
            raise TooManyAttempts("Too many failed attempts; try again in a few minutes.",
                                  field="password")
        elif not verify_password(user.password_hash, password):
            error = InvalidCredentials("Enter the password of your existing account.",
                                       field="password")
            error.email = user.email
            raise error
        try:
            membership = await Membership.create(tenant_id=invite.tenant_id,
                                                 user_id=user.id, role=invite.role)
        except IntegrityError as exc:
            raise Duplicate("You are a member already.", field="token",
                            code="ALREADY_MEMBER") from exc
        invite.accepted_at = now
        await invite.save(update_fields=["accepted_at"])
        await publish(events.INVITE_ACCEPTED, {"inviteId": str(invite.id),
                      "membershipId": str(membership.id)}, tenant_id=invite.tenant_id)
        tenant = await Tenant.get(id=invite.tenant_id)
        return await issue_session(user, tenant, membership.role)


# --- API keys ------------------------------------------------------------------------------

async def create_api_key(scope: Scope, *, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Returns the key and its secret; the secret is shown once and stored hashed."""
    scope.require("tenancy:write")
    name = rules.check_name(name, max_length=100)
    granted = rules.check_api_key_scopes(scopes)
    async with db.tenant_tx(scope):
        key = ApiKey(tenant_id=scope.tenant_id, name=name, scopes=granted,
                     created_by_id=scope.user_id, secret_hash="")
        secret = new_token(f"{API_KEY_PREFIX}{key.id.hex}")
        key.secret_hash = digest(secret)
        await key.save()
        await publish(events.API_KEY_CREATED, {"apiKeyId": str(key.id), "scopes": granted},
                      scope=scope)
        return key, secret


async def list_api_keys(scope: Scope, page: PageArgs) -> Page[ApiKey]:
    scope.require("tenancy:write")
    async with db.tenant_tx(scope):
        return await paginate(ApiKey.filter(tenant_id=scope.tenant_id), page,
                              settings().max_page_size)


async def api_keys_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, ApiKey]:
    if not scope.can("tenancy:write"):
        return {}
    async with db.tenant_tx(scope):
        return {k.id: k for k in await ApiKey.filter(tenant_id=scope.tenant_id, id__in=list(ids))}


async def revoke_api_key(scope: Scope, *, api_key_id: UUID) -> ApiKey:
    scope.require("tenancy:write")
    async with db.tenant_tx(scope):
        key = await ApiKey.get_or_none(tenant_id=scope.tenant_id, id=api_key_id)
        if key is None:
            raise NotFound("No such API key.", field="apiKeyId")
        if key.revoked_at is None:
            key.revoked_at = clock.now()
            await key.save(update_fields=["revoked_at"])
            await publish(events.API_KEY_REVOKED, {"apiKeyId": str(key.id)}, scope=scope)
        return key

