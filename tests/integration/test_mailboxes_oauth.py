"""Connecting Gmail and Outlook mailboxes through the real OAuth flow against the emulator:
PKCE S256, state bound to the member and single-use, tokens stored encrypted."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from domain.core import clock, db
from domain.core.clock import FrozenClock
from domain.mailboxes import service
from domain.mailboxes.errors import AddressTaken, ConnectionFailed, InvalidState
from domain.mailboxes.models import Mailbox, OAuthState
from tests.conftest import World
from tests.mailboxes_support import authorize, connect, mail_fixture, secrets_of  # noqa: F401

pytestmark = pytest.mark.usefixtures("mail")


async def count_mailboxes(world: World) -> int:
    async with db.system_tenant_tx(str(world.tenant.id)):
        return await Mailbox.filter(tenant_id=world.tenant.id).count()


@pytest.mark.parametrize(("provider", "address", "path"), [
    ("google", "rita@gmail.test", "/google/accounts/o/oauth2/v2/auth"),
    ("microsoft", "rita@outlook.test", "/microsoft/login/common/oauth2/v2.0/authorize"),
])
async def test_connect_with_pkce_stores_encrypted_tokens(mail, world: World, provider: str,
                                                         address: str, path: str):
    scope = await world.scope("recruiter")
    url = await service.start_connection(scope, provider=provider, login_hint=address)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == path and url.startswith(mail.url)
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == f"http://127.0.0.1:8000/oauth/callback/{provider}"
    assert query["state"].startswith(str(world.tenant.id) + ".")
    assert "code_verifier" not in query
    code, state = await authorize(url)
    assert state == query["state"]
    mailbox = await service.finish_connection(provider=provider, code=code, state=state)
    assert (mailbox.provider, mailbox.address, mailbox.status) == (provider, address, "connected")
    assert mailbox.owner_id == world.members["recruiter"].user_id
    secrets = await secrets_of(world.tenant.id, mailbox.id)
    assert secrets["access_token_enc"] and secrets["refresh_token_enc"]
    assert secrets["access_token_enc"] not in (mailbox.access_token_enc or "")
    grants = mail.grants(provider, address)["grants"]
    assert len(grants) == 1 and grants[0]["revoked"] is False


async def test_reused_state_is_refused(mail, world: World):
    scope = await world.scope("recruiter")
    url = await service.start_connection(scope, provider="google", login_hint="a@gmail.test")
    code, state = await authorize(url)
    await service.finish_connection(provider="google", code=code, state=state)
    with pytest.raises(InvalidState) as caught:
        await service.finish_connection(provider="google", code=code, state=state)
    assert caught.value.field == ["state"]


async def test_tampered_state_is_refused_and_nothing_is_stored(mail, world: World):
    scope = await world.scope("recruiter")
    url = await service.start_connection(scope, provider="google", login_hint="b@gmail.test")
    code, state = await authorize(url)
    tenant, nonce, signature = state.split(".")
    for bad in (f"{tenant}.{nonce}x.{signature}", f"{tenant}.{nonce}.{signature[:-2]}AA", "",
                "garbage", state + ".x"):
        with pytest.raises(InvalidState):
            await service.finish_connection(provider="google", code=code, state=bad)
    with pytest.raises(InvalidState):  # a state for google is not one for microsoft
        await service.finish_connection(provider="microsoft", code=code, state=state)
    assert await count_mailboxes(world) == 0
    # The untouched state still works once.
    await service.finish_connection(provider="google", code=code, state=state)
    assert await count_mailboxes(world) == 1


async def test_expired_state_is_refused(mail, world: World):
    scope = await world.scope("recruiter")
    url = await service.start_connection(scope, provider="google", login_hint="c@gmail.test")
    code, state = await authorize(url)
    previous = clock.use_clock(FrozenClock(clock.now() + timedelta(minutes=11)))
    try:
        with pytest.raises(InvalidState):
            await service.finish_connection(provider="google", code=code, state=state)
    finally:
        clock.use_clock(previous)
    assert await count_mailboxes(world) == 0


async def test_state_presented_for_another_tenant_is_refused(mail, world: World,
                                                             other_world: World):
    scope = await world.scope("recruiter")
    url = await service.start_connection(scope, provider="google", login_hint="d@gmail.test")
    code, state = await authorize(url)
    _, nonce, signature = state.split(".")
    with pytest.raises(InvalidState):
        await service.finish_connection(provider="google", code=code,
                                        state=f"{other_world.tenant.id}.{nonce}.{signature}")
    assert await count_mailboxes(world) == 0 and await count_mailboxes(other_world) == 0


async def test_state_of_a_removed_member_is_refused(mail, world: World):
    from domain.tenancy import service as tenancy

    scope = await world.scope("sourcer")
    url = await service.start_connection(scope, provider="google", login_hint="e@gmail.test")
    code, state = await authorize(url)
    await tenancy.remove_member(await world.scope("admin"),
                                membership_id=world.members["sourcer"].membership_id)
    with pytest.raises(InvalidState):
        await service.finish_connection(provider="google", code=code, state=state)
    assert await count_mailboxes(world) == 0


async def test_a_bad_code_fails_cleanly_and_uses_up_the_state(mail, world: World):
    scope = await world.scope("recruiter")
    url = await service.start_connection(scope, provider="microsoft", login_hint="f@outlook.test")
    code, state = await authorize(url)
    with pytest.raises(ConnectionFailed):
        await service.finish_connection(provider="microsoft", code=code + "x", state=state)
    assert await count_mailboxes(world) == 0
    async with db.system_tenant_tx(str(world.tenant.id)):
        assert (await OAuthState.get(tenant_id=world.tenant.id)).used_at is not None


async def test_an_address_connected_by_another_member_is_refused(mail, world: World):
    first = await connect(await world.scope("recruiter"), "google", "shared@gmail.test")
    with pytest.raises(AddressTaken) as caught:
        await connect(await world.scope("sourcer"), "google", "Shared@gmail.test")
    assert caught.value.field == ["address"]
    async with db.system_tenant_tx(str(world.tenant.id)):
        rows = await Mailbox.filter(tenant_id=world.tenant.id)
    assert [(m.id, m.owner_id) for m in rows] == [(first.id, world.members["recruiter"].user_id)]
    # The same member connecting again reuses the row (a reconnect).
    again = await connect(await world.scope("recruiter"), "google", "shared@gmail.test")
    assert again.id == first.id


async def test_the_same_address_in_another_tenant_is_fine(mail, world: World, other_world: World):
    a = await connect(await world.scope("recruiter"), "google", "same@gmail.test")
    b = await connect(await other_world.scope("recruiter"), "google", "same@gmail.test")
    assert a.id != b.id and a.tenant_id != b.tenant_id


async def test_old_handshakes_are_cleaned_up(mail, world: World):
    scope = await world.scope("recruiter")
    await service.start_connection(scope, provider="google")
    previous = clock.use_clock(FrozenClock(clock.now() + timedelta(days=2)))
    try:
        await service.start_connection(scope, provider="microsoft")
    finally:
        clock.use_clock(previous)
    async with db.system_tenant_tx(str(world.tenant.id)):
        assert await OAuthState.filter(tenant_id=world.tenant.id).values_list(
            "provider", flat=True) == ["microsoft"]
