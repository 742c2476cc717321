"""Both OAuth flows with PKCE, in the providers' real shapes."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.emulator.conftest import (
    CLIENT_ID,
    GOOGLE_SCOPE,
    MICROSOFT_SCOPE,
    PATHS,
    REDIRECT,
    authorize,
    bearer,
    connect,
    exchange,
    refresh,
)
from tests.emulator_fixture import Emulator

PROFILE = "/google/gmail/gmail/v1/users/me/profile"
ME = "/microsoft/graph/v1.0/me"
GMAIL_401 = {"error": {
    "code": 401,
    "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
               "or other valid authentication credential. See "
               "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    "errors": [{"message": "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                           "login cookie or other valid authentication credential. See "
                           "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                "domain": "global", "reason": "authError", "location": "Authorization",
                "locationType": "header"}],
    "status": "UNAUTHENTICATED"}}


def claims(id_token: str) -> dict[str, object]:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def assert_aad_error(response: httpx.Response, error: str, code: int) -> dict[str, object]:
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "error_description", "error_codes", "timestamp", "trace_id",
                         "correlation_id", "error_uri"}
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert f"Trace ID: {body['trace_id']}" in body["error_description"]
    assert f"Correlation ID: {body['correlation_id']}" in body["error_description"]
    assert body["error_uri"] == f"https://login.microsoftonline.com/error?code={code}"
    return body


# Google -----------------------------------------------------------------------------------------
def test_google_code_flow_issues_tokens_for_the_login_hint(http: httpx.Client) -> None:
    query = authorize(http, "google", login_hint="Ada@Example.test")
    assert query["state"] == ["st-1"]
    assert query["scope"] == [GOOGLE_SCOPE]

    response = exchange(http, "google", query["code"][0])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token", "scope", "token_type", "id_token"}
    assert (body["expires_in"], body["token_type"], body["scope"]) == (3600, "Bearer", GOOGLE_SCOPE)
    assert body["access_token"].startswith("ya29.")
    assert body["refresh_token"].startswith("1//")
    identity = claims(body["id_token"])
    assert (identity["email"], identity["aud"], identity["iss"]) == (
        "ada@example.test", CLIENT_ID, "https://accounts.google.com")
    profile = http.get(PROFILE, headers=bearer(body["access_token"]))
    assert profile.json()["emailAddress"] == "ada@example.test"


def test_google_without_login_hint_uses_the_default_account(http: httpx.Client) -> None:
    code = authorize(http, "google")["code"][0]
    token = exchange(http, "google", code).json()["access_token"]
    assert http.get(PROFILE, headers=bearer(token)).json()["emailAddress"] == "emulator.user@gmail.test"


def test_google_refresh_token_only_with_offline_access(http: httpx.Client) -> None:
    code = authorize(http, "google", access_type="online")["code"][0]
    assert "refresh_token" not in exchange(http, "google", code).json()


def test_google_wrong_verifier_is_invalid_grant_and_spends_the_code(http: httpx.Client) -> None:
    code = authorize(http, "google")["code"][0]

    wrong = exchange(http, "google", code, verifier="x" * 50)
    again = exchange(http, "google", code)

    assert (wrong.status_code, wrong.json()) == (
        400, {"error": "invalid_grant", "error_description": "Invalid code verifier."})
    assert (again.status_code, again.json()) == (
        400, {"error": "invalid_grant", "error_description": "Bad Request"})


def test_google_code_is_single_use_and_bound_to_redirect_uri(http: httpx.Client) -> None:
    code = authorize(http, "google")["code"][0]
    assert exchange(http, "google", code).status_code == 200
    assert exchange(http, "google", code).json() == {
        "error": "invalid_grant", "error_description": "Bad Request"}

    other = authorize(http, "google")["code"][0]
    mismatch = exchange(http, "google", other, redirect_uri=REDIRECT + "/elsewhere")
    assert (mismatch.status_code, mismatch.json()) == (
        400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"})
    unknown = exchange(http, "google", "4/0Anot-a-code")
    assert unknown.json() == {"error": "invalid_grant", "error_description": "Malformed auth code."}


def test_google_token_endpoint_requires_client_credentials(http: httpx.Client) -> None:
    code = authorize(http, "google")["code"][0]
    response = http.post(PATHS["google"].token, data={"grant_type": "authorization_code", "code": code,
                                                       "client_id": CLIENT_ID})
    assert (response.status_code, response.json()) == (
        400, {"error": "invalid_request", "error_description": "Missing required parameter: client_secret"})
    bad_type = http.post(PATHS["google"].token, data={"grant_type": "password", "client_id": CLIENT_ID,
                                                       "client_secret": "s"})
    assert bad_type.json() == {
        "error": "unsupported_grant_type", "error_description": "Invalid grant_type: password"}


def test_google_refresh_keeps_the_refresh_token(emu: Emulator, http: httpx.Client) -> None:
    tokens = connect(http, "google", "ada@example.test")

    first = refresh(http, "google", tokens["refresh_token"])
    second = refresh(http, "google", tokens["refresh_token"])

    assert first.status_code == second.status_code == 200
    assert set(first.json()) == {"access_token", "expires_in", "scope", "token_type", "id_token"}
    assert first.json()["access_token"] != second.json()["access_token"] != tokens["access_token"]
    counts = emu.grants("google", "ada@example.test")
    assert (counts["refreshes"], counts["failedRefreshes"], counts["accessTokensIssued"]) == (2, 0, 3)


def test_google_revoke_endpoint_revokes_the_whole_grant(http: httpx.Client) -> None:
    tokens = connect(http, "google", "ada@example.test")

    revoked = http.post("/google/oauth2/revoke", data={"token": tokens["access_token"]})

    assert (revoked.status_code, revoked.json()) == (200, {})
    assert refresh(http, "google", tokens["refresh_token"]).json() == {
        "error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    api = http.get(PROFILE, headers=bearer(tokens["access_token"]))
    assert (api.status_code, api.json()) == (401, GMAIL_401)
    assert api.headers["www-authenticate"].startswith('Bearer realm="https://accounts.google.com/"')
    again = http.post("/google/oauth2/revoke", params={"token": tokens["refresh_token"]})
    assert (again.status_code, again.json()) == (
        400, {"error": "invalid_token", "error_description": "Token expired or revoked"})


def test_access_tokens_expire_after_the_configured_ttl(emu: Emulator, http: httpx.Client) -> None:
    emu.settings(access_token_ttl=0)
    tokens = connect(http, "google", "ada@example.test")
    assert tokens["expires_in"] == 0
    assert http.get(PROFILE, headers=bearer(tokens["access_token"])).status_code == 401
    assert http.get(PROFILE).json() == GMAIL_401


# authorization endpoint -------------------------------------------------------------------------
def test_authorize_rejects_bad_requests_the_way_providers_do(http: httpx.Client) -> None:
    missing = http.get(PATHS["google"].authorize, params={"redirect_uri": REDIRECT, "response_type": "code"})
    assert missing.status_code == 400
    assert "Missing required parameter: client_id" in missing.text

    base = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": "s9", "code_challenge": "abc"}
    plain = http.get(PATHS["microsoft"].authorize,
                     params={**base, "response_type": "code", "code_challenge_method": "plain"})
    assert plain.status_code == 302
    assert plain.headers["location"] == (
        REDIRECT + "?error=invalid_request&error_description=Invalid+code_challenge_method%3A+only+S256+"
        "is+supported.&state=s9")
    implicit = http.get(PATHS["google"].authorize,
                        params={**base, "response_type": "token", "code_challenge_method": "S256"})
    assert implicit.headers["location"].startswith(REDIRECT + "?error=unsupported_response_type&")


def test_browser_gets_a_consent_page_that_posts_back(http: httpx.Client) -> None:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "state": "s2",
              "code_challenge": "abc", "code_challenge_method": "S256", "scope": MICROSOFT_SCOPE}
    page = http.get(PATHS["microsoft"].authorize, params=params, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert '<form method="post" action="/microsoft/login/common/oauth2/v2.0/authorize">' in page.text
    assert 'value="emulator.user@outlook.test"' in page.text

    allowed = http.post(PATHS["microsoft"].authorize, data={**params, "login_hint": "grace@example.test"})
    assert allowed.status_code == 302
    assert allowed.headers["location"].startswith(REDIRECT + "?state=s2&code=M.C5")


# Microsoft --------------------------------------------------------------------------------------
def test_microsoft_code_flow_issues_rotating_tokens(http: httpx.Client) -> None:
    query = authorize(http, "microsoft", login_hint="grace@example.test")
    assert query["state"] == ["st-1"]
    assert set(query) == {"state", "code", "session_state"}

    response = exchange(http, "microsoft", query["code"][0])

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "ext_expires_in", "refresh_token", "scope",
                         "token_type", "id_token"}
    assert (body["expires_in"], body["ext_expires_in"], body["token_type"]) == (3600, 3600, "Bearer")
    assert claims(body["id_token"])["preferred_username"] == "grace@example.test"
    me = http.get(ME, headers=bearer(body["access_token"])).json()
    assert (me["mail"], me["userPrincipalName"]) == ("grace@example.test", "grace@example.test")


def test_microsoft_refresh_without_offline_access_has_no_refresh_token(http: httpx.Client) -> None:
    code = authorize(http, "microsoft", scope="openid https://graph.microsoft.com/Mail.Send")["code"][0]
    assert "refresh_token" not in exchange(http, "microsoft", code).json()


def test_microsoft_wrong_verifier_and_reused_code(http: httpx.Client) -> None:
    code = authorize(http, "microsoft")["code"][0]
    assert_aad_error(exchange(http, "microsoft", code, verifier="y" * 50), "invalid_grant", 50148)
    assert_aad_error(exchange(http, "microsoft", code), "invalid_grant", 54005)


def test_microsoft_refresh_tokens_rotate_and_are_single_use(emu: Emulator, http: httpx.Client) -> None:
    first = connect(http, "microsoft", "grace@example.test")["refresh_token"]

    rotated = refresh(http, "microsoft", first)
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    # The loser of two uncoordinated refreshes presents the already-used token:
    assert_aad_error(refresh(http, "microsoft", first), "invalid_grant", 70000)
    assert refresh(http, "microsoft", second).status_code == 200

    counts = emu.grants("microsoft", "grace@example.test")
    assert (counts["refreshes"], counts["failedRefreshes"]) == (2, 1)
    assert counts["grants"][0]["mailbox"] == "grace@example.test"


def test_microsoft_revoked_grant(emu: Emulator, http: httpx.Client) -> None:
    tokens = connect(http, "microsoft", "grace@example.test")

    assert emu.revoke("microsoft", "grace@example.test") == 1

    assert_aad_error(refresh(http, "microsoft", tokens["refresh_token"]), "invalid_grant", 50173)
    api = http.get(ME, headers=bearer(tokens["access_token"]))
    assert api.status_code == 401
    error = api.json()["error"]
    assert (error["code"], error["message"]) == (
        "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}


def test_graph_without_a_token(http: httpx.Client) -> None:
    response = http.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Access token is empty."
    assert response.headers["www-authenticate"].startswith('Bearer realm=""')


def test_microsoft_token_errors_for_missing_parameters(http: httpx.Client) -> None:
    body = assert_aad_error(http.post(PATHS["microsoft"].token, data={"grant_type": "refresh_token"}),
                            "invalid_request", 900144)
    assert "'client_id'" in str(body["error_description"])
    assert_aad_error(http.post(PATHS["microsoft"].token,
                               data={"grant_type": "password", "client_id": CLIENT_ID}),
                     "unsupported_grant_type", 70003)


def test_two_concurrent_microsoft_refreshes_strand_one_caller(emu: Emulator, http: httpx.Client) -> None:
    token = connect(http, "microsoft", "grace@example.test")["refresh_token"]

    def attempt(_: int) -> int:
        with httpx.Client(base_url=emu.url, timeout=10) as client:
            return refresh(client, "microsoft", token).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(attempt, range(2)))

    assert statuses == [200, 400]
    counts = emu.grants("microsoft")
    assert (counts["refreshes"], counts["failedRefreshes"]) == (1, 1)
