"""The OAuth 2 side of connecting a mailbox: authorization URL (code + PKCE S256), code
exchange, refresh and revocation, through authlib's httpx client.

Every non-2xx answer of a token endpoint is classified into a ProviderFault by a compliance
hook before authlib parses it, so callers see one error type whatever the provider said.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from domain.core import clock
from domain.core.config import settings
from domain.mailboxes import rules
from domain.mailboxes.endpoints import OAuthEndpoints, oauth_endpoints, redirect_uri
from domain.mailboxes.errors import ProviderFault

with warnings.catch_warnings():
    # authlib 1.9 warns that its httpx integration will move to httpx2; it still works.
    import authlib.deprecate  # noqa: F401 - registers an "always" filter; ours must follow it

    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.oauth2.rfc6749.errors import OAuth2Error

def _timeout() -> httpx.Timeout:
    return httpx.Timeout(settings().provider_timeout_seconds, connect=5.0)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime

    def __repr__(self) -> str:  # never print a token, even in a traceback
        return f"TokenSet(expires_at={self.expires_at.isoformat()})"


def _classify(resp: httpx.Response) -> httpx.Response:
    if resp.status_code < 400:
        return resp
    try:
        body: Any = resp.json()
    except ValueError:
        body = None
    raise rules.classify_token_error(resp.status_code, body, dict(resp.headers), clock.now())


def _client(ep: OAuthEndpoints) -> AsyncOAuth2Client:
    client = AsyncOAuth2Client(
        ep.client_id, ep.client_secret, scope=ep.scope, redirect_uri=redirect_uri(ep.provider),
        code_challenge_method="S256", token_endpoint=ep.token_url, timeout=_timeout(),
        token_endpoint_auth_method="client_secret_post")
    client.register_compliance_hook("access_token_response", _classify)
    client.register_compliance_hook("refresh_token_response", _classify)
    return client


def authorization_url(provider: str, *, state: str, code_verifier: str,
                      login_hint: str | None = None) -> str:
    ep = oauth_endpoints(provider)
    extra: dict[str, str] = dict(ep.extra)
    if login_hint:
        extra["login_hint"] = login_hint
    client = _client(ep)
    url, _ = client.create_authorization_url(ep.authorize_url, state=state,
                                             code_verifier=code_verifier, **extra)
    return str(url)


def _token_set(token: dict[str, Any], previous_refresh: str | None) -> TokenSet:
    expires_in = int(token.get("expires_in") or 3600)
    return TokenSet(access_token=str(token["access_token"]),
                    # Google returns no new refresh token on refresh: keep the old one.
                    refresh_token=str(token.get("refresh_token") or previous_refresh or "") or None,
                    expires_at=clock.now() + timedelta(seconds=expires_in))


async def _call(action: Any) -> dict[str, Any]:
    try:
        return dict(await action)
    except ProviderFault:
        raise
    except httpx.TimeoutException as exc:
        raise ProviderFault("transient", "token endpoint timed out") from exc
    except httpx.HTTPError as exc:
        raise ProviderFault("transient", f"token endpoint unreachable ({type(exc).__name__})") from exc
    except OAuth2Error as exc:
        raise ProviderFault("permanent", f"token endpoint refused: {exc.error}") from exc
    except (ValueError, KeyError) as exc:
        raise ProviderFault("transient", "token endpoint sent an unreadable answer") from exc


async def exchange_code(provider: str, *, code: str, code_verifier: str) -> TokenSet:
    ep = oauth_endpoints(provider)
    async with _client(ep) as client:
        token = await _call(client.fetch_token(ep.token_url, code=code,
                                               code_verifier=code_verifier,
                                               redirect_uri=redirect_uri(provider)))
    if "access_token" not in token:
        raise ProviderFault("permanent", "token endpoint returned no access token")
    return _token_set(token, None)


async def refresh(provider: str, *, refresh_token: str) -> TokenSet:
    ep = oauth_endpoints(provider)
    async with _client(ep) as client:
        token = await _call(client.refresh_token(ep.token_url, refresh_token=refresh_token))
    if "access_token" not in token:
        raise ProviderFault("transient", "token endpoint returned no access token")
    return _token_set(token, refresh_token)


async def revoke(provider: str, *, token: str) -> bool:
    """Best effort: True when the provider confirmed. Microsoft has no revocation endpoint."""
    ep = oauth_endpoints(provider)
    if ep.revoke_url is None:
        return False
    try:
        async with httpx.AsyncClient(timeout=_timeout()) as http:
            resp = await http.post(ep.revoke_url, data={"token": token})
    except httpx.HTTPError:
        return False
    return resp.status_code == 200
