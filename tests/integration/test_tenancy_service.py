"""Tenancy's rules at the service level, without HTTP: last admin, expiry, events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.core import clock, db
from domain.core.clock import FrozenClock, use_clock
from domain.core.errors import Forbidden, NotFound, Unauthenticated
from domain.core.pagination import PageArgs
from domain.events.models import OutboxEvent
from domain.tenancy import events, service, sessions
from domain.tenancy.errors import Duplicate, InvalidToken, LastAdmin
from domain.tenancy.models import AuthSession, Membership
from tests.conftest import PASSWORD


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    """The process clock frozen at the real now; the old clock comes back afterwards."""
    fixed = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    previous = use_clock(fixed)
    try:
        yield fixed
    finally:
        use_clock(previous)


async def outbox(world: Any, name: str) -> list[OutboxEvent]:
    async with db.system_tenant_tx(str(world.tenant.id)):
        return list(await OutboxEvent.filter(tenant_id=world.tenant.id, name=name)
                    .order_by("created_at"))


async def role_of(world: Any, membership_id: Any) -> str | None:
    async with db.system_tenant_tx(str(world.tenant.id)):
        row = await Membership.get_or_none(id=membership_id)
    return row.role if row else None


async def live_sessions(world: Any, role: str) -> int:
    async with db.identity_tx():
        return await AuthSession.filter(tenant_id=world.tenant.id,
                                        user_id=world.members[role].user_id,
                                        revoked_at=None).count()


# --- the last-admin rule ---------------------------------------------------------------------

async def test_the_only_admin_can_be_neither_demoted_nor_removed(world):
    scope = await world.scope()
    with pytest.raises(LastAdmin) as demoted:
        await service.update_member_role(scope, membership_id=world.admin.membership_id,
                                         role="viewer")
    assert (demoted.value.code, demoted.value.field) == ("LAST_ADMIN", ["membershipId"])
    with pytest.raises(LastAdmin):
        await service.remove_member(scope, membership_id=world.admin.membership_id)
    assert await role_of(world, world.admin.membership_id) == "admin"
    assert await live_sessions(world, "admin") == 1
    assert await outbox(world, events.MEMBER_ROLE_UPDATED) == []
    assert await outbox(world, events.MEMBER_REMOVED) == []


async def test_the_rule_counts_admins_not_members(world):
    scope = await world.scope()
    await service.update_member_role(scope, membership_id=world.members["recruiter"].membership_id,
                                     role="admin")
    await service.update_member_role(scope, membership_id=world.admin.membership_id,
                                     role="viewer")
    assert await role_of(world, world.admin.membership_id) == "viewer"
    # The former recruiter is now the only admin, and protected in turn.
    with pytest.raises(LastAdmin):
        await service.remove_member(scope,
                                    membership_id=world.members["recruiter"].membership_id)
    # Non-admins are removed freely, whatever their number.
    removed = await service.remove_member(scope, membership_id=world.admin.membership_id)
    assert removed == world.admin.membership_id
    assert await role_of(world, world.admin.membership_id) is None


async def test_a_role_change_revokes_the_members_sessions_and_is_published(world):
    scope = await world.scope()
    target = world.members["sourcer"]
    assert await live_sessions(world, "sourcer") == 1
    await service.update_member_role(scope, membership_id=target.membership_id,
                                     role="coordinator")
    assert await live_sessions(world, "sourcer") == 0
    with pytest.raises(Unauthenticated):
        await sessions.scope_from_access_token(target.token)
    [event] = await outbox(world, events.MEMBER_ROLE_UPDATED)
    assert event.payload == {"membershipId": str(target.membership_id), "from": "sourcer",
                             "to": "coordinator"}
    assert event.actor == f"user:{world.admin.user_id}"


async def test_tenancy_writes_need_the_admin_permission(world):
    scope = await world.scope("recruiter")
    with pytest.raises(Forbidden):
        await service.update_member_role(scope, membership_id=world.admin.membership_id,
                                         role="viewer")
    with pytest.raises(Forbidden):
        await service.invite_member(scope, email="x@example.com", role="viewer")
    with pytest.raises(Forbidden):
        await service.list_invites(scope, PageArgs())
    assert await role_of(world, world.admin.membership_id) == "admin"


async def test_another_tenants_member_is_not_found(world, other_world):
    with pytest.raises(NotFound) as missing:
        await service.remove_member(await world.scope(),
                                    membership_id=other_world.members["viewer"].membership_id)
    assert missing.value.field == ["membershipId"]
    assert await role_of(other_world, other_world.members["viewer"].membership_id) == "viewer"


# --- invite expiry ---------------------------------------------------------------------------

async def test_an_invite_can_be_accepted_until_it_expires(world, settings, frozen):
    scope = await world.scope()
    invite, token = await service.invite_member(scope, email=f"late-{uuid4().hex}@example.com",
                                                role="viewer")
    assert invite.expires_at == frozen.at + timedelta(seconds=settings.invite_ttl_seconds)
    frozen.advance(seconds=settings.invite_ttl_seconds - 1)
    issued = await service.accept_invite(token=token, name="Just In Time",
                                         password="long-enough-password")
    assert issued.role == "viewer" and issued.tenant.id == world.tenant.id


async def test_an_expired_invite_is_invalid_and_no_longer_pending(world, settings, frozen):
    scope = await world.scope()
    email = f"late-{uuid4().hex}@example.com"
    _, token = await service.invite_member(scope, email=email, role="viewer")
    with pytest.raises(Duplicate):
        await service.invite_member(scope, email=email, role="viewer")

    frozen.advance(seconds=settings.invite_ttl_seconds)  # expires_at <= now: expired
    with pytest.raises(InvalidToken) as expired:
        await service.accept_invite(token=token, name="Too Late", password="long-enough-password")
    assert expired.value.field == ["token"]
    async with db.tenant_tx(scope):
        assert not await Membership.filter(tenant_id=world.tenant.id,
                                           user__email=email).exists()
    # An expired invite does not block a new one, which works.
    _, fresh = await service.invite_member(scope, email=email, role="recruiter")
    issued = await service.accept_invite(token=fresh, name="Second Try",
                                         password="long-enough-password")
    assert issued.role == "recruiter"


async def test_expired_invites_are_not_listed_as_pending(world, settings, frozen):
    scope = await world.scope()
    await service.invite_member(scope, email=f"old-{uuid4().hex}@example.com", role="viewer")
    frozen.advance(seconds=settings.invite_ttl_seconds + 1)
    page = await service.list_invites(scope, PageArgs())
    assert page.items == []


# --- session expiry --------------------------------------------------------------------------

async def test_a_refresh_token_works_until_it_expires(world, settings, frozen):
    issued = await sessions.login(email=world.members["viewer"].email, password=PASSWORD)
    assert issued.refresh_token_expires_at == frozen.at + timedelta(
        seconds=settings.refresh_token_ttl_seconds)
    frozen.advance(seconds=settings.refresh_token_ttl_seconds - 1)
    rotated = await sessions.refresh_session(refresh_token=issued.refresh_token)
    frozen.advance(seconds=settings.refresh_token_ttl_seconds)
    with pytest.raises(InvalidToken) as expired:
        await sessions.refresh_session(refresh_token=rotated.refresh_token)
    assert expired.value.field == ["refreshToken"]


async def test_an_expired_refresh_token_is_refused_but_does_not_count_as_reuse(
        world, settings, frozen):
    issued = await sessions.login(email=world.members["viewer"].email, password=PASSWORD)
    frozen.advance(seconds=settings.refresh_token_ttl_seconds + 1)
    with pytest.raises(InvalidToken):
        await sessions.refresh_session(refresh_token=issued.refresh_token)
    async with db.identity_tx():
        session = await AuthSession.filter(user_id=world.members["viewer"].user_id
                                           ).order_by("-created_at").first()
    assert session is not None and session.revoked_at is None


async def test_an_access_token_expires_after_its_lifetime(world, settings, frozen):
    issued = await sessions.login(email=world.members["coordinator"].email, password=PASSWORD)
    scope = await sessions.scope_from_access_token(issued.access_token)
    assert scope.role == "coordinator" and scope.tenant_id == world.tenant.id
    frozen.advance(seconds=settings.access_token_ttl_seconds)
    with pytest.raises(Unauthenticated):
        await sessions.scope_from_access_token(issued.access_token)


async def test_reusing_a_spent_refresh_token_revokes_the_session(world):
    issued = await sessions.login(email=world.members["sourcer"].email, password=PASSWORD)
    rotated = await sessions.refresh_session(refresh_token=issued.refresh_token)
    with pytest.raises(InvalidToken):
        await sessions.refresh_session(refresh_token=issued.refresh_token)
    with pytest.raises(InvalidToken):
        await sessions.refresh_session(refresh_token=rotated.refresh_token)
    with pytest.raises(Unauthenticated):
        await sessions.scope_from_access_token(rotated.access_token)
    async with db.identity_tx():
        session = await AuthSession.filter(user_id=world.members["sourcer"].user_id
                                           ).order_by("-created_at").first()
    assert session is not None and session.revoked_reason == "refresh_reuse"


# --- events ----------------------------------------------------------------------------------

async def test_inviting_publishes_member_invited(world, other_world, queue):
    scope = await world.scope()
    email = f"event-{uuid4().hex}@example.com"
    invite, _ = await service.invite_member(scope, email=email.upper(), role="hiring_manager")
    [event] = await outbox(world, events.MEMBER_INVITED)
    assert event.tenant_id == world.tenant.id
    assert event.payload == {"inviteId": str(invite.id), "email": email,
                             "role": "hiring_manager"}
    assert event.actor == f"user:{world.admin.user_id}"
    assert await outbox(other_world, events.MEMBER_INVITED) == []
    await queue.drain()


async def test_a_refused_invite_publishes_nothing(world, queue):
    scope = await world.scope()
    with pytest.raises(Duplicate) as member:
        await service.invite_member(scope, email=world.members["viewer"].email, role="viewer")
    assert member.value.code == "ALREADY_MEMBER"
    assert await outbox(world, events.MEMBER_INVITED) == []


async def test_accepting_and_revoking_publish_their_events(world, queue):
    scope = await world.scope()
    invite, token = await service.invite_member(scope, email=f"e-{uuid4().hex}@example.com",
                                                role="viewer")
    await service.accept_invite(token=token, name="Eve", password="long-enough-password")
    [accepted] = await outbox(world, events.INVITE_ACCEPTED)
    assert accepted.payload["inviteId"] == str(invite.id)
    assert accepted.actor is None
    async with db.tenant_tx(scope):
        membership = await Membership.get(id=accepted.payload["membershipId"])
    assert membership.role == "viewer"

    second, _ = await service.invite_member(scope, email=f"f-{uuid4().hex}@example.com",
                                            role="viewer")
    await service.revoke_invite(scope, invite_id=second.id)
    await service.revoke_invite(scope, invite_id=second.id)  # again: no second event
    assert [e.payload for e in await outbox(world, events.INVITE_REVOKED)] == [
        {"inviteId": str(second.id)}]
    await queue.drain()


async def test_api_key_events_name_the_key_and_scopes(world, queue):
    scope = await world.scope()
    key, _ = await service.create_api_key(scope, name="k", scopes=["prospects:read", "ats:write"])
    [created] = await outbox(world, events.API_KEY_CREATED)
    assert created.payload == {"apiKeyId": str(key.id), "scopes": ["ats:write", "prospects:read"]}
    await service.revoke_api_key(scope, api_key_id=key.id)
    [revoked] = await outbox(world, events.API_KEY_REVOKED)
    assert revoked.payload == {"apiKeyId": str(key.id)}
    await queue.drain()


async def test_updating_the_tenant_publishes_its_new_state(world, queue):
    scope = await world.scope()
    await service.update_tenant(scope, name="Renamed", settings_changes={"timeZone": "Asia/Tokyo"})
    [event] = await outbox(world, events.TENANT_UPDATED)
    assert event.payload == {"name": "Renamed",
                             "settings": {"timeZone": "Asia/Tokyo", "engagementPolicy": "warn"}}
    await queue.drain()


async def test_clock_fixture_restores_the_real_clock():
    # Guards the fixture itself: after a frozen test, time moves again.
    assert not isinstance(clock.clock, FrozenClock)
