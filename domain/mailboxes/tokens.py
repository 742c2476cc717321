"""Access tokens for API mailboxes: refreshed ahead of expiry and on a 401, single-flight per
mailbox across processes.

Microsoft rotates the refresh token on every refresh and a used one is dead, so two
uncoordinated refreshes would strand the mailbox. Hence: take the mailbox's refresh lock,
re-read the stored token, and refresh only if it is still the one that was due (another holder
may have refreshed meanwhile); persist every rotated refresh token, and keep the old one when
the provider returns none.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from domain.core import clock, db
from domain.mailboxes import oauth, rules, service, vault
from domain.mailboxes.errors import FinalSendError, ProviderFault, RetryableSendError
from domain.mailboxes.locks import refresh_lock
from domain.mailboxes.models import CONNECTED, GOOGLE, MICROSOFT, Mailbox

log = logging.getLogger("talentgraph.mailboxes")

SWEEP_MARGIN = timedelta(minutes=10)  # the periodic job refreshes what expires within this


async def _load(tenant_id: UUID, mailbox_id: UUID) -> tuple[Mailbox, str | None]:
    """The mailbox and its clear access token; rotates secrets under an old key lazily."""
    async with db.system_tenant_tx(str(tenant_id)):
        mailbox = await Mailbox.get_or_none(tenant_id=tenant_id, id=mailbox_id)
        if mailbox is None:
            raise FinalSendError("No such mailbox.", field="mailboxId", code="NOT_FOUND")
        token = vault.reveal(mailbox, "access_token_enc")
        vault.reveal(mailbox, "refresh_token_enc")
        changed = vault.rotated(mailbox)
        if changed:
            await mailbox.save(update_fields=changed)
    return mailbox, token


def _usable(mailbox: Mailbox) -> None:
    if mailbox.status != CONNECTED:
        raise FinalSendError("This mailbox needs to be reconnected.", field="mailboxId",
                             code="NEEDS_RECONNECT")


async def access_token(tenant_id: UUID, mailbox_id: UUID, *, stale: str | None = None,
                       margin: timedelta = rules.REFRESH_MARGIN) -> str:
    """A valid access token. `stale` is a token the provider just refused (a 401): refresh
    unless the stored one already differs from it."""
    mailbox, token = await _load(tenant_id, mailbox_id)
    _usable(mailbox)
    if stale is None and token and not rules.refresh_due(mailbox.token_expires_at, clock.now(),
                                                         margin):
        return token
    async with refresh_lock(tenant_id, mailbox_id):
        mailbox, token = await _load(tenant_id, mailbox_id)
        _usable(mailbox)
        fresh = not rules.refresh_due(mailbox.token_expires_at, clock.now(), margin)
        if token and ((stale is None and fresh) or (stale is not None and token != stale)):
            return token  # someone refreshed while we waited: use theirs
        return await _refresh(mailbox)


async def _refresh(mailbox: Mailbox) -> str:
    refresh_token = vault.reveal(mailbox, "refresh_token_enc")
    if not refresh_token:
        await service.mark_needs_reconnect(mailbox.tenant_id, mailbox.id,
                                           "no refresh token stored")
        raise FinalSendError("This mailbox needs to be reconnected.", field="mailboxId",
                             code="NEEDS_RECONNECT")
    try:
        tokens = await oauth.refresh(mailbox.provider, refresh_token=refresh_token)
    except ProviderFault as fault:
        if fault.kind == "reconnect":
            await service.mark_needs_reconnect(mailbox.tenant_id, mailbox.id, fault.detail)
            raise FinalSendError("This mailbox needs to be reconnected.", field="mailboxId",
                                 code="NEEDS_RECONNECT") from None
        if fault.kind == "transient":
            await service.record_failure(mailbox.tenant_id, mailbox.id, fault.detail)
            raise RetryableSendError("The provider could not refresh access; try again later.",
                                     retry_after=fault.retry_after) from None
        await service.record_failure(mailbox.tenant_id, mailbox.id, fault.detail)
        raise FinalSendError("The provider refused to refresh access.", field="mailboxId",
                             code="SEND_FAILED") from None
    async with db.system_tenant_tx(str(mailbox.tenant_id)):
        await Mailbox.filter(tenant_id=mailbox.tenant_id, id=mailbox.id).update(
            access_token_enc=vault.seal(tokens.access_token),
            refresh_token_enc=vault.seal(tokens.refresh_token or refresh_token),
            token_expires_at=tokens.expires_at, updated_at=clock.now())
    log.info("refreshed the access token of mailbox %s", mailbox.id)
    return tokens.access_token


async def refresh_expiring(*, margin: timedelta = SWEEP_MARGIN, limit: int = 500) -> int:
    """The periodic job: refresh every connected API mailbox whose token expires within
    `margin`, each on its own (one failing mailbox does not stop the others)."""
    cutoff = clock.now() + margin
    async with db.identity_tx():
        due = await Mailbox.filter(status=CONNECTED, provider__in=[GOOGLE, MICROSOFT],
                                   token_expires_at__lte=cutoff
                                   ).order_by("token_expires_at").limit(limit
                                                                        ).values_list("tenant_id", "id")
    refreshed = 0
    for tenant_id, mailbox_id in due:
        try:
            await access_token(tenant_id, mailbox_id, margin=margin)
            refreshed += 1
        except (FinalSendError, RetryableSendError) as exc:
            log.warning("refresh of mailbox %s failed: %s", mailbox_id, exc.code)
        except Exception:
            log.exception("refresh of mailbox %s failed", mailbox_id)
    return refreshed
