"""Authentication: login, rotating refresh tokens, logout, and turning credentials into a Scope.

Access tokens are short-lived signed JWTs naming user, tenant and session. Each request still
checks that the session is live and the membership exists (cached for a moment), so logout,
removal and role changes take effect within AUTH_CACHE_SECONDS, and at once in this process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.core import clock, db
from domain.core.config import settings
from domain.core.errors import Unauthenticated
from domain.core.scope import Scope
from domain.core.security import (
    TokenInvalid,
    digest,
    new_token,
    read_access_token,
    same,
    sign_access_token,
    verify_password,
)
from domain.tenancy import rules
from domain.tenancy.errors import InvalidCredentials, InvalidToken, TooManyAttempts
from domain.tenancy.models import (
    ApiKey,
    AuthSession,
    LoginFailure,
    Membership,
    RefreshToken,
    Tenant,
    User,
)

REFRESH_PREFIX = "tgr_"
API_KEY_PREFIX = "tgk_"
AUTH_CACHE_SECONDS = 2.0
API_KEY_TOUCH_SECONDS = 60


@dataclass(frozen=True)
class IssuedSession:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    user: User
    tenant: Tenant
    role: str


async def issue_session(user: User, tenant: Tenant, role: str,
                        session: AuthSession | None = None) -> IssuedSession:
    """Create (or continue) a session and mint its tokens; call inside a transaction."""
    cfg = settings()
    now = clock.now()
    if session is None:
        session = await AuthSession.create(user_id=user.id, tenant_id=tenant.id)
    refresh = new_token(REFRESH_PREFIX)
    refresh_expires = now + timedelta(seconds=cfg.refresh_token_ttl_seconds)
    await RefreshToken.create(session_id=session.id, token_hash=digest(refresh),
                              expires_at=refresh_expires)
    access_expires = now + timedelta(seconds=cfg.access_token_ttl_seconds)
    access = sign_access_token(cfg.secret_key, {
        "typ": "access", "sub": str(user.id), "tid": str(tenant.id), "sid": str(session.id),
        "iat": int(now.timestamp()), "exp": int(access_expires.timestamp()),
    })
    return IssuedSession(access, access_expires, refresh, refresh_expires, user, tenant, role)


async def record_login_failure(email: str) -> None:
    """In a transaction of its own: the failing operation's transaction rolls back."""
    async with db.identity_tx():
        await LoginFailure.create(email=email, created_at=clock.now())


async def throttled(email: str) -> bool:
    cfg = settings()
    since = clock.now() - timedelta(seconds=cfg.login_window_seconds)
    return await LoginFailure.filter(email=email, created_at__gte=since).count() >= \
        cfg.login_max_failures


async def login(*, email: str, password: str, tenant_slug: str | None = None) -> IssuedSession:
    email = rules.normalise_email(email)
    async with db.identity_tx():
        if await throttled(email):
            raise TooManyAttempts("Too many failed attempts; try again in a few minutes.",
                                  field="email")
        user = await User.get_or_none(email=email)
        membership = None
        if user is not None:
            memberships = Membership.filter(user_id=user.id)
            if tenant_slug:
                memberships = memberships.filter(tenant__slug=tenant_slug)
            membership = await memberships.order_by("created_at").first()
        # Verify even for unknown users so that timing does not reveal who has an account.
        password_ok = verify_password(user.password_hash if user else None, password)
        if user and membership and password_ok:
            await LoginFailure.filter(email=email).delete()
            tenant = await Tenant.get(id=membership.tenant_id)
            return await issue_session(user, tenant, membership.role)
    await record_login_failure(email)
    raise InvalidCredentials("Wrong email or password.", field="password")


async def refresh_session(*, refresh_token: str) -> IssuedSession:
    """Rotate: the presented token is spent; presenting a spent one revokes the whole session."""
    now = clock.now()
    revoked_family = False
    async with db.identity_tx():
        query = RefreshToken.filter(token_hash=digest(refresh_token or ""))
        if db.dialect() == "postgres":
            query = query.select_for_update()
        token = await query.first()
        if token is None:
            raise InvalidToken("Unknown or expired refresh token.", field="refreshToken")
        session = await AuthSession.get(id=token.session_id)
        membership = await Membership.get_or_none(tenant_id=session.tenant_id,
                                                  user_id=session.user_id)
        if token.used_at is not None and session.revoked_at is None:
            session.revoked_at, session.revoked_reason = now, "refresh_reuse"
            await session.save(update_fields=["revoked_at", "revoked_reason"])
            revoked_family = True
        elif session.revoked_at is None and token.expires_at > now and membership is not None:
            token.used_at = now
            await token.save(update_fields=["used_at"])
            user = await User.get(id=session.user_id)
            tenant = await Tenant.get(id=session.tenant_id)
            return await issue_session(user, tenant, membership.role, session)
    if revoked_family:
        forget_cached_auth()
    raise InvalidToken("Unknown or expired refresh token.", field="refreshToken")


async def revoke_session(*, session_id: UUID | None = None, refresh_token: str | None = None,
                         reason: str = "logout") -> bool:
    async with db.identity_tx():
        if refresh_token is not None:
            token = await RefreshToken.get_or_none(token_hash=digest(refresh_token))
            if token is None:
                return False
            session_id = token.session_id
        updated = await AuthSession.filter(id=session_id, revoked_at=None).update(
            revoked_at=clock.now(), revoked_reason=reason)
    forget_cached_auth()
    return bool(updated)


async def revoke_member_sessions(*, tenant_id: UUID, user_id: UUID, reason: str) -> None:
    """Call inside the transaction that changes the membership."""
    await AuthSession.filter(tenant_id=tenant_id, user_id=user_id, revoked_at=None).update(
        revoked_at=clock.now(), revoked_reason=reason)
    db.on_commit(_forget_async)


# access token -> (monotonic deadline, token expiry, scope or None once the session is over).
# Only tokens with a valid signature get here, so strangers cannot fill it with garbage.
_scopes: dict[str, tuple[float, int, Scope | None]] = {}
# Concurrent requests with the same token wait for one lookup instead of each querying.
_lookups: dict[str, asyncio.Future[tuple[float, int, Scope | None]]] = {}


_generation = 0


def forget_cached_auth() -> None:
    """After a revocation: drop cached scopes, and let no lookup already under way store one."""
    global _generation
    _generation += 1
    _scopes.clear()
    _lookups.clear()


async def _forget_async() -> None:
    forget_cached_auth()


async def _lookup(claims: dict[str, Any]) -> tuple[float, int, Scope | None]:
    sid, uid, tid = claims["sid"], claims["sub"], claims["tid"]
    async with db.identity_tx():
        live = await AuthSession.filter(id=sid, user_id=uid, tenant_id=tid,
                                        revoked_at=None).exists()
        roles = await Membership.filter(tenant_id=tid, user_id=uid).values_list(
            "role", flat=True) if live else []
    scope = None
    if roles:
        role = str(roles[0])
        scope = Scope(tenant_id=UUID(tid), permissions=rules.ROLE_PERMISSIONS[role],
                      user_id=UUID(uid), role=role, session_id=UUID(sid))
    return time.monotonic() + AUTH_CACHE_SECONDS, int(claims["exp"]), scope


def cached_scope(token: str) -> Scope | None:
    """The scope of an access token checked within the last AUTH_CACHE_SECONDS, without a
    coroutine (the common case on the request path); None when scope_from_bearer must look."""
    hit = _scopes.get(token)
    if hit is None or hit[0] <= time.monotonic() or hit[1] <= clock.now().timestamp():
        return None
    return hit[2]


async def scope_from_access_token(token: str) -> Scope:
    hit = _scopes.get(token)
    if hit is None or hit[0] <= time.monotonic() or hit[1] <= clock.now().timestamp():
        try:
            claims = read_access_token(settings().secret_key, token, clock.now())
            UUID(claims["sid"]), UUID(claims["sub"]), UUID(claims["tid"])
        except (TokenInvalid, KeyError, ValueError, TypeError) as exc:
            raise Unauthenticated("Invalid or expired access token.") from exc
        generation = _generation
        pending = _lookups.get(token)
        if pending is None:
            pending = asyncio.ensure_future(_lookup(claims))
            _lookups[token] = pending
            pending.add_done_callback(lambda done: _lookups.pop(token, None)
                                      if _lookups.get(token) is done else None)
        hit = await asyncio.shield(pending)
        if generation == _generation:
            if len(_scopes) > 50_000:
                _scopes.clear()
            _scopes[token] = hit
    if hit[2] is None:
        raise Unauthenticated("This session has ended; log in again.")
    return hit[2]


def split_api_key(secret: str) -> UUID | None:
    body = secret[len(API_KEY_PREFIX):] if secret.startswith(API_KEY_PREFIX) else ""
    try:
        return UUID(hex=body[:32]) if len(body) > 32 else None
    except ValueError:
        return None


async def scope_from_api_key(secret: str) -> Scope:
    key_id = split_api_key(secret)
    if key_id is None:
        raise Unauthenticated("Invalid API key.")
    now = clock.now()
    async with db.identity_tx():
        key = await ApiKey.get_or_none(id=key_id)
        if key is None or not same(key.secret_hash, digest(secret)) or key.revoked_at:
            raise Unauthenticated("Invalid or revoked API key.")
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > \
                API_KEY_TOUCH_SECONDS:
            await ApiKey.filter(id=key.id).update(last_used_at=now)
    return Scope(tenant_id=key.tenant_id, permissions=frozenset(key.scopes),
                 api_key_id=key.id)


async def scope_from_bearer(credential: str) -> Scope:
    if credential.startswith(API_KEY_PREFIX):
        return await scope_from_api_key(credential)
    return await scope_from_access_token(credential)
