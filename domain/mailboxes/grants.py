"""Delegated send-from: a mailbox owner lets named members send from it. Grants are audited
(granted by, when; revoked by, when) and checked at send time. Replies land in the owner's
inbox; `notify_delegated_reply` tells the member who sent the original."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast
from uuid import UUID

from domain.core import clock, db
from domain.core.config import settings
from domain.core.errors import DomainError, NotFound
from domain.core.pagination import Page, PageArgs, paginate
from domain.core.scope import Scope
from domain.events.service import publish
from domain.mailboxes import events
from domain.mailboxes.models import DISCONNECTED, Mailbox, MailboxGrant, MailboxSend
from domain.mailboxes.service import acting_user, owned_mailbox
from domain.prospects import service as prospects
from domain.tenancy import service as tenancy


async def grant_delegation(scope: Scope, *, mailbox_id: UUID, grantee_id: UUID) -> MailboxGrant:
    scope.require("mailboxes:write")
    acting_user(scope)
    if grantee_id not in await tenancy.users_by_ids(scope, [grantee_id]):
        raise NotFound("No such member.", field="granteeId")
    async with db.tenant_tx(scope):
        mailbox = await owned_mailbox(scope, mailbox_id)
        if mailbox.status == DISCONNECTED:
            raise DomainError("Reconnect the mailbox first.", field="mailboxId", code="INVALID")
        if grantee_id == mailbox.owner_id:
            raise DomainError("The owner sends from their mailbox already.", field="granteeId",
                              code="INVALID")
        active = await MailboxGrant.filter(tenant_id=scope.tenant_id, mailbox_id=mailbox.id,
                                           grantee_id=grantee_id, revoked_at=None).first()
        if active is not None:
            return active
        grant = await MailboxGrant.create(tenant_id=scope.tenant_id, mailbox_id=mailbox.id,
                                          grantee_id=grantee_id, granted_by_id=scope.user_id,
                                          granted_at=clock.now())
        await publish(events.MAILBOX_GRANT_CREATED, {
            "grantId": str(grant.id), "mailboxId": str(mailbox.id),
            "granteeId": str(grantee_id)}, scope=scope)
        return grant


async def revoke_delegation(scope: Scope, *, grant_id: UUID) -> MailboxGrant:
    scope.require("mailboxes:write")
    async with db.tenant_tx(scope):
        grant = await MailboxGrant.get_or_none(tenant_id=scope.tenant_id, id=grant_id)
        if grant is None:
            raise NotFound("No such grant.", field="grantId")
        await owned_mailbox(scope, grant.mailbox_id)  # the owner (or an admin) revokes
        if grant.revoked_at is None:
            grant.revoked_at, grant.revoked_by_id = clock.now(), scope.user_id
            await grant.save(update_fields=["revoked_at", "revoked_by_id"])
            await publish(events.MAILBOX_GRANT_REVOKED, {
                "grantId": str(grant.id), "mailboxId": str(grant.mailbox_id),
                "granteeId": str(grant.grantee_id)}, scope=scope)
        return grant


async def list_grants(scope: Scope, page: PageArgs, *, mailbox_id: UUID | None = None,
                      include_revoked: bool = True) -> Page[MailboxGrant]:
    """Grants on mailboxes the caller owns, grants to the caller; admins see all."""
    scope.require("mailboxes:read")
    async with db.tenant_tx(scope):
        qs = MailboxGrant.filter(tenant_id=scope.tenant_id)
        if scope.role != "admin":
            from tortoise.expressions import Q

            owned = await Mailbox.filter(tenant_id=scope.tenant_id, owner_id=scope.user_id
                                         ).values_list("id", flat=True)
            qs = qs.filter(Q(mailbox_id__in=list(owned)) | Q(grantee_id=scope.user_id))
        if mailbox_id is not None:
            qs = qs.filter(mailbox_id=mailbox_id)
        if not include_revoked:
            qs = qs.filter(revoked_at=None)
        return await paginate(qs, page, settings().max_page_size)


async def grants_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, MailboxGrant]:
    if not scope.can("mailboxes:read"):
        return {}
    async with db.tenant_tx(scope):
        rows = await MailboxGrant.filter(tenant_id=scope.tenant_id, id__in=list(ids))
        owned: set[UUID] = set()
        if scope.role != "admin" and rows:
            owned = set(cast(list[UUID], await Mailbox.filter(
                tenant_id=scope.tenant_id, owner_id=scope.user_id,
                id__in=list({g.mailbox_id for g in rows})).values_list("id", flat=True)))
    # The same rule as list_grants: admins see all, others their mailboxes' grants and theirs.
    return {g.id: g for g in rows
            if scope.role == "admin" or g.grantee_id == scope.user_id or g.mailbox_id in owned}


async def active_grant(tenant_id: UUID, *, mailbox_id: UUID, grantee_id: UUID) -> MailboxGrant | None:
    """The send-time check (not only at scheduling time)."""
    async with db.system_tenant_tx(str(tenant_id)):
        return await MailboxGrant.filter(tenant_id=tenant_id, mailbox_id=mailbox_id,
                                         grantee_id=grantee_id, revoked_at=None).first()


async def notify_delegated_reply(*, tenant_id: UUID, in_reply_to: str, reply_from: str = "",
                                 subject: str = "") -> UUID | None:
    """The hook for the sequences' reply handler: a reply to a message sent from someone
    else's mailbox notifies the member who sent it. Returns the notified user, if any."""
    async with db.system_tenant_tx(str(tenant_id)):
        sent = await MailboxSend.filter(tenant_id=tenant_id, message_id=in_reply_to.strip(),
                                        mode="delegated").first()
        if sent is None or sent.sender_id is None:
            return None
        await prospects.notify(
            Scope.system(tenant_id), user_id=sent.sender_id, kind="delegated_reply",
            payload={"mailboxId": str(sent.mailbox_id), "messageId": sent.message_id,
                     "grantId": str(sent.grant_id) if sent.grant_id else None,
                     "from": reply_from[:254], "subject": subject[:300]})
        return sent.sender_id
