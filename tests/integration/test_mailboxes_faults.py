"""Provider faults, each kind, for Gmail, Graph and SMTP: retryable with retry_after, back-off
without disconnecting, needs_reconnect with a notification, permanent failures; and secrets
never in logs or error messages."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from domain.core import clock, db
from domain.core.clock import FrozenClock
from domain.mailboxes import sending, service
from domain.mailboxes.errors import FinalSendError, RetryableSendError
from domain.mailboxes.sending import SenderChoice
from domain.prospects.models import Notification
from tests.conftest import World
from tests.mailboxes_support import connect, expire_token, mail_fixture, row, secrets_of  # noqa: F401

pytestmark = pytest.mark.usefixtures("mail")

ACCOUNTS = {"google": "rita@gmail.test", "microsoft": "rita@outlook.test"}


async def send(scope, mailbox_id):
    return await sending.send_message(scope, sender=SenderChoice("own", mailbox_id),
                                      to="ada@example.org", subject="Hello", text="body")


async def notifications(world: World) -> list[Notification]:
    async with db.system_tenant_tx(str(world.tenant.id)):
        return list(await Notification.filter(tenant_id=world.tenant.id))


@pytest.mark.parametrize("provider", ["google", "microsoft"])
async def test_429_is_retryable_with_retry_after_and_pauses_the_mailbox(mail, world: World,
                                                                        provider: str):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, provider, ACCOUNTS[provider])
    mail.fault(provider, "429", endpoint="send", retry_after=7)
    with pytest.raises(RetryableSendError) as caught:
        await send(scope, mailbox.id)
    assert caught.value.retry_after == 7.0 and caught.value.code == "RATE_LIMITED"
    stored = await row(world.tenant.id, mailbox.id)
    assert stored.status == "connected" and stored.consecutive_failures == 1
    assert stored.paused_until is not None
    with pytest.raises(RetryableSendError) as paused:  # backing off: not even tried
        await send(scope, mailbox.id)
    assert paused.value.code == "MAILBOX_PAUSED" and 0 < paused.value.retry_after <= 7
    assert mail.messages(provider) == []
    assert (await service.sends_today(scope, [mailbox.id])).get(mailbox.id, 0) == 0
    previous = clock.use_clock(FrozenClock(clock.now() + timedelta(seconds=8)))
    try:
        await send(scope, mailbox.id)
    finally:
        clock.use_clock(previous)
    stored = await row(world.tenant.id, mailbox.id)
    assert stored.consecutive_failures == 0 and stored.paused_until is None
    assert stored.last_error is not None  # kept for the health view


@pytest.mark.parametrize("provider", ["google", "microsoft"])
async def test_quota_backs_off_and_stays_connected(mail, world: World, provider: str):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, provider, ACCOUNTS[provider])
    mail.fault(provider, "quota", endpoint="send", retry_after=30)
    with pytest.raises(RetryableSendError) as caught:
        await send(scope, mailbox.id)
    assert caught.value.code == "RATE_LIMITED" and caught.value.retry_after == 30.0
    stored = await row(world.tenant.id, mailbox.id)
    assert stored.status == "connected" and "rate limited" in (stored.last_error or "")
    assert await notifications(world) == []


@pytest.mark.parametrize("provider", ["google", "microsoft"])
async def test_500_is_retryable_and_counted(mail, world: World, provider: str):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, provider, ACCOUNTS[provider])
    mail.fault(provider, "500", endpoint="send", count=2)
    for expected in (1, 2):
        with pytest.raises(RetryableSendError) as caught:
            await send(scope, mailbox.id)
        assert caught.value.code == "SEND_RETRYABLE" and caught.value.retry_after is None
        stored = await row(world.tenant.id, mailbox.id)
        assert stored.consecutive_failures == expected
        assert stored.last_error == "provider answered 500" and stored.status == "connected"
    await send(scope, mailbox.id)
    assert (await row(world.tenant.id, mailbox.id)).consecutive_failures == 0


@pytest.mark.parametrize("provider", ["google", "microsoft"])
async def test_timeout_is_retryable(mail, world: World, provider: str):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, provider, ACCOUNTS[provider])
    mail.fault(provider, "timeout", endpoint="send", delay_seconds=3)
    with pytest.raises(RetryableSendError) as caught:
        await send(scope, mailbox.id)
    assert caught.value.code == "SEND_RETRYABLE"
    stored = await row(world.tenant.id, mailbox.id)
    assert stored.last_error == "the provider timed out" and stored.status == "connected"


@pytest.mark.parametrize("provider", ["google", "microsoft"])
async def test_not_enabled_is_permanent(mail, world: World, provider: str):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, provider, ACCOUNTS[provider])
    mail.fault(provider, "not_enabled", endpoint="send")
    with pytest.raises(FinalSendError) as caught:
        await send(scope, mailbox.id)
    assert caught.value.code == "MAILBOX_NOT_ENABLED"
    assert (await row(world.tenant.id, mailbox.id)).status == "connected"


async def test_smtp_faults(mail, world: World):
    scope = await world.scope("recruiter")
    mail.create_account("smtp", "rita@smtp.test", password="smtp-secret-1")
    mailbox = await service.connect_smtp(scope, address="rita@smtp.test", host="127.0.0.1",
                                         port=mail.smtp_port, tls="none",
                                         username="rita@smtp.test", password="smtp-secret-1")
    mail.fault("smtp", "429", endpoint="send")
    with pytest.raises(RetryableSendError):
        await send(scope, mailbox.id)
    mail.fault("smtp", "invalid_grant", endpoint="token")
    with pytest.raises(FinalSendError) as caught:
        await send(scope, mailbox.id)
    assert caught.value.code == "NEEDS_RECONNECT"
    assert (await row(world.tenant.id, mailbox.id)).status == "needs_reconnect"
    assert [n.kind for n in await notifications(world)] == ["mailbox_needs_reconnect"]


@pytest.mark.parametrize("provider", ["google", "microsoft"])
async def test_revoked_grant_marks_needs_reconnect_and_notifies_the_owner(mail, world: World,
                                                                          provider: str):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, provider, ACCOUNTS[provider])
    mail.revoke(provider, ACCOUNTS[provider])
    with pytest.raises(FinalSendError) as caught:  # 401, refresh -> invalid_grant
        await send(scope, mailbox.id)
    assert caught.value.code == "NEEDS_RECONNECT"
    stored = await row(world.tenant.id, mailbox.id)
    assert stored.status == "needs_reconnect" and "invalid_grant" in (stored.last_error or "")
    [note] = await notifications(world)
    assert note.user_id == world.members["recruiter"].user_id
    assert note.kind == "mailbox_needs_reconnect"
    assert note.payload == {"mailboxId": str(mailbox.id), "address": ACCOUNTS[provider],
                            "provider": provider,
                            "reconnectUrl": f"http://127.0.0.1:8000/settings/mailboxes?reconnect="
                                            f"{mailbox.id}"}
    calls = mail.grants(provider, ACCOUNTS[provider])["failedRefreshes"]
    with pytest.raises(FinalSendError) as again:  # paused: the provider is not called again
        await send(scope, mailbox.id)
    assert again.value.code == "NEEDS_RECONNECT"
    assert mail.grants(provider, ACCOUNTS[provider])["failedRefreshes"] == calls
    assert len(await notifications(world)) == 1
    # Reconnecting through OAuth brings it back, same row.
    back = await connect(scope, provider, ACCOUNTS[provider])
    assert back.id == mailbox.id and back.status == "connected"
    await send(scope, mailbox.id)


async def test_microsoft_reconsent_on_refresh_marks_needs_reconnect(mail, world: World):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "microsoft", ACCOUNTS["microsoft"])
    await expire_token(world.tenant.id, mailbox.id)
    mail.fault("microsoft", "reconsent", endpoint="token")
    with pytest.raises(FinalSendError) as caught:
        await send(scope, mailbox.id)
    assert caught.value.code == "NEEDS_RECONNECT"
    stored = await row(world.tenant.id, mailbox.id)
    assert stored.status == "needs_reconnect" and "AADSTS65001" in (stored.last_error or "")


async def test_token_endpoint_outage_is_retryable_and_keeps_the_mailbox(mail, world: World):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "microsoft", ACCOUNTS["microsoft"])
    before = await secrets_of(world.tenant.id, mailbox.id)
    await expire_token(world.tenant.id, mailbox.id)
    mail.fault("microsoft", "500", endpoint="token")
    with pytest.raises(RetryableSendError):
        await send(scope, mailbox.id)
    assert (await row(world.tenant.id, mailbox.id)).status == "connected"
    assert (await secrets_of(world.tenant.id, mailbox.id)) == before
    await send(scope, mailbox.id)


async def test_secrets_never_reach_logs_or_errors(mail, world: World, caplog):
    caplog.set_level(logging.DEBUG)
    scope = await world.scope("recruiter")
    seen: list[str] = []
    mailbox = await connect(scope, "microsoft", ACCOUNTS["microsoft"])
    seen += [v for v in (await secrets_of(world.tenant.id, mailbox.id)).values() if v]
    await expire_token(world.tenant.id, mailbox.id)
    await send(scope, mailbox.id)
    seen += [v for v in (await secrets_of(world.tenant.id, mailbox.id)).values() if v]
    mail.fault("microsoft", "500", endpoint="send")
    errors: list[str] = []
    try:
        await send(scope, mailbox.id)
    except RetryableSendError as exc:
        errors.append(str(exc))
    mail.revoke("microsoft", ACCOUNTS["microsoft"])
    try:
        await send(scope, mailbox.id)
    except FinalSendError as exc:
        errors.append(str(exc))
    stored = await row(world.tenant.id, mailbox.id)
    text = caplog.text + "".join(errors) + (stored.last_error or "")
    assert len(set(seen)) == 4 and len(errors) == 2  # two access and two refresh tokens
    for secret in seen:
        assert secret not in text
        assert secret not in repr(stored.__dict__)
