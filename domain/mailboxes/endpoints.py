"""Provider base URLs and OAuth client settings, from configuration.

With PROVIDER_EMULATOR_URL every base URL is the emulator plus the real host's prefix; each
can still be overridden on its own (GOOGLE_ACCOUNTS_URL, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.core.config import Settings, settings
from domain.mailboxes.errors import ProviderNotConfigured
from domain.mailboxes.models import GOOGLE, MICROSOFT

_BASES = {
    "GOOGLE_ACCOUNTS_URL": ("/google/accounts", "https://accounts.google.com"),
    "GOOGLE_OAUTH2_URL": ("/google/oauth2", "https://oauth2.googleapis.com"),
    "GMAIL_API_URL": ("/google/gmail", "https://gmail.googleapis.com"),
    "MICROSOFT_LOGIN_URL": ("/microsoft/login", "https://login.microsoftonline.com"),
    "MICROSOFT_GRAPH_URL": ("/microsoft/graph", "https://graph.microsoft.com"),
}
# Client ids the emulator accepts when no real ones are configured.
_EMULATOR_CLIENT = ("talentgraph-dev", "talentgraph-dev-secret")

GOOGLE_SCOPES = ("openid email https://www.googleapis.com/auth/gmail.send "
                 "https://www.googleapis.com/auth/gmail.readonly "
                 "https://www.googleapis.com/auth/gmail.settings.basic")
MICROSOFT_SCOPES = ("offline_access openid email https://graph.microsoft.com/User.Read "
                    "https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.Read")


def base_url(name: str, current: Settings | None = None) -> str:
    current = current or settings()
    if name in current.provider_urls:
        return current.provider_urls[name]
    prefix, real = _BASES[name]
    if current.provider_emulator_url:
        return current.provider_emulator_url + prefix
    return real


@dataclass(frozen=True)
class OAuthEndpoints:
    provider: str
    authorize_url: str
    token_url: str
    revoke_url: str | None
    client_id: str
    client_secret: str
    scope: str
    extra: tuple[tuple[str, str], ...]


def oauth_endpoints(provider: str) -> OAuthEndpoints:
    current = settings()
    emulated = current.provider_emulator_url is not None
    if provider == GOOGLE:
        client_id, secret = current.google_client_id, current.google_client_secret
        if not client_id and emulated:
            client_id, secret = _EMULATOR_CLIENT
        if not client_id:
            raise ProviderNotConfigured("Google is not configured (GOOGLE_CLIENT_ID).",
                                        field="provider")
        return OAuthEndpoints(
            provider, base_url("GOOGLE_ACCOUNTS_URL") + "/o/oauth2/v2/auth",
            base_url("GOOGLE_OAUTH2_URL") + "/token", base_url("GOOGLE_OAUTH2_URL") + "/revoke",
            client_id, secret or "", GOOGLE_SCOPES,
            # offline + consent: Google only returns a refresh token when asked this way.
            (("access_type", "offline"), ("prompt", "consent"), ("include_granted_scopes", "true")))
    if provider == MICROSOFT:
        client_id, secret = current.microsoft_client_id, current.microsoft_client_secret
        if not client_id and emulated:
            client_id, secret = _EMULATOR_CLIENT
        if not client_id:
            raise ProviderNotConfigured("Microsoft is not configured (MICROSOFT_CLIENT_ID).",
                                        field="provider")
        login = base_url("MICROSOFT_LOGIN_URL") + f"/{current.microsoft_tenant}/oauth2/v2.0"
        # The identity platform has no token revocation endpoint; disconnect forgets tokens.
        return OAuthEndpoints(provider, login + "/authorize", login + "/token", None,
                              client_id, secret or "", MICROSOFT_SCOPES, ())
    raise ProviderNotConfigured("Unknown provider.", field="provider")


def redirect_uri(provider: str) -> str:
    return f"{settings().public_base_url}/oauth/callback/{provider}"
