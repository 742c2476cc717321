"""The one send path: every message to a prospect or a test recipient goes through
`send_message`, which picks the mailbox and identity (own, alias, delegated), builds the MIME
message, reserves a slot of the mailbox's daily limit, sends through the provider's adapter and
records what went out.

Retryable failures (429, 5xx, timeouts, quota, daily limit) raise RetryableSendError with
retry_after; everything else raises FinalSendError (or a DomainError for bad input).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TypeVar
from uuid import UUID

from tortoise.exceptions import IntegrityError

from domain.core import clock, db, ids
from domain.core.config import settings
from domain.core.errors import DomainError, NotFound
from domain.core.scope import Scope
from domain.events.service import publish
from domain.mailboxes import events, mime, rules, service, tokens, vault
from domain.mailboxes.adapters import gmail, graph, smtp
from domain.mailboxes.errors import FinalSendError, ProviderFault, RetryableSendError
from domain.mailboxes.grants import active_grant
from domain.mailboxes.mime import Outgoing, Unsubscribe
from domain.mailboxes.models import (
    CONNECTED,
    GOOGLE,
    MICROSOFT,
    NEEDS_RECONNECT,
    Mailbox,
    MailboxSend,
    MailboxSendDay,
)
from domain.tenancy import service as tenancy

log = logging.getLogger("talentgraph.mailboxes")

T = TypeVar("T")
OWN, ALIAS, DELEGATED = "own", "alias", "delegated"
MODES = (OWN, ALIAS, DELEGATED)


@dataclass(frozen=True)
class SenderChoice:
    """own: the member's mailbox. alias: the member's mailbox, the hiring manager's name (and
    address where Gmail lists it as a send-as alias), replies to the member. delegated: the
    hiring manager's mailbox, under an active grant to the member."""

    mode: str
    mailbox_id: UUID
    hm_user_id: UUID | None = None


@dataclass(frozen=True)
class SendResult:
    thread_id: str
    provider_message_id: str | None
    message_id: str


@dataclass
class _Plan:
    mailbox: Mailbox
    from_name: str
    from_address: str
    reply_to: str | None
    grant_id: UUID | None
    alias_address: str | None = None
    references: list[str] = field(default_factory=list)


async def _plan(scope: Scope, sender: SenderChoice) -> _Plan:
    user_id = service.acting_user(scope)
    if sender.mode not in MODES:
        raise DomainError("Use own, alias or delegated.", field=["sender", "mode"], code="INVALID")
    async with db.tenant_tx(scope):
        mailbox = await Mailbox.get_or_none(tenant_id=scope.tenant_id, id=sender.mailbox_id)
    if mailbox is None:
        raise NotFound("No such mailbox.", field=["sender", "mailboxId"])
    people = {mailbox.owner_id, user_id} | ({sender.hm_user_id} if sender.hm_user_id else set())
    users = await tenancy.users_by_ids(scope, list(people))
    me = users.get(user_id)
    if sender.mode in (OWN, ALIAS) and mailbox.owner_id != user_id:
        raise NotFound("No such mailbox.", field=["sender", "mailboxId"])
    grant_id = None
    if sender.mode == DELEGATED:
        if mailbox.owner_id == user_id:
            raise DomainError("This is your own mailbox; send as own.", field=["sender", "mode"],
                              code="INVALID")
        grant = await active_grant(scope.tenant_id, mailbox_id=mailbox.id, grantee_id=user_id)
        if grant is None:
            # Revoked (or never granted): refused at send time, not only when scheduling.
            raise FinalSendError("You may not send from this mailbox (no active grant).",
                                 field=["sender", "mailboxId"], code="GRANT_REVOKED")
        grant_id = grant.id
    if mailbox.status == NEEDS_RECONNECT:
        raise FinalSendError("This mailbox needs to be reconnected.", field=["sender", "mailboxId"],
                             code="NEEDS_RECONNECT")
    if mailbox.status != CONNECTED:
        raise FinalSendError("This mailbox is disconnected.", field=["sender", "mailboxId"],
                             code="MAILBOX_DISCONNECTED")
    owner = users.get(mailbox.owner_id)
    owner_name = mailbox.display_name or (owner.name if owner else "")
    if sender.mode == ALIAS:
        hm = users.get(sender.hm_user_id) if sender.hm_user_id else None
        if hm is None:
            raise NotFound("No such hiring manager.", field=["sender", "hmMemberId"])
        return _Plan(mailbox, hm.name, mailbox.address, mailbox.address, None,
                     alias_address=hm.email)
    if sender.mode == DELEGATED:
        return _Plan(mailbox, owner_name, mailbox.address, None, grant_id)
    return _Plan(mailbox, owner_name or (me.name if me else ""), mailbox.address, None, None)


async def _reserve(mailbox: Mailbox) -> str:
    """Take one of today's sends; refused (retryable tomorrow) at the daily limit."""
    now = clock.now()
    day = rules.day_key(now)
    async with db.system_tenant_tx(str(mailbox.tenant_id)):
        if not await MailboxSendDay.exists(tenant_id=mailbox.tenant_id, mailbox_id=mailbox.id,
                                           day=day):
            try:
                async with db.system_tenant_tx(str(mailbox.tenant_id)):  # a savepoint
                    await MailboxSendDay.create(tenant_id=mailbox.tenant_id,
                                                mailbox_id=mailbox.id, day=day, count=0)
            except IntegrityError:
                pass  # a concurrent send created it
        from tortoise.expressions import F

        taken = await MailboxSendDay.filter(
            tenant_id=mailbox.tenant_id, mailbox_id=mailbox.id, day=day,
            count__lt=mailbox.daily_limit).update(count=F("count") + 1)
    if taken != 1:
        raise RetryableSendError("This mailbox reached its daily limit.",
                                 retry_after=rules.seconds_to_next_day(now),
                                 code="DAILY_LIMIT_REACHED", field="sender")
    return day


async def _release(mailbox: Mailbox, day: str) -> None:
    from tortoise.expressions import F

    async with db.system_tenant_tx(str(mailbox.tenant_id)):
        await MailboxSendDay.filter(tenant_id=mailbox.tenant_id, mailbox_id=mailbox.id, day=day,
                                    count__gt=0).update(count=F("count") - 1)


async def _with_token(mailbox: Mailbox, action: Callable[[str], Awaitable[T]]) -> T:
    """Run `action(token)`; on a 401 refresh (single-flight) and try exactly once more."""
    token = await tokens.access_token(mailbox.tenant_id, mailbox.id)
    try:
        return await action(token)
    except ProviderFault as fault:
        if fault.kind != "unauthorized":
            raise
    token = await tokens.access_token(mailbox.tenant_id, mailbox.id, stale=token)
    try:
        return await action(token)
    except ProviderFault as fault:
        if fault.kind == "unauthorized":
            raise ProviderFault("reconnect", "the provider refused a fresh access token") from None
        raise


async def _alias_allowed(mailbox: Mailbox, address: str) -> bool:
    """Gmail lists the send-as aliases it will accept as From; others keep the own address."""
    if mailbox.provider != GOOGLE:
        return False

    entries = await _with_token(mailbox, gmail.send_as)
    for entry in entries:
        if rules.same_address(str(entry.get("sendAsEmail") or ""), address) and (
                entry.get("verificationStatus") == "accepted" or entry.get("isPrimary")):
            return True
    return False


async def _deliver(mailbox: Mailbox, message: EmailMessage, thread_id: str | None
                   ) -> tuple[str | None, str | None]:
    """(provider message id, provider thread id), either None when the provider gives none."""
    if mailbox.provider == GOOGLE:
        async def via_gmail(token: str) -> tuple[str, str]:
            return await gmail.send(token, message, thread_id=thread_id)
        return await _with_token(mailbox, via_gmail)
    if mailbox.provider == MICROSOFT:
        async def via_graph(token: str) -> None:
            await graph.send(token, message)
        await _with_token(mailbox, via_graph)
        return None, None
    async with db.system_tenant_tx(str(mailbox.tenant_id)):
        fresh = await Mailbox.get(tenant_id=mailbox.tenant_id, id=mailbox.id)
        password = vault.reveal(fresh, "smtp_password_enc")
        changed = vault.rotated(fresh)
        if changed:
            await fresh.save(update_fields=changed)
    account = smtp.SmtpAccount(fresh.smtp_host or "", fresh.smtp_port or 0, fresh.smtp_tls or "none",
                               fresh.smtp_username, password)
    await smtp.send(account, message)
    return None, None


async def send_message(scope: Scope, *, sender: SenderChoice, to: str, subject: str,
                       html: str | None = None, text: str | None = None,
                       to_name: str | None = None, in_reply_to: str | None = None,
                       references: list[str] | None = None, thread_id: str | None = None,
                       list_unsubscribe: Unsubscribe | None = None) -> SendResult:
    scope.require("mailboxes:write")
    plan = await _plan(scope, sender)
    mailbox = plan.mailbox
    now = clock.now()
    message_id = mime.new_message_id(ids.uuid7(), settings().public_base_url)
    outgoing = Outgoing(from_name=plan.from_name, from_address=plan.from_address, to=to,
                        subject=subject, text=text, html=html, to_name=to_name,
                        reply_to=plan.reply_to, in_reply_to=in_reply_to,
                        references=list(references or []), unsubscribe=list_unsubscribe)
    message = mime.build(outgoing, message_id=message_id, date=now)  # bad input stops here
    if mailbox.paused_until is not None and mailbox.paused_until > now:
        raise RetryableSendError("This mailbox is backing off after a provider limit.",
                                 retry_after=(mailbox.paused_until - now).total_seconds(),
                                 code="MAILBOX_PAUSED", field="sender")
    day = await _reserve(mailbox)
    try:
        if plan.alias_address and await _alias_allowed(mailbox, plan.alias_address):
            outgoing = Outgoing(**{**outgoing.__dict__, "from_address": plan.alias_address})
            message = mime.build(outgoing, message_id=message_id, date=now)
        provider_id, provider_thread = await _deliver(mailbox, message, thread_id)
    except ProviderFault as fault:
        await _release(mailbox, day)
        raise await _failed(mailbox, fault) from None
    except BaseException:
        await _release(mailbox, day)
        raise
    refs = [r for r in str(message.get("References") or "").split() if r]
    root = provider_thread or (refs[0] if refs else message_id)
    await _record(scope, plan, sender, message_id, root, provider_id, to, subject)
    return SendResult(thread_id=root, provider_message_id=provider_id, message_id=message_id)


async def _failed(mailbox: Mailbox, fault: ProviderFault) -> Exception:
    if fault.kind == "reconnect":
        await service.mark_needs_reconnect(mailbox.tenant_id, mailbox.id, fault.detail)
        return FinalSendError("This mailbox needs to be reconnected.", field="sender",
                              code="NEEDS_RECONNECT")
    if fault.kind == "quota":
        await service.record_failure(mailbox.tenant_id, mailbox.id, fault.detail,
                                     pause_seconds=fault.retry_after)
        return RetryableSendError("The provider is rate limiting this mailbox; try later.",
                                  retry_after=fault.retry_after, code="RATE_LIMITED",
                                  field="sender")
    if fault.kind == "transient":
        await service.record_failure(mailbox.tenant_id, mailbox.id, fault.detail)
        return RetryableSendError("The provider is unavailable; try again later.",
                                  retry_after=fault.retry_after, field="sender")
    if fault.kind == "recipient":
        return FinalSendError("The provider refused the recipient.", field="to",
                              code="INVALID_RECIPIENT")
    await service.record_failure(mailbox.tenant_id, mailbox.id, fault.detail)
    return FinalSendError(f"The provider refused to send ({fault.detail}).", field="sender",
                          code="MAILBOX_NOT_ENABLED" if "not enabled" in fault.detail
                          else "SEND_FAILED")


async def _record(scope: Scope, plan: _Plan, sender: SenderChoice, message_id: str,
                  thread_id: str, provider_id: str | None, to: str, subject: str) -> None:
    async with db.tenant_tx(scope):
        await MailboxSend.create(tenant_id=scope.tenant_id, mailbox_id=plan.mailbox.id,
                                 sender_id=scope.user_id, mode=sender.mode, grant_id=plan.grant_id,
                                 message_id=message_id, thread_id=thread_id,
                                 provider_message_id=provider_id, recipient=to.strip()[:254],
                                 subject=subject.strip()[:998], created_at=clock.now())
        await publish(events.MESSAGE_SENT, {
            "mailboxId": str(plan.mailbox.id), "mode": sender.mode, "messageId": message_id,
            "threadId": thread_id, "senderId": str(scope.user_id)}, scope=scope)
    await service.record_success(scope.tenant_id, plan.mailbox.id)


async def send_test_email(scope: Scope, *, sender: SenderChoice, to: str) -> SendResult:
    return await send_message(
        scope, sender=sender, to=to, subject="Talentgraph test email",
        text="This is a test email from Talentgraph: your mailbox can send.",
        html="<p>This is a test email from <b>Talentgraph</b>: your mailbox can send.</p>")
