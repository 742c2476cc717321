"""Mailbox mutations: connect (OAuth start, SMTP), update, disconnect, delegation grants, and a
test send through the one send path."""

from __future__ import annotations

from typing import Any

import strawberry

from api.context import scope_of
from api.errors import UserError, run_mutation
from api.mailboxes import inputs
from api.mailboxes.types import Mailbox, MailboxGrant, SentMessage
from api.permissions import requires
from api.relay import require_id
from domain.mailboxes import grants, sending, service
from domain.mailboxes.errors import SendError


@strawberry.type
class StartMailboxConnectionPayload:
    authorization_url: str | None = strawberry.field(
        default=None, description="Send the browser here; the provider redirects back to "
                                  "/oauth/callback/{provider}. Valid for 10 minutes, once.")
    errors: list[UserError]


@strawberry.type
class MailboxPayload:
    mailbox: Mailbox | None = None
    errors: list[UserError]


@strawberry.type
class MailboxGrantPayload:
    grant: MailboxGrant | None = None
    errors: list[UserError]


@strawberry.type
class SendTestEmailPayload:
    sent: SentMessage | None = None
    retry_after_seconds: float | None = strawberry.field(
        default=None, description="Set when the failure is temporary: try again after this.")
    errors: list[UserError]


@strawberry.type
class MailboxMutation:
    @strawberry.mutation(description="Start connecting a Gmail or Outlook mailbox (OAuth 2, "
                                     "authorization code with PKCE).",
                         extensions=[requires("mailboxes:write")])
    async def start_mailbox_connection(self, info: strawberry.Info,
                                       input: inputs.StartMailboxConnectionInput
                                       ) -> StartMailboxConnectionPayload:
        async def act() -> dict[str, Any]:
            url = await service.start_connection(scope_of(info), provider=input.provider.value,
                                                 login_hint=input.login_hint)
            return {"authorization_url": url}
        return await run_mutation(StartMailboxConnectionPayload, act)

    @strawberry.mutation(description="Connect an SMTP mailbox; nothing is stored unless the "
                                     "login succeeds.",
                         extensions=[requires("mailboxes:write")])
    async def connect_smtp_mailbox(self, info: strawberry.Info,
                                   input: inputs.ConnectSmtpMailboxInput) -> MailboxPayload:
        async def act() -> dict[str, Any]:
            mailbox = await service.connect_smtp(
                scope_of(info), address=input.address, host=input.host, port=input.port,
                tls=input.tls.value, username=input.username, password=input.password,
                display_name=input.display_name or "", daily_limit=input.daily_limit)
            return {"mailbox": Mailbox.of(mailbox)}
        return await run_mutation(MailboxPayload, act)

    @strawberry.mutation(description="Change a mailbox's daily limit (its owner or an admin).",
                         extensions=[requires("mailboxes:write")])
    async def update_mailbox(self, info: strawberry.Info,
                             input: inputs.UpdateMailboxInput) -> MailboxPayload:
        async def act() -> dict[str, Any]:
            mailbox = await service.update_mailbox(
                scope_of(info), mailbox_id=require_id(input.mailbox_id, "Mailbox", "mailboxId"),
                daily_limit=input.daily_limit)
            return {"mailbox": Mailbox.of(mailbox)}
        return await run_mutation(MailboxPayload, act)

    @strawberry.mutation(description="Revoke access at the provider and delete the credentials.",
                         extensions=[requires("mailboxes:write")])
    async def disconnect_mailbox(self, info: strawberry.Info,
                                 input: inputs.MailboxIdInput) -> MailboxPayload:
        async def act() -> dict[str, Any]:
            mailbox = await service.disconnect_mailbox(
                scope_of(info), mailbox_id=require_id(input.mailbox_id, "Mailbox", "mailboxId"))
            return {"mailbox": Mailbox.of(mailbox)}
        return await run_mutation(MailboxPayload, act)

    @strawberry.mutation(description="Let a member send from your mailbox (delegated send-from).",
                         extensions=[requires("mailboxes:write")])
    async def grant_mailbox_delegation(self, info: strawberry.Info,
                                       input: inputs.GrantMailboxDelegationInput
                                       ) -> MailboxGrantPayload:
        async def act() -> dict[str, Any]:
            grant = await grants.grant_delegation(
                scope_of(info), mailbox_id=require_id(input.mailbox_id, "Mailbox", "mailboxId"),
                grantee_id=require_id(input.grantee_id, "User", "granteeId"))
            return {"grant": MailboxGrant.of(grant)}
        return await run_mutation(MailboxGrantPayload, act)

    @strawberry.mutation(description="Withdraw a delegation; sends under it are refused at once.",
                         extensions=[requires("mailboxes:write")])
    async def revoke_mailbox_delegation(self, info: strawberry.Info,
                                        input: inputs.RevokeMailboxDelegationInput
                                        ) -> MailboxGrantPayload:
        async def act() -> dict[str, Any]:
            grant = await grants.revoke_delegation(
                scope_of(info), grant_id=require_id(input.grant_id, "MailboxGrant", "grantId"))
            return {"grant": MailboxGrant.of(grant)}
        return await run_mutation(MailboxGrantPayload, act)

    @strawberry.mutation(description="Send a test email through the real send path.",
                         extensions=[requires("mailboxes:write")])
    async def send_test_email(self, info: strawberry.Info,
                              input: inputs.SendTestEmailInput) -> SendTestEmailPayload:
        retry: dict[str, float | None] = {"after": None}

        async def act() -> dict[str, Any]:
            choice = sending.SenderChoice(
                mode=input.sender.mode.value,
                mailbox_id=require_id(input.sender.mailbox_id, "Mailbox", ["sender", "mailboxId"]),
                hm_user_id=(require_id(input.sender.hm_member_id, "User", ["sender", "hmMemberId"])
                            if input.sender.hm_member_id else None))
            try:
                result = await sending.send_test_email(scope_of(info), sender=choice, to=input.to)
            except SendError as exc:
                retry["after"] = exc.retry_after
                raise
            return {"sent": SentMessage(message_id=result.message_id, thread_id=result.thread_id,
                                        provider_message_id=result.provider_message_id)}
        payload = await run_mutation(SendTestEmailPayload, act)
        payload.retry_after_seconds = retry["after"]
        return payload



