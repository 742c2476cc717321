"""Mailbox use cases: connect (OAuth or SMTP), list, health, disconnect, and the bookkeeping
of provider failures (needs_reconnect with a notification, back-off, failure counts)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from domain.core import clock, db
from domain.core.config import settings
from domain.core.errors import DomainError, Forbidden, NotFound
from domain.core.pagination import Page, PageArgs, paginate
from domain.core.scope import Scope
from domain.core.security import digest, same
from domain.events.service import publish
from domain.mailboxes import events, oauth, rules, vault
from domain.mailboxes.adapters import gmail, graph, smtp
from domain.mailboxes.errors import (
    AddressTaken,
    ConnectionFailed,
    InvalidState,
    ProviderFault,
    SmtpLoginFailed,
)
from domain.mailboxes.models import (
    CONNECTED,
    DISCONNECTED,
    GOOGLE,
    MICROSOFT,
    NEEDS_RECONNECT,
    SMTP,
    Mailbox,
    MailboxGrant,
    MailboxSendDay,
    OAuthState,
)
from domain.prospects import service as prospects
from domain.tenancy import service as tenancy

log = logging.getLogger("talentgraph.mailboxes")

STATE_TTL = timedelta(minutes=10)
OAUTH_PROVIDERS = (GOOGLE, MICROSOFT)


# --- reading ---------------------------------------------------------------------------------

async def _visible(scope: Scope) -> Any:
    """Admins see every mailbox of the tenant; members their own and those delegated to them."""
    qs = Mailbox.filter(tenant_id=scope.tenant_id)
    if scope.role == "admin" or (scope.user_id is None and scope.can("mailboxes:read")):
        return qs
    delegated = await MailboxGrant.filter(tenant_id=scope.tenant_id, grantee_id=scope.user_id,
                                          revoked_at=None).values_list("mailbox_id", flat=True)
    from tortoise.expressions import Q

    return qs.filter(Q(owner_id=scope.user_id) | Q(id__in=list(delegated)))


async def list_mailboxes(scope: Scope, page: PageArgs) -> Page[Mailbox]:
    scope.require("mailboxes:read")
    async with db.tenant_tx(scope):
        return await paginate(await _visible(scope), page, settings().max_page_size)


async def mailboxes_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Mailbox]:
    if not scope.can("mailboxes:read"):
        return {}
    async with db.tenant_tx(scope):
        return {m.id: m for m in await (await _visible(scope)).filter(id__in=list(ids))}


async def sends_today(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, int]:
    async with db.tenant_tx(scope):
        rows = await MailboxSendDay.filter(tenant_id=scope.tenant_id, mailbox_id__in=list(ids),
                                           day=rules.day_key(clock.now())
                                           ).values_list("mailbox_id", "count")
    return {mid: int(count) for mid, count in rows}


# --- connecting with OAuth -----------------------------------------------------------------------

def _sign(tenant: str, nonce: str) -> str:
    mac = hmac.new(settings().secret_key.encode(), f"mailbox-state:{tenant}.{nonce}".encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def _nonce_hash(nonce: str) -> str:
    return digest(nonce)


def acting_user(scope: Scope) -> UUID:
    if scope.user_id is None:
        raise Forbidden("Only a member can connect or send from a mailbox.")
    return scope.user_id


async def start_connection(scope: Scope, *, provider: str, login_hint: str | None = None) -> str:
    """An authorization URL for the acting member; the state (tenant, nonce, signature) is
    single-use and expires after STATE_TTL. The PKCE verifier never leaves the server."""
    scope.require("mailboxes:write")
    user_id = acting_user(scope)
    if provider not in OAUTH_PROVIDERS:
        raise DomainError("Use google or microsoft.", field="provider", code="INVALID")
    if login_hint:
        login_hint = rules.check_address(login_hint, field="loginHint")
    nonce = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(64)
    tenant = str(scope.tenant_id)
    state = f"{tenant}.{nonce}.{_sign(tenant, nonce)}"
    url = oauth.authorization_url(provider, state=state, code_verifier=verifier,
                                  login_hint=login_hint)
    now = clock.now()
    async with db.tenant_tx(scope):
        # Housekeeping: handshakes that ended (or were abandoned) a day ago are of no use.
        await OAuthState.filter(tenant_id=scope.tenant_id,
                                expires_at__lt=now - timedelta(days=1)).delete()
        await OAuthState.create(tenant_id=scope.tenant_id, user_id=user_id, provider=provider,
                                nonce_hash=_nonce_hash(nonce), code_verifier_enc=vault.seal(verifier),
                                created_at=now, expires_at=now + STATE_TTL)
    return url


def _parse_state(state: str) -> tuple[UUID, str]:
    invalid = InvalidState("This connection link is invalid or has expired; start again.",
                           field="state")
    parts = (state or "").split(".")
    if len(parts) != 3:
        raise invalid
    tenant, nonce, signature = parts
    if not same(_sign(tenant, nonce), signature):
        raise invalid
    try:
        return UUID(tenant), nonce
    except ValueError:
        raise invalid from None


async def _consume_state(provider: str, state: str) -> tuple[UUID, UUID, str]:
    """(tenant id, user id, PKCE verifier); the state is used up whatever happens next."""
    tenant_id, nonce = _parse_state(state)
    invalid = InvalidState("This connection link is invalid or has expired; start again.",
                           field="state")
    now = clock.now()
    async with db.system_tenant_tx(str(tenant_id)):
        row = await OAuthState.get_or_none(tenant_id=tenant_id, nonce_hash=_nonce_hash(nonce),
                                           provider=provider)
        if row is None:
            raise invalid
        claimed = await OAuthState.filter(id=row.id, tenant_id=tenant_id, used_at=None
                                          ).update(used_at=now)
        if claimed != 1 or row.expires_at <= now:
            raise invalid
        if not await _is_member(tenant_id, row.user_id):  # removed since starting
            raise invalid
        return tenant_id, row.user_id, vault.unseal(row.code_verifier_enc)


async def _is_member(tenant_id: UUID, user_id: UUID) -> bool:
    return user_id in await tenancy.users_by_ids(Scope.system(tenant_id), [user_id])


async def _read_identity(provider: str, access_token: str) -> tuple[str, str]:
    """(address, display name) of the account that consented."""
    if provider == GOOGLE:
        profile = await gmail.profile(access_token)
        return str(profile["emailAddress"]), ""
    me = await graph.me(access_token)
    return str(me.get("mail") or me.get("userPrincipalName")), str(me.get("displayName") or "")


async def finish_connection(*, provider: str, code: str, state: str) -> Mailbox:
    """The OAuth callback: exchange the code (with the stored verifier), read the address and
    store the mailbox with encrypted tokens. Reconnecting one's own mailbox reuses its row."""
    if provider not in OAUTH_PROVIDERS:
        raise InvalidState("Unknown provider.", field="provider")
    tenant_id, user_id, verifier = await _consume_state(provider, state)
    if not code:
        raise ConnectionFailed("The provider sent no authorization code.", field="code")
    try:
        tokens = await oauth.exchange_code(provider, code=code, code_verifier=verifier)
        address, name = await _read_identity(provider, tokens.access_token)
    except ProviderFault as fault:
        log.warning("mailbox connection failed for tenant %s: %s", tenant_id, fault.detail)
        raise ConnectionFailed("The provider refused the connection; try again.",
                               field="code") from None
    address = rules.check_address(address, field="address")
    try:
        return await _store_oauth_mailbox(tenant_id, user_id, provider, address, name, tokens)
    except AddressTaken:
        await oauth.revoke(provider, token=tokens.refresh_token or tokens.access_token)
        raise


async def _store_oauth_mailbox(tenant_id: UUID, user_id: UUID, provider: str, address: str,
                               name: str, tokens: oauth.TokenSet) -> Mailbox:
    now = clock.now()
    async with db.system_tenant_tx(str(tenant_id)):
        mailbox = await _existing(tenant_id, address, user_id)
        values: dict[str, Any] = {
            "provider": provider, "display_name": name[:200], "status": CONNECTED,
            "access_token_enc": vault.seal(tokens.access_token),
            "refresh_token_enc": vault.seal(tokens.refresh_token) if tokens.refresh_token else None,
            "token_expires_at": tokens.expires_at, "last_error": None, "last_error_at": None,
            "consecutive_failures": 0, "paused_until": None, "connected_at": now,
            "updated_at": now, "owner_id": user_id,
            "smtp_host": None, "smtp_port": None, "smtp_tls": None, "smtp_username": None,
            "smtp_password_enc": None,
        }
        try:
            if mailbox is None:
                mailbox = await Mailbox.create(tenant_id=tenant_id, address=address, **values)
            else:
                mailbox.update_from_dict(values)
                await mailbox.save()
        except IntegrityError:  # connected concurrently by someone else
            raise AddressTaken("This address is already connected by another member.",
                               field="address") from None
        await publish(events.MAILBOX_CONNECTED, {"mailboxId": str(mailbox.id),
                                                 "provider": provider, "address": address,
                                                 "ownerId": str(user_id)}, tenant_id=tenant_id)
        return mailbox


async def _existing(tenant_id: UUID, address: str, user_id: UUID) -> Mailbox | None:
    """The row to reuse for this address, or AddressTaken when someone else holds it."""
    query = Mailbox.filter(tenant_id=tenant_id, address=address.lower())
    if db.dialect() == "postgres":
        query = query.select_for_update()
    mailbox = await query.first()
    if mailbox is not None and mailbox.owner_id != user_id and mailbox.status != DISCONNECTED:
        raise AddressTaken("This address is already connected by another member.",
                           field="address")
    return mailbox


# --- SMTP ----------------------------------------------------------------------------------------

async def connect_smtp(scope: Scope, *, address: str, host: str, port: int, tls: str,
                       username: str, password: str, display_name: str = "",
                       daily_limit: int | None = None) -> Mailbox:
    """Verified by a login first: failing credentials store nothing."""
    scope.require("mailboxes:write")
    user_id = acting_user(scope)
    address = rules.check_address(address, field="address").lower()
    host = rules.check_header_text((host or "").strip(), field="host")
    if not host or len(host) > 253:
        raise DomainError("Give the SMTP host.", field="host", code="REQUIRED")
    if not 1 <= port <= 65535:
        raise DomainError("Use a port from 1 to 65535.", field="port", code="OUT_OF_RANGE")
    if tls not in rules.SMTP_TLS_MODES:
        raise DomainError("Use starttls, ssl or none.", field="tls", code="INVALID")
    if not username or len(username) > 254 or not password or len(password) > 1000:
        raise DomainError("Give the SMTP username and password.",
                          field="username" if not username else "password", code="REQUIRED")
    limit = _check_limit(daily_limit)
    display_name = rules.check_header_text((display_name or "").strip()[:200], field="displayName")
    async with db.tenant_tx(scope):
        await _existing(scope.tenant_id, address, user_id)
    account = smtp.SmtpAccount(host, port, tls, username, password)
    try:
        await smtp.verify_login(account)
    except ProviderFault as fault:
        if fault.kind == "reconnect":
            raise SmtpLoginFailed("The SMTP server refused these credentials.",
                                  field="password") from None
        raise ConnectionFailed(f"Could not reach the SMTP server ({fault.detail}).",
                               field="host") from None
    now = clock.now()
    async with db.tenant_tx(scope):
        mailbox = await _existing(scope.tenant_id, address, user_id)
        values: dict[str, Any] = {
            "provider": SMTP, "display_name": display_name, "status": CONNECTED,
            "owner_id": user_id, "smtp_host": host, "smtp_port": port, "smtp_tls": tls,
            "smtp_username": username, "smtp_password_enc": vault.seal(password),
            "access_token_enc": None, "refresh_token_enc": None, "token_expires_at": None,
            "daily_limit": limit, "last_error": None, "last_error_at": None,
            "consecutive_failures": 0, "paused_until": None, "connected_at": now,
            "updated_at": now,
        }
        try:
            if mailbox is None:
                mailbox = await Mailbox.create(tenant_id=scope.tenant_id, address=address,
                                               **values)
            else:
                mailbox.update_from_dict(values)
                await mailbox.save()
        except IntegrityError:
            raise AddressTaken("This address is already connected by another member.",
                               field="address") from None
        await publish(events.MAILBOX_CONNECTED, {"mailboxId": str(mailbox.id), "provider": SMTP,
                                                 "address": address, "ownerId": str(user_id)},
                      scope=scope)
        return mailbox


def _check_limit(value: int | None) -> int:
    if value is None:
        return rules.DEFAULT_DAILY_LIMIT
    if not 1 <= value <= 10_000:
        raise DomainError("Use a daily limit from 1 to 10000.", field="dailyLimit",
                          code="OUT_OF_RANGE")
    return value


async def owned_mailbox(scope: Scope, mailbox_id: UUID) -> Mailbox:
    """The mailbox for a change: its owner's, or any for an admin."""
    user_id = acting_user(scope)
    query = Mailbox.filter(tenant_id=scope.tenant_id, id=mailbox_id)
    if db.dialect() == "postgres":
        query = query.select_for_update()
    mailbox = await query.first()
    if mailbox is None or (mailbox.owner_id != user_id and scope.role != "admin"):
        raise NotFound("No such mailbox.", field="mailboxId")
    return mailbox


async def update_mailbox(scope: Scope, *, mailbox_id: UUID, daily_limit: int | None = None
                         ) -> Mailbox:
    scope.require("mailboxes:write")
    async with db.tenant_tx(scope):
        mailbox = await owned_mailbox(scope, mailbox_id)
        if daily_limit is not None:
            mailbox.daily_limit = _check_limit(daily_limit)
        mailbox.updated_at = clock.now()
        await mailbox.save(update_fields=["daily_limit", "updated_at"])
        return mailbox


async def disconnect_mailbox(scope: Scope, *, mailbox_id: UUID) -> Mailbox:
    """Revokes at the provider (best effort: the user may already have), then forgets every
    secret. The row stays, disconnected, for history and grants' audit."""
    scope.require("mailboxes:write")
    async with db.tenant_tx(scope):
        mailbox = await owned_mailbox(scope, mailbox_id)
        secret = vault.reveal(mailbox, "refresh_token_enc") or vault.reveal(mailbox,
                                                                            "access_token_enc")
    if secret and mailbox.provider in OAUTH_PROVIDERS:
        await oauth.revoke(mailbox.provider, token=secret)
    async with db.tenant_tx(scope):
        mailbox = await owned_mailbox(scope, mailbox_id)
        mailbox.update_from_dict({"status": DISCONNECTED, "access_token_enc": None,
                                  "refresh_token_enc": None, "token_expires_at": None,
                                  "smtp_password_enc": None, "updated_at": clock.now()})
        await mailbox.save()
        await publish(events.MAILBOX_DISCONNECTED, {"mailboxId": str(mailbox.id)}, scope=scope)
        return mailbox


# --- failure bookkeeping -------------------------------------------------------------------------

def reconnect_url(mailbox: Mailbox) -> str:
    return f"{settings().public_base_url}/settings/mailboxes?reconnect={mailbox.id}"


async def mark_needs_reconnect(tenant_id: UUID, mailbox_id: UUID, detail: str) -> None:
    """Pause the mailbox's sends and tell its owner, once per transition."""
    now = clock.now()
    async with db.system_tenant_tx(str(tenant_id)):
        query = Mailbox.filter(tenant_id=tenant_id, id=mailbox_id)
        if db.dialect() == "postgres":
            query = query.select_for_update()
        mailbox = await query.first()
        if mailbox is None or mailbox.status != CONNECTED:
            return
        mailbox.update_from_dict({"status": NEEDS_RECONNECT, "last_error": rules.safe_error(detail),
                                  "last_error_at": now,
                                  "consecutive_failures": mailbox.consecutive_failures + 1,
                                  "updated_at": now})
        await mailbox.save()
        await prospects.notify(
            Scope.system(tenant_id), user_id=mailbox.owner_id, kind="mailbox_needs_reconnect",
            payload={"mailboxId": str(mailbox.id), "address": mailbox.address,
                     "provider": mailbox.provider, "reconnectUrl": reconnect_url(mailbox)})
        await publish(events.MAILBOX_NEEDS_RECONNECT,
                      {"mailboxId": str(mailbox.id), "address": mailbox.address,
                       "ownerId": str(mailbox.owner_id)}, tenant_id=tenant_id)
    log.warning("mailbox %s needs reconnecting: %s", mailbox_id, rules.safe_error(detail))


async def record_failure(tenant_id: UUID, mailbox_id: UUID, detail: str, *,
                         pause_seconds: float | None = None) -> None:
    now = clock.now()
    async with db.system_tenant_tx(str(tenant_id)):
        mailbox = await Mailbox.get_or_none(tenant_id=tenant_id, id=mailbox_id)
        if mailbox is None:
            return
        mailbox.last_error = rules.safe_error(detail)
        mailbox.last_error_at = now
        mailbox.consecutive_failures += 1
        if pause_seconds:
            mailbox.paused_until = now + timedelta(seconds=pause_seconds)
        mailbox.updated_at = now
        await mailbox.save(update_fields=["last_error", "last_error_at", "consecutive_failures",
                                          "paused_until", "updated_at"])


async def record_success(tenant_id: UUID, mailbox_id: UUID) -> None:
    async with db.system_tenant_tx(str(tenant_id)):
        await Mailbox.filter(tenant_id=tenant_id, id=mailbox_id).update(
            consecutive_failures=0, paused_until=None)
