"""The one send path against the emulator: Gmail (raw), Graph (sendMail, 202 without id) and
SMTP; MIME headers and threading; alias and delegated sends; daily limits; bad input."""

from __future__ import annotations

import email
from email.policy import default
from typing import Any
from uuid import UUID

import pytest

from domain.core import db
from domain.core.errors import DomainError, NotFound
from domain.core.pagination import PageArgs
from domain.mailboxes import grants, sending, service
from domain.mailboxes.errors import (
    FinalSendError,
    HeaderInjection,
    MessageTooLarge,
    RetryableSendError,
    SmtpLoginFailed,
)
from domain.mailboxes.mime import Unsubscribe
from domain.mailboxes.models import Mailbox, MailboxSend
from domain.mailboxes.sending import SenderChoice
from domain.mailboxes.system_mail import send_system_mail
from domain.prospects.models import Notification
from tests.conftest import World
from tests.mailboxes_support import (  # noqa: F401
    SYSTEM_ADDRESS,
    SYSTEM_PASSWORD,
    connect,
    mail_fixture,
    row,
)

pytestmark = pytest.mark.usefixtures("mail")


def parsed(message: dict[str, Any]) -> email.message.EmailMessage:
    return email.message_from_string(message["raw"], policy=default)  # type: ignore[return-value]


async def sends(world: World) -> list[MailboxSend]:
    async with db.system_tenant_tx(str(world.tenant.id)):
        return list(await MailboxSend.filter(tenant_id=world.tenant.id).order_by("id"))


async def smtp_mailbox(mail, world: World, role: str = "recruiter",
                       address: str = "rita@smtp.test") -> Mailbox:
    mail.create_account("smtp", address, password="smtp-secret-1")
    return await service.connect_smtp(await world.scope(role), address=address, host="127.0.0.1",
                                      port=mail.smtp_port, tls="none", username=address,
                                      password="smtp-secret-1", display_name="Rita R")


async def test_gmail_send_builds_the_mime_and_threads_follow_ups(mail, world: World):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "google", "rita@gmail.test")
    first = await sending.send_message(
        scope, sender=SenderChoice("own", mailbox.id), to="ada@example.org", to_name="Ada L",
        subject="Hello Ada", text="Plain body", html="<p>HTML body</p>",
        list_unsubscribe=Unsubscribe(url="https://tg.example/u/abc", mailto="unsub@tg.example"))
    assert first.message_id.startswith("<") and first.message_id.endswith("@127.0.0.1>")
    assert first.provider_message_id is not None
    [sent] = mail.messages("google", "rita@gmail.test")
    assert sent["id"] == first.provider_message_id and sent["threadId"] == first.thread_id
    assert sent["messageId"] == first.message_id and sent["to"] == ["ada@example.org"]
    msg = parsed(sent)
    assert msg["From"] == "Recruiter <rita@gmail.test>"
    assert msg["To"] == "Ada L <ada@example.org>"
    assert msg["Subject"] == "Hello Ada"
    assert msg["List-Unsubscribe"] == "<mailto:unsub@tg.example>, <https://tg.example/u/abc>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["In-Reply-To"] is None and msg["Reply-To"] is None
    assert msg.get_body(("plain",)).get_content().strip() == "Plain body"
    assert msg.get_body(("html",)).get_content().strip() == "<p>HTML body</p>"
    second = await sending.send_message(
        scope, sender=SenderChoice("own", mailbox.id), to="ada@example.org", subject="Re: Hello Ada",
        text="Following up", in_reply_to=first.message_id, references=[first.message_id],
        thread_id=first.thread_id)
    assert second.thread_id == first.thread_id and second.message_id != first.message_id
    follow = parsed(next(m for m in mail.messages("google", "rita@gmail.test")
                         if m["messageId"] == second.message_id))
    assert follow["In-Reply-To"] == first.message_id
    assert follow["References"] == first.message_id
    assert follow["List-Unsubscribe"] is None
    recorded = await sends(world)
    assert [(s.mode, s.message_id, s.thread_id) for s in recorded] == [
        ("own", first.message_id, first.thread_id), ("own", second.message_id, first.thread_id)]
    assert (await service.sends_today(scope, [mailbox.id])) == {mailbox.id: 2}


async def test_graph_send_has_no_provider_id_and_our_message_id_is_the_key(mail, world: World):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "microsoft", "rita@outlook.test")
    first = await sending.send_message(scope, sender=SenderChoice("own", mailbox.id),
                                       to="ada@example.org", subject="Hi", html="<b>Hi</b>")
    assert first.provider_message_id is None and first.thread_id == first.message_id
    follow_up = await sending.send_message(
        scope, sender=SenderChoice("own", mailbox.id), to="ada@example.org", subject="Re: Hi",
        text="again", in_reply_to=first.message_id, references=[first.message_id])
    assert follow_up.thread_id == first.message_id
    messages = {m["messageId"]: m for m in mail.messages("microsoft", "rita@outlook.test")}
    assert set(messages) == {first.message_id, follow_up.message_id}
    assert messages[follow_up.message_id]["threadId"] == messages[first.message_id]["threadId"]
    assert messages[follow_up.message_id]["inReplyTo"] == first.message_id


async def test_smtp_send_and_a_failing_login_stores_nothing(mail, world: World):
    scope = await world.scope("recruiter")
    mail.create_account("smtp", "wrong@smtp.test", password="right-password")
    with pytest.raises(SmtpLoginFailed) as caught:
        await service.connect_smtp(scope, address="wrong@smtp.test", host="127.0.0.1",
                                   port=mail.smtp_port, tls="none", username="wrong@smtp.test",
                                   password="not-the-password")
    assert caught.value.field == ["password"] and "not-the-password" not in caught.value.message
    async with db.system_tenant_tx(str(world.tenant.id)):
        assert await Mailbox.filter(tenant_id=world.tenant.id).count() == 0
    mailbox = await smtp_mailbox(mail, world)
    assert (mailbox.provider, mailbox.smtp_host, mailbox.status) == ("smtp", "127.0.0.1", "connected")
    result = await sending.send_message(scope, sender=SenderChoice("own", mailbox.id),
                                        to="ada@example.org", subject="By SMTP", text="hello")
    [sent] = mail.messages("smtp", "rita@smtp.test")
    assert sent["messageId"] == result.message_id and result.provider_message_id is None
    assert parsed(sent)["From"] == "Rita R <rita@smtp.test>"


async def test_system_mail_goes_through_the_system_smtp(mail, world: World):
    mail.create_account("smtp", SYSTEM_ADDRESS, password=SYSTEM_PASSWORD)
    message_id = await send_system_mail("hank@example.org", "Review requested", "Please review.")
    [sent] = mail.messages("smtp", SYSTEM_ADDRESS)
    assert sent["messageId"] == message_id and sent["to"] == ["hank@example.org"]
    assert sent["subject"] == "Review requested"


@pytest.mark.parametrize(("fields", "error", "field"), [
    ({"subject": "Hi\r\nBcc: evil@example.org"}, HeaderInjection, ["subject"]),
    ({"to": "ada@example.org\r\nBcc: evil@example.org"}, HeaderInjection, ["to"]),
    ({"to_name": "Ada\nBcc: evil@example.org"}, HeaderInjection, ["toName"]),
    ({"in_reply_to": "<a@b>\r\nBcc: x@y"}, HeaderInjection, ["inReplyTo"]),
    ({"text": "x" * (5 * 1024 * 1024)}, MessageTooLarge, ["text"]),
    ({"to": "not-an-address"}, DomainError, ["to"]),
    ({"subject": "  "}, DomainError, ["subject"]),
])
async def test_bad_input_is_refused_before_anything_is_sent(mail, world: World, fields, error,
                                                            field):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "google", "rita@gmail.test")
    arguments = {"to": "ada@example.org", "subject": "Hello", "text": "body", **fields}
    with pytest.raises(error) as caught:
        await sending.send_message(scope, sender=SenderChoice("own", mailbox.id), **arguments)
    assert caught.value.field == field
    assert mail.messages("google") == [] and await sends(world) == []
    assert (await service.sends_today(scope, [mailbox.id])) == {}


async def test_hiring_manager_name_in_from_is_checked_for_line_breaks(mail, world: World):
    from domain.tenancy.models import User

    async with db.system_tenant_tx(str(world.tenant.id)):
        await User.filter(id=world.members["hiring_manager"].user_id).update(name="Hank\r\nBcc: x@y")
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "google", "rita@gmail.test")
    with pytest.raises(HeaderInjection):
        await sending.send_message(
            scope, sender=SenderChoice("alias", mailbox.id, world.members["hiring_manager"].user_id),
            to="ada@example.org", subject="Hello", text="body")
    assert mail.messages("google") == []


async def test_daily_limit_refuses_with_a_retryable_error(mail, world: World):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "google", "rita@gmail.test")
    await service.update_mailbox(scope, mailbox_id=mailbox.id, daily_limit=1)
    choice = SenderChoice("own", mailbox.id)
    await sending.send_message(scope, sender=choice, to="a@example.org", subject="1", text="1")
    with pytest.raises(RetryableSendError) as caught:
        await sending.send_message(scope, sender=choice, to="b@example.org", subject="2", text="2")
    assert caught.value.code == "DAILY_LIMIT_REACHED"
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 86400
    assert len(mail.messages("google")) == 1
    assert (await service.sends_today(scope, [mailbox.id])) == {mailbox.id: 1}


async def test_only_the_owner_sends_as_own(mail, world: World):
    mailbox = await connect(await world.scope("recruiter"), "google", "rita@gmail.test")
    with pytest.raises(NotFound):
        await sending.send_message(await world.scope("sourcer"),
                                   sender=SenderChoice("own", mailbox.id), to="a@example.org",
                                   subject="x", text="x")
    assert mail.messages("google") == []


async def test_alias_uses_the_gmail_send_as_address_and_replies_go_to_the_recruiter(
        mail, world: World):
    hm = world.members["hiring_manager"]
    mail.create_account("google", "rita@gmail.test",
                        sendAs=[{"email": hm.email, "displayName": "Hiring Manager"}])
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "google", "rita@gmail.test")
    result = await sending.send_message(scope, sender=SenderChoice("alias", mailbox.id, hm.user_id),
                                        to="ada@example.org", subject="From the HM", text="hi")
    [sent] = mail.messages("google", "rita@gmail.test")
    msg = parsed(sent)
    assert msg["From"] == f"Hiring_Manager <{hm.email}>"
    assert msg["Reply-To"] == "rita@gmail.test"
    assert sent["messageId"] == result.message_id
    assert [(s.mode, s.sender_id) for s in await sends(world)] == [
        ("alias", world.members["recruiter"].user_id)]


async def test_alias_without_a_send_as_entry_keeps_the_own_address(mail, world: World):
    hm = world.members["hiring_manager"]
    scope = await world.scope("recruiter")
    for provider, address in (("google", "rita@gmail.test"), ("microsoft", "rita@outlook.test")):
        mailbox = await connect(scope, provider, address)
        await sending.send_message(scope, sender=SenderChoice("alias", mailbox.id, hm.user_id),
                                   to="ada@example.org", subject="From the HM", text="hi")
        msg = parsed(mail.messages(provider, address)[0])
        assert msg["From"] == f"Hiring_Manager <{address}>"
        assert msg["Reply-To"] == address
    with pytest.raises(NotFound) as caught:  # not a member of this tenant
        await sending.send_message(scope, sender=SenderChoice("alias", mailbox.id, UUID(int=1)),
                                   to="ada@example.org", subject="x", text="x")
    assert caught.value.field == ["sender", "hmMemberId"]


async def test_delegated_send_is_checked_at_send_time_and_replies_notify_the_sender(
        mail, world: World):
    hm_scope = await world.scope("hiring_manager")
    recruiter = await world.scope("recruiter")
    mailbox = await connect(hm_scope, "microsoft", "hank@outlook.test")
    choice = SenderChoice("delegated", mailbox.id)
    with pytest.raises(FinalSendError) as caught:  # no grant yet
        await sending.send_message(recruiter, sender=choice, to="a@example.org", subject="x",
                                   text="x")
    assert caught.value.code == "GRANT_REVOKED"
    grant = await grants.grant_delegation(hm_scope, mailbox_id=mailbox.id,
                                          grantee_id=world.members["recruiter"].user_id)
    assert (grant.granted_by_id, grant.revoked_at) == (world.members["hiring_manager"].user_id, None)
    result = await sending.send_message(recruiter, sender=choice, to="ada@example.org",
                                        subject="From Hank's mailbox", text="hello")
    [sent] = mail.messages("microsoft", "hank@outlook.test")
    msg = parsed(sent)
    assert msg["From"] == f"{mailbox.display_name} <hank@outlook.test>" and msg["Reply-To"] is None
    [record] = await sends(world)
    assert (record.mode, record.grant_id, record.sender_id) == (
        "delegated", grant.id, world.members["recruiter"].user_id)
    # A reply lands in Hank's inbox; the hook tells the recruiter who sent the original.
    mail.inject("microsoft", "hank@outlook.test", "reply", result.message_id, **{
        "from": "ada@example.org"})
    notified = await grants.notify_delegated_reply(tenant_id=world.tenant.id,
                                                   in_reply_to=result.message_id,
                                                   reply_from="ada@example.org", subject="Re")
    assert notified == world.members["recruiter"].user_id
    async with db.system_tenant_tx(str(world.tenant.id)):
        [note] = await Notification.filter(tenant_id=world.tenant.id)
    assert (note.user_id, note.kind, note.payload["messageId"]) == (
        world.members["recruiter"].user_id, "delegated_reply", result.message_id)
    # Revoked: the very next send is refused, though it was "scheduled" under the grant.
    revoked = await grants.revoke_delegation(hm_scope, grant_id=grant.id)
    assert revoked.revoked_at is not None
    assert revoked.revoked_by_id == world.members["hiring_manager"].user_id
    with pytest.raises(FinalSendError) as caught:
        await sending.send_message(recruiter, sender=choice, to="a@example.org", subject="x",
                                   text="x")
    assert caught.value.code == "GRANT_REVOKED"
    assert [m["direction"] for m in mail.messages("microsoft", "hank@outlook.test")] == [
        "sent", "inbound"]
    listed = await grants.list_grants(recruiter, PageArgs())
    assert [(g.id, g.revoked_at is not None) for g in listed.items] == [(grant.id, True)]


async def test_disconnect_revokes_and_forgets_the_tokens(mail, world: World):
    scope = await world.scope("recruiter")
    mailbox = await connect(scope, "google", "rita@gmail.test")
    done = await service.disconnect_mailbox(scope, mailbox_id=mailbox.id)
    assert done.status == "disconnected"
    stored = await row(world.tenant.id, mailbox.id)
    assert (stored.access_token_enc, stored.refresh_token_enc, stored.token_expires_at) == (
        None, None, None)
    assert [g["revoked"] for g in mail.grants("google", "rita@gmail.test")["grants"]] == [True]
    with pytest.raises(FinalSendError) as caught:
        await sending.send_message(scope, sender=SenderChoice("own", mailbox.id),
                                   to="a@example.org", subject="x", text="x")
    assert caught.value.code == "MAILBOX_DISCONNECTED"
