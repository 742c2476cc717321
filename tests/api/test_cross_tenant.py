"""Another tenant's IDs behave exactly like unknown IDs, everywhere an ID is taken."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from api.relay import to_global_id
from domain.core.ids import uuid7

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
INVITE = """
mutation($email: String!) {
  inviteMember(input: {email: $email, role: VIEWER}) { invite { id } errors { code } }
}"""
CREATE_KEY = """
mutation { createApiKey(input: {name: "k", scopes: ["prospects:read"]}) {
  apiKey { id } secret errors { code } } }"""
UPDATE_ROLE = """
mutation($id: ID!) {
  updateMemberRole(input: {membershipId: $id, role: VIEWER}) {
    membership { id } errors { field code message } }
}"""
REMOVE = """
mutation($id: ID!) {
  removeMember(input: {membershipId: $id}) { removedMembershipId errors { field code message } }
}"""
REVOKE_INVITE = """
mutation($id: ID!) {
  revokeInvite(input: {inviteId: $id}) { invite { id } errors { field code message } }
}"""
REVOKE_KEY = """
mutation($id: ID!) {
  revokeApiKey(input: {apiKeyId: $id}) { apiKey { id } errors { field code message } }
}"""
STATE = """{
  members(first: 100) { nodes { id role } }
  invites(first: 100) { nodes { id revokedAt } }
  apiKeys(first: 100) { nodes { id revokedAt } }
}"""

# mutation, its payload field, the input field an ID goes in, the type that ID should be
MUTATIONS = [
    (UPDATE_ROLE, "updateMemberRole", "membershipId", "Membership"),
    (REMOVE, "removeMember", "membershipId", "Membership"),
    (REVOKE_INVITE, "revokeInvite", "inviteId", "Invite"),
    (REVOKE_KEY, "revokeApiKey", "apiKeyId", "ApiKey"),
]


def gid(type_name: str, raw: Any) -> str:
    return to_global_id(type_name, raw)


async def state(gql: Any, token: str) -> dict[str, Any]:
    return (await gql(STATE, token=token))["data"]  # type: ignore[no-any-return]


async def populate(gql: Any, world: Any) -> dict[str, str]:
    """One of each kind of row in the tenant; returns the global ID of each."""
    email = f"invitee-{uuid7().hex}@example.com"
    invite = await gql(INVITE, {"email": email}, token=world.admin.token)
    key = await gql(CREATE_KEY, token=world.admin.token)
    return {
        "Tenant": gid("Tenant", world.tenant.id),
        "Membership": gid("Membership", world.members["recruiter"].membership_id),
        "User": gid("User", world.members["recruiter"].user_id),
        "Invite": invite["data"]["inviteMember"]["invite"]["id"],
        "ApiKey": key["data"]["createApiKey"]["apiKey"]["id"],
    }


async def node(gql: Any, token: str, global_id: str) -> Any:
    return (await gql(NODE, {"id": global_id}, token=token))["data"]["node"]


async def test_own_ids_resolve_to_their_types(gql, world):
    ids = await populate(gql, world)
    for type_name, global_id in ids.items():
        assert await node(gql, world.admin.token, global_id) == {
            "__typename": type_name, "id": global_id}
    body = await gql(NODES, {"ids": list(ids.values())}, token=world.admin.token)
    assert body["data"]["nodes"] == [{"__typename": t, "id": i} for t, i in ids.items()]


async def test_own_nodes_carry_their_fields(gql, world):
    ids = await populate(gql, world)
    body = await gql("""query($m: ID!, $u: ID!, $t: ID!) {
        m: node(id: $m) { ... on Membership { role user { email } tenant { slug } } }
        u: node(id: $u) { ... on User { email name } }
        t: node(id: $t) { ... on Tenant { slug } } }""",
                     {"m": ids["Membership"], "u": ids["User"], "t": ids["Tenant"]},
                     token=world.admin.token)
    recruiter = world.members["recruiter"]
    assert body["data"] == {
        "m": {"role": "RECRUITER", "user": {"email": recruiter.email},
              "tenant": {"slug": world.tenant.slug}},
        "u": {"email": recruiter.email, "name": "Recruiter"},
        "t": {"slug": world.tenant.slug},
    }


async def test_invites_and_keys_are_admin_only_through_node_as_well(gql, world):
    ids = await populate(gql, world)
    token = world.members["recruiter"].token
    body = await gql(NODES, {"ids": list(ids.values())}, token=token)
    assert [n and n["__typename"] for n in body["data"]["nodes"]] == [
        "Tenant", "Membership", "User", None, None]


async def test_other_tenants_ids_are_null_through_node_and_nodes(gql, world, other_world):
    theirs = await populate(gql, other_world)
    unknown = {t: gid(t, uuid7()) for t in theirs}
    for type_name, global_id in theirs.items():
        assert await node(gql, world.admin.token, global_id) is None, type_name
        assert await node(gql, world.admin.token, unknown[type_name]) is None, type_name
    mine = await populate(gql, world)
    mixed = [x for t in theirs for x in (theirs[t], mine[t], unknown[t])]
    body = await gql(NODES, {"ids": mixed}, token=world.admin.token)
    assert [n and n["id"] for n in body["data"]["nodes"]] == [
        x for t in theirs for x in (None, mine[t], None)]


async def test_a_tenant_never_sees_another_tenant_node_with_any_role_or_key(
        gql, world, other_world):
    their_tenant = gid("Tenant", other_world.tenant.id)
    key = await gql("""mutation { createApiKey(input: {name: "k", scopes: ["tenancy:read"]}) {
                         secret } }""", token=world.admin.token)
    tokens = [m.token for m in world.members.values()]
    tokens.append(key["data"]["createApiKey"]["secret"])
    for token in tokens:
        assert await node(gql, token, their_tenant) is None
        assert (await gql("{ tenant { slug } }", token=token))["data"]["tenant"]["slug"] == \
            world.tenant.slug


async def test_a_user_shared_by_two_tenants_shows_only_through_memberships_of_the_caller(
        gql, world, other_world):
    only_theirs = gid("User", other_world.members["viewer"].user_id)
    assert await node(gql, world.admin.token, only_theirs) is None
    body = await gql("{ members(first: 100) { nodes { user { id } } } }",
                     token=world.admin.token)
    assert only_theirs not in {m["user"]["id"] for m in body["data"]["members"]["nodes"]}


@pytest.mark.parametrize("mutation, payload_field, id_field, type_name", MUTATIONS)
async def test_mutations_treat_other_tenants_ids_as_unknown(
        gql, world, other_world, mutation, payload_field, id_field, type_name):
    theirs = await populate(gql, other_world)
    their_state = await state(gql, other_world.admin.token)
    await populate(gql, world)
    our_state = await state(gql, world.admin.token)

    crossed = (await gql(mutation, {"id": theirs[type_name]}, token=world.admin.token))["data"]
    unknown = (await gql(mutation, {"id": gid(type_name, uuid7())},
                         token=world.admin.token))["data"]

    payload = crossed[payload_field]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        (["input", id_field], "NOT_FOUND")]
    assert all(v is None for k, v in payload.items() if k != "errors")
    assert crossed == unknown  # indistinguishable, message included
    assert await state(gql, other_world.admin.token) == their_state
    assert await state(gql, world.admin.token) == our_state
    # The other tenant's people are untouched, sessions included.
    viewer = await gql("{ viewer { role } }", token=other_world.admin.token)
    assert viewer["data"]["viewer"]["role"] == "ADMIN"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


MALFORMED = ["", "garbage", "!!!", "a", "Zm9v", _b64("Membership:not-a-uuid"),
             _b64("Membership"), _b64(":" + str(uuid7())), "\u00e9\u00e9\u00e9\u00e9"]


@pytest.mark.parametrize("mutation, payload_field, id_field, type_name", MUTATIONS)
async def test_malformed_and_wrongly_typed_ids_are_not_found(
        gql, world, mutation, payload_field, id_field, type_name):
    ids = await populate(gql, world)
    before = await state(gql, world.admin.token)
    wrong_types = [i for t, i in ids.items() if t != type_name]
    if type_name != "Membership":  # a membership ID of our own tenant, but not a key/invite
        wrong_types.append(gid("Membership", world.members["viewer"].membership_id))
    # The same raw UUID under another type name is not that object either.
    wrong_types.append(gid("Tenant", _raw(ids[type_name])))
    for bad in MALFORMED + wrong_types:
        payload = (await gql(mutation, {"id": bad}, token=world.admin.token))["data"][
            payload_field]
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [
            (["input", id_field], "NOT_FOUND")], bad
    assert await state(gql, world.admin.token) == before


def _raw(global_id: str) -> str:
    padded = global_id + "=" * (-len(global_id) % 4)
    return base64.urlsafe_b64decode(padded).decode().partition(":")[2]


async def test_malformed_ids_are_null_through_node_and_nodes(gql, world):
    for bad in MALFORMED:
        assert await node(gql, world.admin.token, bad) is None, bad
    body = await gql(NODES, {"ids": MALFORMED}, token=world.admin.token)
    assert body["data"]["nodes"] == [None] * len(MALFORMED)
    # An ID with a known UUID under the wrong type name resolves to nothing.
    membership = world.members["viewer"].membership_id
    for wrong in ("ApiKey", "Invite", "Tenant", "User", "Nope"):
        assert await node(gql, world.admin.token, gid(wrong, membership)) is None


async def test_list_queries_never_show_another_tenants_rows(gql, world, other_world):
    theirs = await populate(gql, other_world)
    mine = await populate(gql, world)
    ours = await state(gql, world.admin.token)
    assert {m["id"] for m in ours["members"]["nodes"]} == {
        gid("Membership", m.membership_id) for m in world.members.values()}
    assert [i["id"] for i in ours["invites"]["nodes"]] == [mine["Invite"]]
    assert [k["id"] for k in ours["apiKeys"]["nodes"]] == [mine["ApiKey"]]
    assert theirs["Invite"] not in str(ours) and theirs["ApiKey"] not in str(ours)


async def test_another_tenants_last_admin_is_not_revealed(gql, world, other_world):
    their_admin = gid("Membership", other_world.admin.membership_id)
    for mutation, payload_field, id_field, _ in MUTATIONS[:2]:
        payload = (await gql(mutation, {"id": their_admin}, token=world.admin.token))["data"][
            payload_field]
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [
            (["input", id_field], "NOT_FOUND")]
    viewer = await gql("{ viewer { role } }", token=other_world.admin.token)
    assert viewer["data"]["viewer"]["role"] == "ADMIN"


async def test_more_than_a_hundred_ids_is_bad_user_input(gql, world):
    body = await gql(NODES, {"ids": [gid("Membership", uuid7()) for _ in range(101)]},
                     token=world.admin.token, expect_errors=True)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "ids"}
    body = await gql(NODES, {"ids": [gid("Membership", uuid7()) for _ in range(100)]},
                     token=world.admin.token)
    assert body["data"]["nodes"] == [None] * 100
