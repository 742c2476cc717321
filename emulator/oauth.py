"""The OAuth 2.0 authorization-code flow with PKCE (S256), shared by Google and Microsoft.

Both providers get the same rules (single-use codes bound to client, redirect_uri and
code_challenge; access tokens with a TTL; bearer checks) and differ only in their error bodies
and in refresh: Google keeps the refresh token, Microsoft rotates it on every refresh, and here
each Microsoft refresh token works once (the strictest real case).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from emulator import faults
from emulator.faults import Reply
from emulator.state import DEFAULT_ADDRESS, Account, AuthCode, Grant, Store


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def form_of(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (all the OAuth endpoints take), first value wins."""
    pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(claims: Mapping[str, object], key: str) -> str:
    """An OIDC id_token signed HS256 with the client secret (allowed for confidential clients);
    readers that only decode claims see the same fields as the real one."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(dict(claims)).encode())
    signature = hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


# authorization endpoint -------------------------------------------------------------------------
CONSENT_PAGE = """<!doctype html>
<html><head><title>{title}</title></head><body>
<h1>{title}</h1><p>The application <b>{client}</b> wants to send and read mail as:</p>
<form method="post" action="{action}">{hidden}
<label>Account <input name="login_hint" value="{account}"></label>
<button type="submit" name="consent" value="allow">Allow</button></form></body></html>"""


def _bad_authorize(provider: str, store: Store, message: str) -> Response:
    # Without a trusted client/redirect_uri the providers show an error page, never redirect.
    if provider == "google":
        text = f"Error 400: invalid_request\n{message}"
    else:
        text = f"AADSTS900144: {message} Trace ID: {store.request_id()}"
    return HTMLResponse(f"<!doctype html><title>Error</title><pre>{html.escape(text)}</pre>",
                        status_code=400)


async def authorize(request: Request, provider: str) -> Response:
    store = store_of(request)
    params: dict[str, str] = dict(request.query_params)
    if request.method == "POST":
        params.update(await form_of(request))
    for required in ("client_id", "redirect_uri"):
        if not params.get(required):
            return _bad_authorize(provider, store, f"Missing required parameter: {required}")
    redirect_uri, state = params["redirect_uri"], params.get("state")

    def fail(error: str, description: str) -> Response:
        out = {"error": error, "error_description": description}
        if state is not None:
            out["state"] = state
        return RedirectResponse(with_query(redirect_uri, out), status_code=302)

    if params.get("response_type") != "code":
        return fail("unsupported_response_type", "Only response_type=code is supported.")
    if not params.get("code_challenge"):
        return fail("invalid_request", "Missing required parameter: code_challenge")
    if params.get("code_challenge_method") != "S256":
        return fail("invalid_request", "Invalid code_challenge_method: only S256 is supported.")

    address = params.get("login_hint") or DEFAULT_ADDRESS[provider]
    wants_page = params.get("prompt") == "consent_page" or "text/html" in request.headers.get("accept", "")
    if request.method == "GET" and wants_page:
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in params.items() if k != "login_hint")
        title = "Sign in with Google" if provider == "google" else "Sign in to your Microsoft account"
        return HTMLResponse(CONSENT_PAGE.format(title=title, client=html.escape(params["client_id"]),
                                                action=html.escape(request.url.path), hidden=hidden,
                                                account=html.escape(address)))

    scope = params.get("scope", "")
    offline = (params.get("access_type") == "offline" if provider == "google"
               else "offline_access" in scope.split())
    account = store.account(provider, address)
    code = store.issue_code(provider=provider, address=account.address, client_id=params["client_id"],
                            redirect_uri=redirect_uri, scope=scope, challenge=params["code_challenge"],
                            offline=offline)
    out = {"code": code.code}
    if state is not None:
        out = {"state": state, **out}
    if provider == "google":
        out["scope"] = scope
    else:
        out["session_state"] = store.request_id()
    return RedirectResponse(with_query(redirect_uri, out), status_code=302)


# token endpoint ---------------------------------------------------------------------------------
class _Errors:
    """Per-provider error bodies for the token endpoint's failure cases."""

    def __init__(self, provider: str, store: Store) -> None:
        self.provider, self.store = provider, store

    def _g(self, error: str, description: str, status: int = 400) -> Reply:
        return Reply(faults.google_token_error(error, description, status))

    def _m(self, error: str, code: int, text: str, status: int = 400) -> Reply:
        return Reply(faults.ms_token_error(self.store, error, code, text, status))

    def missing(self, name: str) -> Reply:
        if self.provider == "google":
            if name == "client_id":
                return self._g("invalid_request", "Could not determine client ID from request.")
            return self._g("invalid_request", f"Missing required parameter: {name}")
        return self._m("invalid_request", 900144,
                       f"The request body must contain the following parameter: '{name}'.")

    def grant_type(self, value: str) -> Reply:
        if self.provider == "google":
            return self._g("unsupported_grant_type", f"Invalid grant_type: {value}")
        return self._m("unsupported_grant_type", 70003,
                       f"The app requested an unsupported grant type '{value}'.")

    def bad_code(self) -> Reply:
        if self.provider == "google":
            return self._g("invalid_grant", "Malformed auth code.")
        return self._m("invalid_grant", 70008, "The provided authorization code or refresh token has expired "
                       "due to inactivity. Send a new interactive authorization request for this user and "
                       "resource.")

    def used_code(self) -> Reply:
        if self.provider == "google":
            return self._g("invalid_grant", "Bad Request")
        return self._m("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry "
                       "with a new valid code or use an existing refresh token.")

    def redirect_mismatch(self) -> Reply:
        if self.provider == "google":
            return self._g("redirect_uri_mismatch", "Bad Request")
        return self._m("invalid_grant", 70000, "The provided value for the input parameter 'redirect_uri' "
                       "does not match the redirect URI of the authorization request.")

    def client_mismatch(self) -> Reply:
        if self.provider == "google":
            return self._g("unauthorized_client", "Unauthorized")
        return self._m("invalid_grant", 70000, "The grant was issued to a different client.")

    def missing_verifier(self) -> Reply:
        if self.provider == "google":
            return self._g("invalid_grant", "Missing code verifier.")
        return self._m("invalid_request", 900144,
                       "The request body must contain the following parameter: 'code_verifier'.")

    def bad_verifier(self) -> Reply:
        if self.provider == "google":
            return self._g("invalid_grant", "Invalid code verifier.")
        return self._m("invalid_grant", 50148, "The code_verifier does not match the code_challenge supplied "
                       "in the authorization request for PKCE.")

    def bad_refresh(self) -> Reply:
        if self.provider == "google":
            return self._g("invalid_grant", "Bad Request")
        return self._m("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")

    def used_refresh(self) -> Reply:
        if self.provider == "google":  # Google never rotates, so this cannot happen there
            return self._g("invalid_grant", "Token has been expired or revoked.")
        return self._m("invalid_grant", 70000, "The provided value for the 'refresh_token' is not valid: "
                       "it has already been redeemed.")

    def revoked(self) -> Reply:
        if self.provider == "google":
            return self._g("invalid_grant", "Token has been expired or revoked.")
        return self._m("invalid_grant", 50173, "The provided grant has expired due to it being revoked, a "
                       "fresh auth token is needed. The user might have changed or reset their password.")


def _client(request: Request, form: Mapping[str, str]) -> tuple[str, str]:
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            user, password = "", ""
        client_id, secret = client_id or user, secret or password
    return client_id, secret


def _token_body(store: Store, grant: Grant, secret: str, *, with_refresh: bool,
                include_id_token: bool) -> dict[str, object]:
    access = store.mint_access(grant)
    body: dict[str, object] = {"access_token": access.token, "expires_in": store.access_token_ttl,
                               "scope": grant.scope, "token_type": "Bearer"}
    if grant.provider == "microsoft":
        body["ext_expires_in"] = store.access_token_ttl
    if with_refresh and grant.refresh_token:
        body["refresh_token"] = grant.refresh_token
    if include_id_token and "openid" in grant.scope.split():
        account = store.account(grant.provider, grant.address)
        now = int(time.time())
        if grant.provider == "google":
            claims: dict[str, object] = {
                "iss": "https://accounts.google.com", "aud": grant.client_id, "azp": grant.client_id,
                "sub": str(int(account.user_id.replace("-", "")[:15], 16)), "email": account.address,
                "email_verified": True, "name": account.display_name, "iat": now, "exp": now + 3600}
        else:
            tid = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the consumer-accounts tenant
            claims = {"iss": f"https://login.microsoftonline.com/{tid}/v2.0", "aud": grant.client_id,
                      "tid": tid, "oid": account.user_id, "sub": account.user_id,
                      "preferred_username": account.address, "email": account.address,
                      "name": account.display_name, "ver": "2.0", "iat": now, "nbf": now, "exp": now + 3600}
        body["id_token"] = id_token(claims, secret or grant.client_id)
    return body


async def token(request: Request, provider: str) -> Response:
    store = store_of(request)
    form = await form_of(request)
    await faults.apply(store, provider, "token")
    errors = _Errors(provider, store)
    client_id, secret = _client(request, form)
    if not client_id:
        raise errors.missing("client_id")
    if provider == "google" and not secret:
        raise errors.missing("client_secret")
    grant_type = form.get("grant_type", "")
    if grant_type == "authorization_code":
        code = store.codes.get(form.get("code", ""))
        if code is None or code.expires_at < time.time():
            raise errors.bad_code()
        if code.used:
            raise errors.used_code()
        # A code is spent by any redemption attempt, failed or not, as at the real providers.
        code.used = True
        _check_code(errors, code, client_id, form)
        grant = store.new_grant(code)
        return JSONResponse(_token_body(store, grant, secret, with_refresh=True, include_id_token=True),
                            headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
    if grant_type == "refresh_token":
        presented = form.get("refresh_token", "")
        if not presented:
            raise errors.missing("refresh_token")
        found = store.refresh_tokens.get(presented)
        if found is None:
            raise errors.bad_refresh()
        if found.client_id != client_id:
            raise errors.client_mismatch()
        if found.revoked:
            found.failed_refreshes += 1
            raise errors.revoked()
        if presented in found.used_refresh_tokens:
            found.failed_refreshes += 1
            raise errors.used_refresh()
        found.refreshes += 1
        rotated = provider == "microsoft"
        if rotated:
            store.rotate_refresh(found)
        if form.get("scope") and provider == "microsoft":
            found.scope = form["scope"]
        return JSONResponse(_token_body(store, found, secret, with_refresh=rotated, include_id_token=True),
                            headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
    if not grant_type:
        raise errors.missing("grant_type")
    raise errors.grant_type(grant_type)


def _check_code(errors: _Errors, code: AuthCode, client_id: str, form: Mapping[str, str]) -> None:
    if code.client_id != client_id:
        raise errors.client_mismatch()
    if form.get("redirect_uri", "") != code.redirect_uri:
        raise errors.redirect_mismatch()
    verifier = form.get("code_verifier", "")
    if not verifier:
        raise errors.missing_verifier()
    if not hmac.compare_digest(s256(verifier), code.challenge):
        raise errors.bad_verifier()


async def google_revoke(request: Request) -> Response:
    """Revoking either token of a grant revokes the whole grant (Google's documented behaviour)."""
    store = store_of(request)
    form = await form_of(request)
    presented = form.get("token") or request.query_params.get("token", "")
    grant = store.refresh_tokens.get(presented)
    if grant is None and presented in store.access_tokens:
        grant = store.access_tokens[presented].grant
    if grant is None or grant.provider != "google" or grant.revoked:
        return faults.google_token_error("invalid_token", "Token expired or revoked")
    grant.revoked = True
    return JSONResponse({})


# bearer check -----------------------------------------------------------------------------------
def authenticate(request: Request, provider: str) -> Account:
    """The account behind the request's bearer token, or a 401 in the provider's shape."""
    store = store_of(request)
    header = request.headers.get("authorization", "")
    token_value = header[7:].strip() if header.lower().startswith("bearer ") else ""
    found = store.access_tokens.get(token_value) if token_value else None
    problem = None
    if not token_value:
        problem = "Access token is empty."
    elif found is None or found.grant.provider != provider:
        problem = "IDX14100: JWT is not well formed, there are no dots (.)."
    elif found.expires_at <= time.time() or found.grant.revoked:
        problem = "Access token has expired or is not yet valid."
    if problem is not None or found is None:
        if provider == "google":
            raise Reply(faults.gmail_unauthenticated())
        raise Reply(faults.graph_unauthenticated(store, problem or ""))
    return store.account(provider, found.grant.address)
