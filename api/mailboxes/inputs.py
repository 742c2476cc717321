"""Inputs of mailbox mutations."""

from __future__ import annotations

import enum

import strawberry

from api.mailboxes.types import OAuthProvider, SmtpTls


@strawberry.input
class StartMailboxConnectionInput:
    provider: OAuthProvider
    login_hint: str | None = strawberry.field(
        default=None, description="The address to preselect at the provider.")


@strawberry.input(description="An SMTP mailbox; the credentials are checked by a login first.")
class ConnectSmtpMailboxInput:
    address: str
    host: str
    port: int
    tls: SmtpTls
    username: str
    password: str
    display_name: str | None = None
    daily_limit: int | None = None


@strawberry.input
class MailboxIdInput:
    mailbox_id: strawberry.ID


@strawberry.input
class UpdateMailboxInput:
    mailbox_id: strawberry.ID
    daily_limit: int | None = None


@strawberry.input
class GrantMailboxDelegationInput:
    mailbox_id: strawberry.ID
    grantee_id: strawberry.ID = strawberry.field(description="The User allowed to send.")


@strawberry.input
class RevokeMailboxDelegationInput:
    grant_id: strawberry.ID


@strawberry.enum(description="OWN: your mailbox. ALIAS: your mailbox, the hiring manager's "
                             "name (and address where Gmail allows), replies to you. DELEGATED: "
                             "the hiring manager's mailbox under their grant.")
class SendMode(enum.Enum):
    OWN = "own"
    ALIAS = "alias"
    DELEGATED = "delegated"


@strawberry.input
class SenderInput:
    mode: SendMode
    mailbox_id: strawberry.ID
    hm_member_id: strawberry.ID | None = strawberry.field(
        default=None, description="ALIAS: the hiring manager's User ID.")


@strawberry.input
class SendTestEmailInput:
    sender: SenderInput
    to: str
