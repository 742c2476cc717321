"""Mailbox queries."""

from __future__ import annotations

import strawberry

from api.context import scope_of
from api.mailboxes.types import Mailbox, MailboxGrant
from api.permissions import requires
from api.relay import Connection, connection, expect_id, page_args
from domain.core.pagination import Page
from domain.mailboxes import grants, service


@strawberry.type
class MailboxQuery:
    @strawberry.field(description="Mailboxes the viewer owns or may send from (all, for admins).",
                      extensions=[requires("mailboxes:read")])
    async def mailboxes(self, info: strawberry.Info, first: int | None = None,
                        after: str | None = None, last: int | None = None,
                        before: str | None = None) -> Connection[Mailbox]:
        page = await service.list_mailboxes(scope_of(info), page_args(first, after, last, before))
        return connection(page, Mailbox.of)

    @strawberry.field(description="Delegation grants on the viewer's mailboxes and to the viewer "
                                  "(all, for admins), revoked ones included unless asked.",
                      extensions=[requires("mailboxes:read")])
    async def mailbox_grants(self, info: strawberry.Info, mailbox_id: strawberry.ID | None = None,
                             include_revoked: bool = True, first: int | None = None,
                             after: str | None = None, last: int | None = None,
                             before: str | None = None) -> Connection[MailboxGrant]:
        args = page_args(first, after, last, before)
        raw = expect_id(mailbox_id, "Mailbox") if mailbox_id is not None else None
        if mailbox_id is not None and raw is None:
            return connection(Page([], False, False), MailboxGrant.of)
        page = await grants.list_grants(scope_of(info), args, mailbox_id=raw,
                                        include_revoked=include_revoked)
        return connection(page, MailboxGrant.of)
