"""Login, token refresh, logout and how bad credentials are answered."""

from __future__ import annotations

import time
from typing import Any
from uuid import uuid4

import pytest

from domain.core.security import sign_access_token
from domain.tenancy import service
from tests.conftest import PASSWORD

SESSION_FIELDS = """
    accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt role
    user { email name } tenant { slug }
"""
LOGIN = f"""
mutation Login($input: LoginInput!) {{
  login(input: $input) {{ session {{ {SESSION_FIELDS} }} errors {{ field code message }} }}
}}"""
REFRESH = f"""
mutation Refresh($token: String!) {{
  refreshSession(input: {{refreshToken: $token}}) {{
    session {{ {SESSION_FIELDS} }} errors {{ field code message }}
  }}
}}"""
LOGOUT = """
mutation Logout($input: LogoutInput!) {
  logout(input: $input) { revoked errors { field code message } }
}"""
VIEWER = "{ viewer { role permissions user { email } tenant { slug } } }"


async def login(gql: Any, email: str, password: str = PASSWORD,
                tenant: str | None = None) -> dict[str, Any]:
    variables: dict[str, Any] = {"email": email, "password": password}
    if tenant is not None:
        variables["tenant"] = tenant
    body = await gql(LOGIN, {"input": variables})
    return body["data"]["login"]  # type: ignore[no-any-return]


async def refresh(gql: Any, token: str) -> dict[str, Any]:
    return (await gql(REFRESH, {"token": token}))["data"]["refreshSession"]  # type: ignore[no-any-return]


async def viewer(gql: Any, token: str) -> dict[str, Any]:
    return (await gql(VIEWER, token=token))["data"]["viewer"]  # type: ignore[no-any-return]


async def auth_error_code(gql: Any, token: str | None) -> str:
    """The GraphQL error code `viewer` answers with for this token; it must be an error."""
    body = await gql(VIEWER, token=token, expect_errors=True)
    assert body["data"] is None
    assert len(body["errors"]) == 1
    assert body["errors"][0]["path"] == ["viewer"]
    return body["errors"][0]["extensions"]["code"]  # type: ignore[no-any-return]


def codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


# --- login -----------------------------------------------------------------------------------

async def test_login_returns_a_session_whose_access_token_works(gql, world):
    member = world.members["recruiter"]
    payload = await login(gql, member.email)
    assert payload["errors"] == []
    session = payload["session"]
    assert session["role"] == "RECRUITER"
    assert session["user"] == {"email": member.email, "name": "Recruiter"}
    assert session["tenant"] == {"slug": world.tenant.slug}
    assert session["refreshToken"].startswith("tgr_")
    assert session["accessTokenExpiresAt"] < session["refreshTokenExpiresAt"]

    me = await viewer(gql, session["accessToken"])
    assert me["role"] == "RECRUITER"
    assert me["user"] == {"email": member.email}
    assert me["tenant"] == {"slug": world.tenant.slug}
    assert "prospects:write" in me["permissions"]
    assert "tenancy:write" not in me["permissions"]


async def test_login_ignores_the_case_of_the_email(gql, world):
    payload = await login(gql, "  " + world.admin.email.upper() + " ")
    assert payload["errors"] == []
    assert payload["session"]["user"]["email"] == world.admin.email


async def test_wrong_password_and_unknown_email_are_answered_alike(gql, world):
    wrong = await login(gql, world.admin.email, "not-the-password")
    unknown = await login(gql, f"nobody-{uuid4().hex}@example.com")
    for payload in (wrong, unknown):
        assert payload["session"] is None
        assert codes(payload) == [(["input", "password"], "INVALID_CREDENTIALS")]
    # Nothing tells an attacker which of the two it was.
    assert wrong["errors"] == unknown["errors"]


@pytest.mark.parametrize("email", ["not-an-email", "", "a@b", "two@@example.com",
                                   "spaces in@example.com"])
async def test_invalid_email_is_named(gql, email):
    payload = await login(gql, email)
    assert payload["session"] is None
    assert codes(payload) == [(["input", "email"], "INVALID_EMAIL")]


async def test_sixth_attempt_after_five_failures_is_refused_even_with_the_right_password(
        gql, world):
    email = world.members["viewer"].email
    for _ in range(5):
        payload = await login(gql, email, "wrong-password-123")
        assert codes(payload) == [(["input", "password"], "INVALID_CREDENTIALS")]
    payload = await login(gql, email)
    assert payload["session"] is None
    assert codes(payload) == [(["input", "email"], "TOO_MANY_ATTEMPTS")]
    # The throttle is per email: another member of the same tenant is unaffected.
    other = await login(gql, world.members["sourcer"].email)
    assert other["errors"] == []


async def test_throttling_applies_to_unknown_emails_too(gql):
    email = f"ghost-{uuid4().hex}@example.com"
    for _ in range(5):
        assert codes(await login(gql, email, "whatever-password")) == [
            (["input", "password"], "INVALID_CREDENTIALS")]
    assert codes(await login(gql, email, "whatever-password")) == [
        (["input", "email"], "TOO_MANY_ATTEMPTS")]


async def test_a_successful_login_clears_earlier_failures(gql, world):
    email = world.members["coordinator"].email
    for _ in range(4):
        await login(gql, email, "wrong-password-123")
    assert (await login(gql, email))["errors"] == []
    for _ in range(4):
        await login(gql, email, "wrong-password-123")
    # Eight failures in all, but never five since the last success.
    assert (await login(gql, email))["errors"] == []


async def test_login_to_a_named_tenant(gql, world, other_world):
    member = world.members["recruiter"]
    await service.ensure_member(tenant=other_world.tenant, email=member.email, name="Recruiter",
                                role="viewer", password=PASSWORD)

    default = await login(gql, member.email)
    assert default["session"]["tenant"] == {"slug": world.tenant.slug}  # the first membership
    assert default["session"]["role"] == "RECRUITER"

    named = await login(gql, member.email, tenant=other_world.tenant.slug)
    assert named["errors"] == []
    assert named["session"]["tenant"] == {"slug": other_world.tenant.slug}
    assert named["session"]["role"] == "VIEWER"
    me = await viewer(gql, named["session"]["accessToken"])
    assert me["tenant"] == {"slug": other_world.tenant.slug}
    assert me["role"] == "VIEWER"


async def test_login_to_a_tenant_you_are_not_a_member_of_is_refused(gql, world, other_world):
    payload = await login(gql, world.admin.email, tenant=other_world.tenant.slug)
    assert payload["session"] is None
    assert codes(payload) == [(["input", "password"], "INVALID_CREDENTIALS")]
    unknown = await login(gql, world.admin.email, tenant=f"no-such-{uuid4().hex[:8]}")
    assert unknown["session"] is None
    assert codes(unknown) == [(["input", "password"], "INVALID_CREDENTIALS")]


# --- refresh ---------------------------------------------------------------------------------

async def test_refresh_returns_new_tokens_and_spends_the_old_refresh_token(gql, world):
    first = (await login(gql, world.admin.email))["session"]
    second = await refresh(gql, first["refreshToken"])
    assert second["errors"] == []
    fresh = second["session"]
    assert fresh["refreshToken"].startswith("tgr_")
    assert fresh["refreshToken"] != first["refreshToken"]
    assert fresh["role"] == "ADMIN"
    assert fresh["user"]["email"] == world.admin.email
    assert fresh["tenant"] == {"slug": world.tenant.slug}
    assert (await viewer(gql, fresh["accessToken"]))["user"] == {"email": world.admin.email}

    # The newest refresh token rotates in its turn.
    third = await refresh(gql, fresh["refreshToken"])
    assert third["errors"] == []


async def test_reusing_a_spent_refresh_token_revokes_the_whole_session(gql, world):
    email = world.members["sourcer"].email
    first = (await login(gql, email))["session"]
    second = (await refresh(gql, first["refreshToken"]))["session"]
    third = (await refresh(gql, second["refreshToken"]))["session"]
    assert (await viewer(gql, third["accessToken"]))["role"] == "SOURCER"

    reused = await refresh(gql, first["refreshToken"])
    assert reused["session"] is None
    assert codes(reused) == [(["input", "refreshToken"], "INVALID_TOKEN")]

    # At once (the auth cache is cleared on revocation): every token of the session is dead.
    for access in (first["accessToken"], second["accessToken"], third["accessToken"]):
        assert await auth_error_code(gql, access) == "UNAUTHENTICATED"
    newest = await refresh(gql, third["refreshToken"])
    assert newest["session"] is None
    assert codes(newest) == [(["input", "refreshToken"], "INVALID_TOKEN")]

    # Other sessions of the same member live on.
    assert (await viewer(gql, world.members["sourcer"].token))["role"] == "SOURCER"


async def test_reuse_after_revocation_does_not_revive_anything(gql, world):
    first = (await login(gql, world.admin.email))["session"]
    second = (await refresh(gql, first["refreshToken"]))["session"]
    assert codes(await refresh(gql, first["refreshToken"])) == [
        (["input", "refreshToken"], "INVALID_TOKEN")]
    assert codes(await refresh(gql, first["refreshToken"])) == [
        (["input", "refreshToken"], "INVALID_TOKEN")]
    assert codes(await refresh(gql, second["refreshToken"])) == [
        (["input", "refreshToken"], "INVALID_TOKEN")]


@pytest.mark.parametrize("token", ["", "tgr_garbage", "garbage", "x" * 500])
async def test_unknown_refresh_token_is_invalid(gql, token):
    payload = await refresh(gql, token)
    assert payload["session"] is None
    assert codes(payload) == [(["input", "refreshToken"], "INVALID_TOKEN")]


async def test_refresh_after_removal_from_the_tenant_is_invalid(gql, world):
    member = world.members["hiring_manager"]
    session = (await login(gql, member.email))["session"]
    body = await gql("""mutation($id: ID!) { removeMember(input: {membershipId: $id}) {
                          errors { code } } }""",
                     {"id": _membership_gid(member.membership_id)}, token=world.admin.token)
    assert body["data"]["removeMember"]["errors"] == []
    payload = await refresh(gql, session["refreshToken"])
    assert payload["session"] is None
    assert codes(payload) == [(["input", "refreshToken"], "INVALID_TOKEN")]


# --- logout ----------------------------------------------------------------------------------

async def test_logout_without_input_ends_the_calling_session(gql, world):
    email = world.members["viewer"].email
    session = (await login(gql, email))["session"]
    other = (await login(gql, email))["session"]

    body = await gql(LOGOUT, {"input": {}}, token=session["accessToken"])
    assert body["data"]["logout"] == {"revoked": True, "errors": []}

    assert await auth_error_code(gql, session["accessToken"]) == "UNAUTHENTICATED"
    assert codes(await refresh(gql, session["refreshToken"])) == [
        (["input", "refreshToken"], "INVALID_TOKEN")]
    # Only that session ended.
    assert (await viewer(gql, other["accessToken"]))["role"] == "VIEWER"
    assert (await viewer(gql, world.members["viewer"].token))["role"] == "VIEWER"


async def test_logout_with_a_refresh_token_ends_that_session(gql, world):
    session = (await login(gql, world.admin.email))["session"]
    body = await gql(LOGOUT, {"input": {"refreshToken": session["refreshToken"]}})
    assert body["data"]["logout"] == {"revoked": True, "errors": []}
    assert await auth_error_code(gql, session["accessToken"]) == "UNAUTHENTICATED"
    assert codes(await refresh(gql, session["refreshToken"])) == [
        (["input", "refreshToken"], "INVALID_TOKEN")]
    # A second logout revokes nothing more; an unknown token revokes nothing.
    again = await gql(LOGOUT, {"input": {"refreshToken": session["refreshToken"]}})
    assert again["data"]["logout"] == {"revoked": False, "errors": []}
    unknown = await gql(LOGOUT, {"input": {"refreshToken": "tgr_unknown"}})
    assert unknown["data"]["logout"] == {"revoked": False, "errors": []}
    assert (await viewer(gql, world.admin.token))["role"] == "ADMIN"


async def test_logout_without_a_session_or_refresh_token_is_unauthenticated(gql):
    body = await gql(LOGOUT, {"input": {}}, expect_errors=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- bad credentials on requests ---------------------------------------------------------------

def _membership_gid(raw: Any) -> str:
    from api.relay import to_global_id

    return to_global_id("Membership", raw)


async def test_no_token_is_unauthenticated(gql):
    assert await auth_error_code(gql, None) == "UNAUTHENTICATED"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "tgr_not-an-access-token",
                                   "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"])
async def test_garbage_token_is_unauthenticated(gql, token):
    assert await auth_error_code(gql, token) == "UNAUTHENTICATED"


async def _session_claims(world: Any, settings: Any) -> dict[str, Any]:
    scope = await world.scope("recruiter")
    now = int(time.time())
    return {"typ": "access", "sub": str(scope.user_id), "tid": str(scope.tenant_id),
            "sid": str(scope.session_id), "iat": now, "exp": now + 600}


async def test_a_token_signed_by_us_with_live_claims_works(gql, world, settings):
    # The control for the next tests: the same claims, properly signed, are accepted.
    token = sign_access_token(settings.secret_key, await _session_claims(world, settings))
    assert (await viewer(gql, token))["role"] == "RECRUITER"


async def test_expired_token_is_unauthenticated(gql, world, settings):
    claims = await _session_claims(world, settings)
    claims.update(iat=claims["iat"] - 3600, exp=claims["iat"] - 60)
    token = sign_access_token(settings.secret_key, claims)
    assert await auth_error_code(gql, token) == "UNAUTHENTICATED"


async def test_token_signed_with_another_key_is_unauthenticated(gql, world, settings):
    token = sign_access_token("another-secret-key-" + "y" * 32,
                              await _session_claims(world, settings))
    assert await auth_error_code(gql, token) == "UNAUTHENTICATED"


@pytest.mark.parametrize("change", [
    {"typ": "refresh"}, {"sid": str(uuid4())}, {"sid": "not-a-uuid"}, {"exp": "never"},
])
async def test_tampered_claims_are_unauthenticated(gql, world, settings, change):
    claims = {**await _session_claims(world, settings), **change}
    token = sign_access_token(settings.secret_key, claims)
    assert await auth_error_code(gql, token) == "UNAUTHENTICATED"


async def test_token_for_another_tenant_than_its_session_is_unauthenticated(
        gql, world, other_world, settings):
    claims = {**await _session_claims(world, settings), "tid": str(other_world.tenant.id)}
    token = sign_access_token(settings.secret_key, claims)
    assert await auth_error_code(gql, token) == "UNAUTHENTICATED"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token {token}", "{token}",
                                    "Bearer", "Bearer    "])
async def test_non_bearer_authorization_header_is_unauthenticated(client, world, header):
    response = await client.post("/graphql", json={"query": VIEWER},
                                 headers={"authorization": header.format(token=world.admin.token)})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
