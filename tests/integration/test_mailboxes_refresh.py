"""Token refresh: ahead of expiry and on a 401, single-flight per mailbox (an asyncio lock, or
a Redis lock across processes), Microsoft's rotating refresh tokens persisted, Google's kept;
secrets re-encrypted lazily under a rotated ENCRYPTION_KEYS."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from domain.core import config, db
from domain.mailboxes import sending, tokens, vault
from domain.mailboxes.models import Mailbox
from domain.mailboxes.sending import SenderChoice
from tests.conftest import REDIS_URL, World
from tests.mailboxes_support import connect, expire_token, mail_fixture, row, secrets_of  # noqa: F401

pytestmark = pytest.mark.usefixtures("mail")


async def send(scope, mailbox_id, n: int = 0):
    return await sending.send_message(scope, sender=SenderChoice("own", mailbox_id),
                                      to=f"p{n}@example.org", subject=f"Hello {n}", text="body")


@pytest.mark.parametrize("redis_lock", [False, True])
async def test_concurrent_sends_with_an_expired_token_refresh_exactly_once(
        mail, world: World, redis_lock: bool):
    if redis_lock:
        config.configure(dataclasses.replace(config.settings(), redis_url=REDIS_URL))
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "microsoft", "rita@outlook.test")
    before = await secrets_of(world.tenant.id, mailbox.id)
    await expire_token(world.tenant.id, mailbox.id)
    results = await asyncio.gather(*(send(scope, mailbox.id, n) for n in range(6)))
    assert len({r.message_id for r in results}) == 6
    counts = mail.grants("microsoft", "rita@outlook.test")
    assert (counts["refreshes"], counts["failedRefreshes"]) == (1, 0)
    after = await secrets_of(world.tenant.id, mailbox.id)
    # Microsoft rotated the refresh token: the new one is stored, the old one is dead.
    assert after["refresh_token_enc"] != before["refresh_token_enc"]
    assert after["access_token_enc"] != before["access_token_enc"]
    assert (await row(world.tenant.id, mailbox.id)).status == "connected"
    assert len(mail.messages("microsoft", "rita@outlook.test")) == 6
    # And the rotated token works for the next refresh.
    await expire_token(world.tenant.id, mailbox.id)
    await send(scope, mailbox.id, 99)
    assert mail.grants("microsoft", "rita@outlook.test")["refreshes"] == 2


async def test_a_second_process_uses_the_token_the_first_one_stored(mail, world: World):
    """The re-read after taking the lock: a caller that saw the old token as stale does not
    refresh again once someone else has (that would burn Microsoft's single-use token)."""
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "microsoft", "rita@outlook.test")
    old = (await secrets_of(world.tenant.id, mailbox.id))["access_token_enc"]
    assert old is not None
    await expire_token(world.tenant.id, mailbox.id)
    fresh = await tokens.access_token(world.tenant.id, mailbox.id)
    again = await tokens.access_token(world.tenant.id, mailbox.id, stale=old)
    assert fresh == again != old
    assert mail.grants("microsoft", "rita@outlook.test")["refreshes"] == 1


async def test_google_keeps_the_refresh_token_when_none_is_returned(mail, world: World):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "google", "rita@gmail.test")
    before = await secrets_of(world.tenant.id, mailbox.id)
    await expire_token(world.tenant.id, mailbox.id)
    await send(scope, mailbox.id)
    after = await secrets_of(world.tenant.id, mailbox.id)
    assert after["refresh_token_enc"] == before["refresh_token_enc"]
    assert after["access_token_enc"] != before["access_token_enc"]
    assert mail.grants("google", "rita@gmail.test")["refreshes"] == 1


@pytest.mark.parametrize("provider", ["google", "microsoft"])
async def test_a_401_refreshes_and_retries_once(mail, world: World, provider: str):
    address = f"rita@{'gmail' if provider == 'google' else 'outlook'}.test"
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, provider, address)
    mail.fault(provider, "invalid_grant", endpoint="send")  # the API answers 401 once
    result = await send(scope, mailbox.id)
    assert mail.grants(provider, address)["refreshes"] == 1
    assert [m["messageId"] for m in mail.messages(provider, address)] == [result.message_id]
    assert (await row(world.tenant.id, mailbox.id)).status == "connected"


async def test_an_expired_access_token_at_the_provider_is_refreshed(mail, world: World):
    mail.settings(access_token_ttl=1)
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "google", "rita@gmail.test")
    await asyncio.sleep(1.2)
    # Our side still believes the token is valid for long: the 401 path refreshes.
    async with db.system_tenant_tx(str(world.tenant.id)):
        stored = await Mailbox.get(tenant_id=world.tenant.id, id=mailbox.id)
        assert stored.token_expires_at is not None
    from datetime import timedelta

    async with db.system_tenant_tx(str(world.tenant.id)):
        await Mailbox.filter(tenant_id=world.tenant.id, id=mailbox.id).update(
            token_expires_at=stored.token_expires_at + timedelta(hours=1))
    mail.settings(access_token_ttl=3600)
    await send(scope, mailbox.id)
    assert mail.grants("google", "rita@gmail.test")["refreshes"] == 1


async def test_secrets_are_reencrypted_lazily_after_key_rotation(mail, world: World):
    from cryptography.fernet import Fernet

    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "google", "rita@gmail.test")
    before = await secrets_of(world.tenant.id, mailbox.id)
    old_cipher = (await row(world.tenant.id, mailbox.id)).access_token_enc
    current = config.settings()
    new_key = Fernet.generate_key().decode()
    config.configure(dataclasses.replace(current, encryption_keys=(new_key,
                                                                   *current.encryption_keys)))
    assert vault.encryptor().needs_rotation(old_cipher or "")
    await send(scope, mailbox.id)  # reads the token: re-encrypts under the new key
    stored = await row(world.tenant.id, mailbox.id)
    assert not vault.encryptor().needs_rotation(stored.access_token_enc or "")
    assert not vault.encryptor().needs_rotation(stored.refresh_token_enc or "")
    assert await secrets_of(world.tenant.id, mailbox.id) == before
