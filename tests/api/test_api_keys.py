"""Partner API keys: created by admins, shown once, scoped, revocable."""

from __future__ import annotations

import json
from typing import Any

import pytest

CREATE = """
mutation($name: String!, $scopes: [String!]!) {
  createApiKey(input: {name: $name, scopes: $scopes}) {
    secret
    apiKey { id name scopes prefix createdAt lastUsedAt revokedAt createdBy { email } }
    errors { field code message }
  }
}"""
REVOKE = """
mutation($id: ID!) {
  revokeApiKey(input: {apiKeyId: $id}) { apiKey { id revokedAt } errors { field code } }
}"""
KEYS = """
{ apiKeys(first: 100) { nodes {
    id name scopes prefix createdAt lastUsedAt revokedAt createdBy { email } } } }"""
VIEWER = "{ viewer { user { email } role permissions tenant { slug } } }"


async def create_key(gql: Any, token: str, scopes: list[str], name: str = "Partner"
                     ) -> dict[str, Any]:
    body = await gql(CREATE, {"name": name, "scopes": scopes}, token=token)
    return body["data"]["createApiKey"]  # type: ignore[no-any-return]


async def keys(gql: Any, token: str) -> list[dict[str, Any]]:
    return (await gql(KEYS, token=token))["data"]["apiKeys"]["nodes"]  # type: ignore[no-any-return]


async def error_code(gql: Any, query: str, token: str) -> str:
    body = await gql(query, token=token, expect_errors=True)
    assert body["data"] is None
    assert len(body["errors"]) == 1
    return body["errors"][0]["extensions"]["code"]  # type: ignore[no-any-return]


def codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def test_create_returns_the_secret_once(gql, world):
    created = await create_key(gql, world.admin.token,
                               ["prospects:read", "ats:write", "prospects:read"], "  ATS sync ")
    assert created["errors"] == []
    secret = created["secret"]
    key = created["apiKey"]
    assert secret.startswith("tgk_")
    assert len(secret) > 4 + 32 + 20
    assert secret.startswith(key["prefix"])
    assert key["name"] == "ATS sync"
    assert key["scopes"] == ["ats:write", "prospects:read"]  # sorted, without repeats
    assert key["lastUsedAt"] is None and key["revokedAt"] is None
    assert key["createdBy"] == {"email": world.admin.email}

    listed = await keys(gql, world.admin.token)
    assert listed == [key]
    dumped = json.dumps(listed)
    assert secret not in dumped and secret[len(key["prefix"]):] not in dumped
    # There is no field to read it back.
    body = await gql("{ apiKeys { nodes { secret } } }", token=world.admin.token,
                     expect_errors=True)
    assert "Cannot query field 'secret'" in body["errors"][0]["message"]


async def test_the_key_authenticates_as_itself_with_its_permissions(gql, world):
    scopes = ["prospects:read", "tenancy:read", "ats:write"]
    secret = (await create_key(gql, world.admin.token, scopes))["secret"]
    body = await gql(VIEWER, token=secret)
    assert body["data"]["viewer"] == {"user": None, "role": None,
                                      "permissions": sorted(scopes),
                                      "tenant": {"slug": world.tenant.slug}}
    tenant = await gql("{ tenant { slug } }", token=secret)
    assert tenant["data"]["tenant"] == {"slug": world.tenant.slug}
    members = await gql("{ members { nodes { role } } }", token=secret)
    assert len(members["data"]["members"]["nodes"]) == 6


async def test_use_is_recorded(gql, world):
    created = await create_key(gql, world.admin.token, ["prospects:read"])
    assert (await keys(gql, world.admin.token))[0]["lastUsedAt"] is None
    await gql(VIEWER, token=created["secret"])
    used = (await keys(gql, world.admin.token))[0]
    assert used["lastUsedAt"] is not None
    assert used["lastUsedAt"] >= created["apiKey"]["createdAt"]


async def test_revoked_key_is_unauthenticated_at_once(gql, world):
    created = await create_key(gql, world.admin.token, ["prospects:read"])
    secret, key_id = created["secret"], created["apiKey"]["id"]
    assert (await gql(VIEWER, token=secret))["data"]["viewer"]["permissions"] == [
        "prospects:read"]

    body = await gql(REVOKE, {"id": key_id}, token=world.admin.token)
    revoked = body["data"]["revokeApiKey"]
    assert revoked["errors"] == []
    assert revoked["apiKey"]["id"] == key_id
    assert revoked["apiKey"]["revokedAt"] is not None
    assert await error_code(gql, VIEWER, secret) == "UNAUTHENTICATED"
    # Still listed, as revoked; revoking again keeps the first time.
    assert (await keys(gql, world.admin.token))[0]["revokedAt"] == revoked["apiKey"]["revokedAt"]
    again = (await gql(REVOKE, {"id": key_id}, token=world.admin.token))["data"]["revokeApiKey"]
    assert again == revoked


async def test_revoking_one_key_leaves_others_working(gql, world):
    first = await create_key(gql, world.admin.token, ["prospects:read"], "one")
    second = await create_key(gql, world.admin.token, ["prospects:read"], "two")
    await gql(REVOKE, {"id": first["apiKey"]["id"]}, token=world.admin.token)
    assert (await gql(VIEWER, token=second["secret"]))["data"]["viewer"]["role"] is None


@pytest.mark.parametrize("scopes", [["tenancy:write"], ["nope:read"],
                                    ["prospects:read", "tenancy:write"], ["prospects:admin"],
                                    [], [""]])
async def test_invalid_scopes_are_refused(gql, world, scopes):
    refused = await create_key(gql, world.admin.token, scopes)
    assert refused["secret"] is None and refused["apiKey"] is None
    assert codes(refused) == [(["input", "scopes"], "INVALID_SCOPE")]
    assert await keys(gql, world.admin.token) == []


@pytest.mark.parametrize("name", ["", "  ", "k" * 101])
async def test_invalid_key_name_is_refused(gql, world, name):
    refused = await create_key(gql, world.admin.token, ["prospects:read"], name)
    assert refused["secret"] is None
    assert codes(refused) == [(["input", "name"], "INVALID")]
    assert await keys(gql, world.admin.token) == []


@pytest.mark.parametrize("query", ["{ tenant { slug } }", "{ members { nodes { id } } }"])
async def test_a_key_without_tenancy_read_is_forbidden_tenancy_queries(gql, world, query):
    secret = (await create_key(gql, world.admin.token, ["prospects:read", "ats:write"]))["secret"]
    assert await error_code(gql, query, secret) == "FORBIDDEN"


@pytest.mark.parametrize("query, variables", [
    (CREATE, {"name": "child", "scopes": ["prospects:read"]}),
    ("{ apiKeys { nodes { id } } }", None),
    ("mutation { updateTenant(input: {name: \"Owned\"}) { errors { code } } }", None),
])
async def test_a_key_can_never_manage_the_tenant(gql, world, query, variables):
    every_scope = ["tenancy:read", "prospects:read", "prospects:write", "ats:write"]
    secret = (await create_key(gql, world.admin.token, every_scope))["secret"]
    body = await gql(query, variables, token=secret, expect_errors=True)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert len(await keys(gql, world.admin.token)) == 1
    tenant = await gql("{ tenant { name } }", token=world.admin.token)
    assert tenant["data"]["tenant"]["name"] == world.tenant.name


async def test_a_key_has_no_session_to_log_out_of(gql, world):
    secret = (await create_key(gql, world.admin.token, ["prospects:read"]))["secret"]
    body = await gql("mutation { logout(input: {}) { revoked errors { field code } } }",
                     token=secret)
    assert body["data"]["logout"] == {"revoked": False, "errors": [
        {"field": ["input", "refreshToken"], "code": "NOT_FOUND"}]}
    assert (await gql(VIEWER, token=secret))["data"]["viewer"]["permissions"] == [
        "prospects:read"]


async def test_wrong_secret_with_a_valid_key_id_is_unauthenticated(gql, world):
    created = await create_key(gql, world.admin.token, ["prospects:read"])
    secret = created["secret"]
    id_part = secret[:4 + 32]
    tampered = [
        id_part + "x" * (len(secret) - len(id_part)),
        secret[:-1] + ("A" if secret[-1] != "A" else "B"),
        secret + "x",
        id_part + "y",
    ]
    for wrong in tampered:
        assert await error_code(gql, VIEWER, wrong) == "UNAUTHENTICATED", wrong
    # The real key still works and nothing was recorded as its use.
    assert (await keys(gql, world.admin.token))[0]["lastUsedAt"] is None
    assert (await gql(VIEWER, token=secret))["data"]["viewer"]["role"] is None


@pytest.mark.parametrize("secret", ["tgk_", "tgk_short", "tgk_" + "z" * 60,
                                    "tgk_00000000000000000000000000000000rest"])
async def test_malformed_or_unknown_keys_are_unauthenticated(gql, secret):
    assert await error_code(gql, VIEWER, secret) == "UNAUTHENTICATED"


async def test_a_key_without_tenancy_read_cannot_read_members_through_node(gql, world):
    from api.relay import to_global_id

    secret = (await create_key(gql, world.admin.token, ["prospects:read"]))["secret"]
    member = world.members["recruiter"]
    ids = [to_global_id("Membership", member.membership_id), to_global_id("User", member.user_id),
           to_global_id("Tenant", world.tenant.id)]
    body = await gql("""query($ids: [ID!]!) { nodes(ids: $ids) {
                          __typename ... on User { email } ... on Membership { role } } }""",
                     {"ids": ids}, token=secret, expect_errors=True)
    # Like `members` and `tenant`: forbidden, or at least nothing to see.
    assert body.get("data") is None or body["data"]["nodes"] == [None, None, None]
