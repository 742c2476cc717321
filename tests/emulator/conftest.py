"""Helpers for talking to the emulator the way a real OAuth client does."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.emulator_fixture import Emulator

CLIENT_ID, CLIENT_SECRET = "talentgraph-dev", "talentgraph-dev-secret"
REDIRECT = "http://127.0.0.1:8000/oauth/callback"
VERIFIER = "a-verifier-that-is-long-enough-for-pkce-0123456789"
GOOGLE_SCOPE = "openid email https://www.googleapis.com/auth/gmail.send"
MICROSOFT_SCOPE = "offline_access openid email https://graph.microsoft.com/Mail.Send"


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, timeout=10) as client:
        yield client


@dataclass
class Paths:
    authorize: str
    token: str


PATHS = {"google": Paths("/google/accounts/o/oauth2/v2/auth", "/google/oauth2/token"),
         "microsoft": Paths("/microsoft/login/common/oauth2/v2.0/authorize",
                            "/microsoft/login/common/oauth2/v2.0/token")}


def authorize(http: httpx.Client, provider: str, *, login_hint: str | None = None,
              verifier: str = VERIFIER, state: str = "st-1", **extra: str) -> dict[str, list[str]]:
    params = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT,
              "scope": GOOGLE_SCOPE if provider == "google" else MICROSOFT_SCOPE, "state": state,
              "code_challenge": challenge(verifier), "code_challenge_method": "S256"}
    if provider == "google":
        params["access_type"] = "offline"
    if login_hint:
        params["login_hint"] = login_hint
    params.update(extra)
    response = http.get(PATHS[provider].authorize, params=params)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


def exchange(http: httpx.Client, provider: str, code: str, *, verifier: str = VERIFIER,
             redirect_uri: str = REDIRECT) -> httpx.Response:
    return http.post(PATHS[provider].token, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code_verifier": verifier})


def refresh(http: httpx.Client, provider: str, refresh_token: str) -> httpx.Response:
    return http.post(PATHS[provider].token, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})


def connect(http: httpx.Client, provider: str, address: str) -> dict[str, Any]:
    """The whole consent flow for `address`: the token response."""
    code = authorize(http, provider, login_hint=address)["code"][0]
    response = exchange(http, provider, code)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
