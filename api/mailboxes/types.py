"""GraphQL types of mailboxes: never a token or password, only what a settings page shows."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import strawberry

from api.context import context_of
from api.relay import Node, to_global_id
from api.tenancy.types import User, visible_user
from domain.mailboxes import models, service


@strawberry.enum(description="Where a mailbox lives.")
class MailboxProvider(enum.Enum):
    GOOGLE = "google"
    MICROSOFT = "microsoft"
    SMTP = "smtp"


@strawberry.enum(description="Providers connected through OAuth.")
class OAuthProvider(enum.Enum):
    GOOGLE = "google"
    MICROSOFT = "microsoft"


@strawberry.enum(description="CONNECTED sends; NEEDS_RECONNECT is paused until its owner "
                             "connects it again; DISCONNECTED has no credentials left.")
class MailboxStatus(enum.Enum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


@strawberry.enum(description="How an SMTP connection is secured.")
class SmtpTls(enum.Enum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


@strawberry.type(description="A connected mailbox and its health.")
class Mailbox(Node):
    db_id: strawberry.Private[UUID]
    owner_id: strawberry.Private[UUID]
    provider: MailboxProvider
    address: str
    display_name: str
    status: MailboxStatus
    daily_limit: int = strawberry.field(description="Sends per UTC day before refusing.")
    last_error: str | None = strawberry.field(description="The last provider failure, redacted.")
    last_error_at: datetime | None
    consecutive_failures: int
    paused_until: datetime | None = strawberry.field(
        description="Set while backing off after a provider rate limit.")
    connected_at: datetime
    smtp_host: str | None
    smtp_port: int | None
    smtp_username: str | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Mailbox", self.db_id)

    @strawberry.field(description="Messages sent from it today (UTC).")
    async def sent_today(self, info: strawberry.Info) -> int:
        return int(await context_of(info).loader(service.sends_today).load(self.db_id) or 0)

    @strawberry.field
    async def owner(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.owner_id)

    @staticmethod
    def of(row: models.Mailbox) -> Mailbox:
        return Mailbox(db_id=row.id, owner_id=row.owner_id,
                       provider=MailboxProvider(row.provider), address=row.address,
                       display_name=row.display_name, status=MailboxStatus(row.status),
                       daily_limit=row.daily_limit, last_error=row.last_error,
                       last_error_at=row.last_error_at,
                       consecutive_failures=row.consecutive_failures,
                       paused_until=row.paused_until, connected_at=row.connected_at,
                       smtp_host=row.smtp_host, smtp_port=row.smtp_port,
                       smtp_username=row.smtp_username)


@strawberry.type(description="A delegated send-from right on a mailbox, with its audit trail.")
class MailboxGrant(Node):
    db_id: strawberry.Private[UUID]
    mailbox_id: strawberry.Private[UUID]
    grantee_id: strawberry.Private[UUID]
    granted_by_id: strawberry.Private[UUID]
    revoked_by_id: strawberry.Private[UUID | None]
    granted_at: datetime
    revoked_at: datetime | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("MailboxGrant", self.db_id)

    @strawberry.field(description="False once revoked.")
    def active(self) -> bool:
        return self.revoked_at is None

    @strawberry.field
    async def mailbox(self, info: strawberry.Info) -> Mailbox | None:
        row = await context_of(info).loader(service.mailboxes_by_ids).load(self.mailbox_id)
        return Mailbox.of(row) if row else None

    @strawberry.field(description="The member allowed to send.")
    async def grantee(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.grantee_id)

    @strawberry.field
    async def granted_by(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.granted_by_id)

    @strawberry.field
    async def revoked_by(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.revoked_by_id)

    @staticmethod
    def of(row: models.MailboxGrant) -> MailboxGrant:
        return MailboxGrant(db_id=row.id, mailbox_id=row.mailbox_id, grantee_id=row.grantee_id,
                            granted_by_id=row.granted_by_id, revoked_by_id=row.revoked_by_id,
                            granted_at=row.granted_at, revoked_at=row.revoked_at)


@strawberry.type(description="What a send returned.")
class SentMessage:
    message_id: str = strawberry.field(description="Our Message-ID header.")
    thread_id: str = strawberry.field(description="The provider's thread id (Gmail), else the "
                                                  "Message-ID the thread started with.")
    provider_message_id: str | None = strawberry.field(
        description="The provider's id; null where it gives none (Graph sendMail, SMTP).")



