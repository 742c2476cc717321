"""Members, invites, roles and tenant settings through the API, as admins and as everyone else."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from api.relay import to_global_id
from domain.tenancy import service
from tests.conftest import PASSWORD

NON_ADMIN_ROLES = ["recruiter", "sourcer", "coordinator", "hiring_manager", "viewer"]

INVITE = """
mutation($email: String!, $role: Role!) {
  inviteMember(input: {email: $email, role: $role}) {
    invite { id email role acceptedAt revokedAt expiresAt createdAt invitedBy { email } }
    inviteToken errors { field code message }
  }
}"""
ACCEPT = """
mutation($input: AcceptInviteInput!) {
  acceptInvite(input: $input) {
    session { accessToken role user { email name } tenant { slug } }
    errors { field code message }
  }
}"""
REVOKE_INVITE = """
mutation($id: ID!) {
  revokeInvite(input: {inviteId: $id}) { invite { id revokedAt acceptedAt } errors { field code } }
}"""
UPDATE_ROLE = """
mutation($id: ID!, $role: Role!) {
  updateMemberRole(input: {membershipId: $id, role: $role}) {
    membership { id role user { email } } errors { field code message }
  }
}"""
REMOVE = """
mutation($id: ID!) {
  removeMember(input: {membershipId: $id}) { removedMembershipId errors { field code message } }
}"""
UPDATE_TENANT = """
mutation($input: UpdateTenantInput!) {
  updateTenant(input: $input) {
    tenant { name settings { timeZone engagementPolicy } } errors { field code message }
  }
}"""
CREATE_KEY = """
mutation($name: String!, $scopes: [String!]!) {
  createApiKey(input: {name: $name, scopes: $scopes}) { secret apiKey { id } errors { code } }
}"""
REVOKE_KEY = """
mutation($id: ID!) { revokeApiKey(input: {apiKeyId: $id}) { apiKey { id } errors { code } } }
"""
MEMBERS = """
query($role: Role) {
  members(first: 100, role: $role) { nodes { id role user { email name } } }
}"""
INVITES = "{ invites(first: 100) { nodes { id email role revokedAt acceptedAt } } }"
API_KEYS = "{ apiKeys(first: 100) { nodes { id name revokedAt } } }"
TENANT = "{ tenant { name settings { timeZone engagementPolicy } } }"
VIEWER = "{ viewer { role user { email } tenant { slug } } }"


def gid(type_name: str, raw: Any) -> str:
    return to_global_id(type_name, raw)


def unique_email(label: str = "person") -> str:
    return f"{label}-{uuid4().hex[:12]}@example.com"


def codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def invite(gql: Any, token: str, email: str, role: str = "RECRUITER") -> dict[str, Any]:
    body = await gql(INVITE, {"email": email, "role": role}, token=token)
    return body["data"]["inviteMember"]  # type: ignore[no-any-return]


async def accept(gql: Any, token: str, password: str, name: str | None = None
                 ) -> dict[str, Any]:
    variables: dict[str, Any] = {"token": token, "password": password}
    if name is not None:
        variables["name"] = name
    return (await gql(ACCEPT, {"input": variables}))["data"]["acceptInvite"]  # type: ignore[no-any-return]


async def members(gql: Any, token: str, role: str | None = None) -> list[dict[str, Any]]:
    body = await gql(MEMBERS, {"role": role}, token=token)
    return body["data"]["members"]["nodes"]  # type: ignore[no-any-return]


async def member_roles(gql: Any, token: str) -> dict[str, str]:
    return {m["user"]["email"]: m["role"] for m in await members(gql, token)}


async def pending_invites(gql: Any, token: str) -> list[dict[str, Any]]:
    return (await gql(INVITES, token=token))["data"]["invites"]["nodes"]  # type: ignore[no-any-return]


async def api_keys(gql: Any, token: str) -> list[dict[str, Any]]:
    return (await gql(API_KEYS, token=token))["data"]["apiKeys"]["nodes"]  # type: ignore[no-any-return]


async def tenant_of(gql: Any, token: str) -> dict[str, Any]:
    return (await gql(TENANT, token=token))["data"]["tenant"]  # type: ignore[no-any-return]


async def auth_code(gql: Any, token: str) -> str | None:
    body = await gql(VIEWER, token=token, expect_errors=True)
    if "errors" not in body:
        return None
    return body["errors"][0]["extensions"]["code"]  # type: ignore[no-any-return]


async def login(gql: Any, email: str, password: str = PASSWORD) -> dict[str, Any]:
    body = await gql("""mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) {
                          session { accessToken role tenant { slug } } errors { field code } } }""",
                     {"e": email, "p": password})
    return body["data"]["login"]  # type: ignore[no-any-return]


# --- invites ---------------------------------------------------------------------------------

async def test_new_person_accepts_an_invite_and_is_logged_in_to_the_tenant(gql, world):
    email = unique_email("new")
    sent = await invite(gql, world.admin.token, email.upper(), "SOURCER")
    assert sent["errors"] == []
    assert sent["inviteToken"].startswith("tgi_")
    created = sent["invite"]
    assert created["email"] == email  # normalised
    assert created["role"] == "SOURCER"
    assert created["acceptedAt"] is None and created["revokedAt"] is None
    assert created["expiresAt"] > created["createdAt"]
    assert created["invitedBy"] == {"email": world.admin.email}
    assert [i["id"] for i in await pending_invites(gql, world.admin.token)] == [created["id"]]

    accepted = await accept(gql, sent["inviteToken"], "a-brand-new-password", "  New Person ")
    assert accepted["errors"] == []
    session = accepted["session"]
    assert session["role"] == "SOURCER"
    assert session["user"] == {"email": email, "name": "New Person"}
    assert session["tenant"] == {"slug": world.tenant.slug}

    me = (await gql(VIEWER, token=session["accessToken"]))["data"]["viewer"]
    assert me == {"role": "SOURCER", "user": {"email": email},
                  "tenant": {"slug": world.tenant.slug}}
    assert (await member_roles(gql, world.admin.token))[email] == "SOURCER"
    assert await pending_invites(gql, world.admin.token) == []
    # The chosen password is the account's password now.
    assert (await login(gql, email, "a-brand-new-password"))["errors"] == []


async def test_new_person_with_a_too_short_password_is_refused_and_the_invite_stays(gql, world):
    email = unique_email()
    sent = await invite(gql, world.admin.token, email)
    refused = await accept(gql, sent["inviteToken"], "short", "Someone")
    assert refused["session"] is None
    assert codes(refused) == [(["input", "password"], "INVALID_PASSWORD")]
    assert email not in await member_roles(gql, world.admin.token)
    assert [i["email"] for i in await pending_invites(gql, world.admin.token)] == [email]
    # Nothing half-made: the same invite still works.
    assert (await accept(gql, sent["inviteToken"], "long-enough-password", "Someone"))[
        "errors"] == []


async def test_new_person_without_a_name_is_refused(gql, world):
    sent = await invite(gql, world.admin.token, unique_email())
    refused = await accept(gql, sent["inviteToken"], "long-enough-password")
    assert refused["session"] is None
    assert codes(refused) == [(["input", "name"], "INVALID")]
    assert len(await pending_invites(gql, world.admin.token)) == 1


async def test_existing_user_accepts_with_their_existing_password(gql, world, other_world):
    person = other_world.members["recruiter"]
    sent = await invite(gql, world.admin.token, person.email, "VIEWER")
    accepted = await accept(gql, sent["inviteToken"], PASSWORD, "A Different Name")
    assert accepted["errors"] == []
    session = accepted["session"]
    assert session["tenant"] == {"slug": world.tenant.slug}
    assert session["role"] == "VIEWER"
    assert session["user"] == {"email": person.email, "name": "Recruiter"}  # name kept
    assert (await member_roles(gql, world.admin.token))[person.email] == "VIEWER"
    # Still a recruiter in their own tenant, with the same session working.
    assert (await member_roles(gql, other_world.admin.token))[person.email] == "RECRUITER"
    assert await auth_code(gql, person.token) is None
    body = await gql("{ viewer { memberships { role tenant { slug } } } }",
                     token=session["accessToken"])
    assert body["data"]["viewer"]["memberships"] == [
        {"role": "RECRUITER", "tenant": {"slug": other_world.tenant.slug}},
        {"role": "VIEWER", "tenant": {"slug": world.tenant.slug}},
    ]


async def test_existing_user_with_a_wrong_password_is_refused(gql, world, other_world):
    person = other_world.members["sourcer"]
    sent = await invite(gql, world.admin.token, person.email)
    refused = await accept(gql, sent["inviteToken"], "not-their-password", "X")
    assert refused["session"] is None
    assert codes(refused) == [(["input", "password"], "INVALID_CREDENTIALS")]
    assert person.email not in await member_roles(gql, world.admin.token)
    assert [i["email"] for i in await pending_invites(gql, world.admin.token)] == [person.email]
    # Their password was not changed by the attempt.
    assert (await login(gql, person.email))["errors"] == []


async def test_a_second_pending_invite_for_the_same_email_is_a_duplicate(gql, world):
    email = unique_email()
    first = await invite(gql, world.admin.token, email)
    again = await invite(gql, world.admin.token, email.upper(), "VIEWER")
    assert again["invite"] is None and again["inviteToken"] is None
    assert codes(again) == [(["input", "email"], "DUPLICATE")]
    listed = await pending_invites(gql, world.admin.token)
    assert [(i["id"], i["role"]) for i in listed] == [(first["invite"]["id"], "RECRUITER")]


async def test_inviting_a_member_is_refused(gql, world):
    refused = await invite(gql, world.admin.token, world.members["viewer"].email.upper())
    assert refused["invite"] is None and refused["inviteToken"] is None
    assert codes(refused) == [(["input", "email"], "ALREADY_MEMBER")]
    assert await pending_invites(gql, world.admin.token) == []


async def test_inviting_an_invalid_email_is_refused(gql, world):
    refused = await invite(gql, world.admin.token, "not an email")
    assert codes(refused) == [(["input", "email"], "INVALID_EMAIL")]
    assert await pending_invites(gql, world.admin.token) == []


async def test_a_used_invite_token_cannot_be_used_again(gql, world):
    email = unique_email()
    sent = await invite(gql, world.admin.token, email)
    assert (await accept(gql, sent["inviteToken"], "first-password-ok", "One"))["errors"] == []
    again = await accept(gql, sent["inviteToken"], "first-password-ok", "One")
    assert again["session"] is None
    assert codes(again) == [(["input", "token"], "INVALID_TOKEN")]


@pytest.mark.parametrize("token", ["", "tgi_unknown", "garbage"])
async def test_an_unknown_invite_token_is_invalid(gql, token):
    refused = await accept(gql, token, "long-enough-password", "Name")
    assert refused["session"] is None
    assert codes(refused) == [(["input", "token"], "INVALID_TOKEN")]


async def test_a_revoked_invite_cannot_be_accepted(gql, world):
    email = unique_email()
    sent = await invite(gql, world.admin.token, email)
    body = await gql(REVOKE_INVITE, {"id": sent["invite"]["id"]}, token=world.admin.token)
    revoked = body["data"]["revokeInvite"]
    assert revoked["errors"] == []
    assert revoked["invite"]["id"] == sent["invite"]["id"]
    assert revoked["invite"]["revokedAt"] is not None
    assert await pending_invites(gql, world.admin.token) == []

    refused = await accept(gql, sent["inviteToken"], "long-enough-password", "Name")
    assert refused["session"] is None
    assert codes(refused) == [(["input", "token"], "INVALID_TOKEN")]
    assert email not in await member_roles(gql, world.admin.token)
    # Revoking again changes nothing, and the person may be invited anew.
    again = (await gql(REVOKE_INVITE, {"id": sent["invite"]["id"]},
                       token=world.admin.token))["data"]["revokeInvite"]
    assert again["errors"] == []
    assert again["invite"]["revokedAt"] == revoked["invite"]["revokedAt"]
    assert (await invite(gql, world.admin.token, email))["errors"] == []


async def test_revoking_an_accepted_invite_does_not_mark_it_revoked(gql, world):
    sent = await invite(gql, world.admin.token, unique_email())
    await accept(gql, sent["inviteToken"], "long-enough-password", "Name")
    body = await gql(REVOKE_INVITE, {"id": sent["invite"]["id"]}, token=world.admin.token)
    payload = body["data"]["revokeInvite"]
    assert payload["errors"] == []
    assert payload["invite"]["revokedAt"] is None
    assert payload["invite"]["acceptedAt"] is not None


async def test_accepting_after_becoming_a_member_otherwise_is_refused(gql, world):
    email = unique_email()
    sent = await invite(gql, world.admin.token, email, "ADMIN")
    await service.ensure_member(tenant=world.tenant, email=email, name="Meanwhile",
                                role="viewer", password="long-enough-password")
    refused = await accept(gql, sent["inviteToken"], "long-enough-password")
    assert refused["session"] is None
    assert codes(refused) == [(["input", "token"], "ALREADY_MEMBER")]
    assert (await member_roles(gql, world.admin.token))[email] == "VIEWER"


async def test_an_inviter_who_left_shows_as_null(gql, world):
    second = world.members["coordinator"]
    await gql(UPDATE_ROLE, {"id": gid("Membership", second.membership_id), "role": "ADMIN"},
              token=world.admin.token)
    token = (await login(gql, second.email))["session"]["accessToken"]
    sent = await invite(gql, token, unique_email())
    assert sent["invite"]["invitedBy"] == {"email": second.email}
    await gql(CREATE_KEY, {"name": "theirs", "scopes": ["prospects:read"]}, token=token)
    removed = await gql(REMOVE, {"id": gid("Membership", second.membership_id)},
                        token=world.admin.token)
    assert removed["data"]["removeMember"]["errors"] == []

    body = await gql("""{ invites { nodes { email invitedBy { email } } }
                          apiKeys { nodes { name createdBy { email } } } }""",
                     token=world.admin.token)
    assert body["data"]["invites"]["nodes"] == [
        {"email": sent["invite"]["email"], "invitedBy": None}]
    assert body["data"]["apiKeys"]["nodes"] == [{"name": "theirs", "createdBy": None}]


# --- roles -----------------------------------------------------------------------------------

async def test_update_member_role_changes_the_role_and_ends_their_sessions(gql, world):
    target = world.members["recruiter"]
    assert await auth_code(gql, target.token) is None  # their token is live (and cached)
    body = await gql(UPDATE_ROLE, {"id": gid("Membership", target.membership_id),
                                   "role": "HIRING_MANAGER"}, token=world.admin.token)
    payload = body["data"]["updateMemberRole"]
    assert payload["errors"] == []
    assert payload["membership"] == {"id": gid("Membership", target.membership_id),
                                     "role": "HIRING_MANAGER", "user": {"email": target.email}}

    assert await auth_code(gql, target.token) == "UNAUTHENTICATED"
    assert await auth_code(gql, world.admin.token) is None
    assert await auth_code(gql, world.members["viewer"].token) is None
    managers = await members(gql, world.admin.token, "HIRING_MANAGER")
    assert sorted(m["user"]["email"] for m in managers) == sorted(
        [target.email, world.members["hiring_manager"].email])
    assert await members(gql, world.admin.token, "RECRUITER") == []
    relog = await login(gql, target.email)
    assert relog["session"]["role"] == "HIRING_MANAGER"


async def test_setting_the_same_role_changes_nothing(gql, world):
    target = world.members["sourcer"]
    body = await gql(UPDATE_ROLE, {"id": gid("Membership", target.membership_id),
                                   "role": "SOURCER"}, token=world.admin.token)
    assert body["data"]["updateMemberRole"]["errors"] == []
    assert body["data"]["updateMemberRole"]["membership"]["role"] == "SOURCER"
    assert await auth_code(gql, target.token) is None


async def test_demoting_the_last_admin_is_refused(gql, world):
    before = await member_roles(gql, world.admin.token)
    body = await gql(UPDATE_ROLE, {"id": gid("Membership", world.admin.membership_id),
                                   "role": "RECRUITER"}, token=world.admin.token)
    payload = body["data"]["updateMemberRole"]
    assert payload["membership"] is None
    assert codes(payload) == [(["input", "membershipId"], "LAST_ADMIN")]
    assert await auth_code(gql, world.admin.token) is None  # sessions untouched
    assert await member_roles(gql, world.admin.token) == before


async def test_an_admin_can_be_demoted_while_another_admin_remains(gql, world):
    second = world.members["coordinator"]
    promoted = await gql(UPDATE_ROLE, {"id": gid("Membership", second.membership_id),
                                       "role": "ADMIN"}, token=world.admin.token)
    assert promoted["data"]["updateMemberRole"]["errors"] == []
    demoted = await gql(UPDATE_ROLE, {"id": gid("Membership", world.admin.membership_id),
                                      "role": "VIEWER"}, token=world.admin.token)
    assert demoted["data"]["updateMemberRole"]["errors"] == []
    assert demoted["data"]["updateMemberRole"]["membership"]["role"] == "VIEWER"
    # The demoted admin's own session ended with the change.
    assert await auth_code(gql, world.admin.token) == "UNAUTHENTICATED"
    new_admin = (await login(gql, second.email))["session"]["accessToken"]
    roles = await member_roles(gql, new_admin)
    assert roles[second.email] == "ADMIN" and roles[world.admin.email] == "VIEWER"
    # Now the coordinator is the last admin.
    last = await gql(UPDATE_ROLE, {"id": gid("Membership", second.membership_id),
                                   "role": "VIEWER"}, token=new_admin)
    assert codes(last["data"]["updateMemberRole"]) == [(["input", "membershipId"], "LAST_ADMIN")]


# --- removal ---------------------------------------------------------------------------------

async def test_remove_member_removes_them_and_ends_their_sessions(gql, world):
    target = world.members["coordinator"]
    assert await auth_code(gql, target.token) is None  # their token is live (and cached)
    body = await gql(REMOVE, {"id": gid("Membership", target.membership_id)},
                     token=world.admin.token)
    payload = body["data"]["removeMember"]
    assert payload == {"removedMembershipId": gid("Membership", target.membership_id),
                       "errors": []}
    assert target.email not in await member_roles(gql, world.admin.token)
    assert await auth_code(gql, target.token) == "UNAUTHENTICATED"
    assert await auth_code(gql, world.members["sourcer"].token) is None
    relog = await login(gql, target.email)
    assert relog["session"] is None
    assert [e["code"] for e in relog["errors"]] == ["INVALID_CREDENTIALS"]
    # Removing again: not found.
    again = await gql(REMOVE, {"id": gid("Membership", target.membership_id)},
                      token=world.admin.token)
    assert codes(again["data"]["removeMember"]) == [(["input", "membershipId"], "NOT_FOUND")]


async def test_removing_the_last_admin_is_refused(gql, world):
    before = await member_roles(gql, world.admin.token)
    body = await gql(REMOVE, {"id": gid("Membership", world.admin.membership_id)},
                     token=world.admin.token)
    payload = body["data"]["removeMember"]
    assert payload["removedMembershipId"] is None
    assert codes(payload) == [(["input", "membershipId"], "LAST_ADMIN")]
    assert await member_roles(gql, world.admin.token) == before
    assert await auth_code(gql, world.admin.token) is None


async def test_an_admin_can_be_removed_while_another_admin_remains(gql, world):
    await service.ensure_member(tenant=world.tenant, email=world.members["viewer"].email,
                                name="Viewer", role="admin")
    second_admin = (await login(gql, world.members["viewer"].email))["session"]["accessToken"]
    body = await gql(REMOVE, {"id": gid("Membership", world.admin.membership_id)},
                     token=second_admin)
    assert body["data"]["removeMember"]["errors"] == []
    assert await auth_code(gql, world.admin.token) == "UNAUTHENTICATED"


# --- listing ---------------------------------------------------------------------------------

async def test_members_lists_everyone_oldest_first_and_filters_by_role(gql, world):
    everyone = await members(gql, world.members["viewer"].token)
    assert [(m["user"]["email"], m["role"]) for m in everyone] == [
        (member.email, member.role.upper()) for member in world.members.values()]
    assert [m["id"] for m in everyone] == [
        gid("Membership", member.membership_id) for member in world.members.values()]
    for role, member in world.members.items():
        only = await members(gql, world.admin.token, role.upper())
        assert [(m["user"]["email"], m["role"]) for m in only] == [(member.email, role.upper())]


# --- admin-only operations -------------------------------------------------------------------

async def _snapshot(gql: Any, world: Any) -> dict[str, Any]:
    return {"members": await member_roles(gql, world.admin.token),
            "invites": await pending_invites(gql, world.admin.token),
            "keys": await api_keys(gql, world.admin.token),
            "tenant": await tenant_of(gql, world.admin.token)}


def _forbidden(body: dict[str, Any]) -> None:
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
async def test_non_admins_are_forbidden_every_admin_operation(gql, world, role):
    admin = world.admin.token
    pending = await invite(gql, admin, unique_email())
    key = (await gql(CREATE_KEY, {"name": "k", "scopes": ["prospects:read"]},
                     token=admin))["data"]["createApiKey"]
    before = await _snapshot(gql, world)
    token = world.members[role].token
    target = gid("Membership", world.members["viewer"].membership_id)

    attempts = [
        (INVITE, {"email": unique_email(), "role": "ADMIN"}),
        (UPDATE_ROLE, {"id": target, "role": "ADMIN"}),
        (UPDATE_ROLE, {"id": gid("Membership", world.members[role].membership_id),
                       "role": "ADMIN"}),
        (REMOVE, {"id": target}),
        (REVOKE_INVITE, {"id": pending["invite"]["id"]}),
        (CREATE_KEY, {"name": "sneaky", "scopes": ["prospects:read"]}),
        (REVOKE_KEY, {"id": key["apiKey"]["id"]}),
        (UPDATE_TENANT, {"input": {"name": "Hijacked",
                                   "settings": {"engagementPolicy": "BLOCK"}}}),
        (INVITES, None),
        (API_KEYS, None),
    ]
    for query, variables in attempts:
        _forbidden(await gql(query, variables, token=token, expect_errors=True))

    assert await _snapshot(gql, world) == before
    assert await auth_code(gql, world.members["viewer"].token) is None
    # Reads stay open to every role.
    assert (await tenant_of(gql, token))["name"] == before["tenant"]["name"]
    assert len(await members(gql, token)) == 6


# --- the tenant ------------------------------------------------------------------------------

async def test_update_tenant_name_and_settings(gql, world):
    assert await tenant_of(gql, world.admin.token) == {
        "name": world.tenant.name, "settings": {"timeZone": "UTC", "engagementPolicy": "WARN"}}
    body = await gql(UPDATE_TENANT, {"input": {"name": "  Acme Hiring ", "settings": {
        "timeZone": "Europe/Berlin", "engagementPolicy": "BLOCK"}}}, token=world.admin.token)
    payload = body["data"]["updateTenant"]
    expected = {"name": "Acme Hiring",
                "settings": {"timeZone": "Europe/Berlin", "engagementPolicy": "BLOCK"}}
    assert payload == {"tenant": expected, "errors": []}
    assert await tenant_of(gql, world.members["viewer"].token) == expected

    # Partial changes keep the rest.
    body = await gql(UPDATE_TENANT, {"input": {"settings": {"engagementPolicy": "WARN"}}},
                     token=world.admin.token)
    assert body["data"]["updateTenant"]["tenant"] == {
        "name": "Acme Hiring", "settings": {"timeZone": "Europe/Berlin",
                                            "engagementPolicy": "WARN"}}
    body = await gql(UPDATE_TENANT, {"input": {"name": "Acme"}}, token=world.admin.token)
    assert body["data"]["updateTenant"]["tenant"] == {
        "name": "Acme", "settings": {"timeZone": "Europe/Berlin", "engagementPolicy": "WARN"}}


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc", "", "../etc/passwd", "zone.tab"])
async def test_unknown_time_zone_is_refused_and_nothing_changes(gql, world, zone):
    before = await tenant_of(gql, world.admin.token)
    body = await gql(UPDATE_TENANT, {"input": {"name": "Renamed", "settings": {
        "timeZone": zone, "engagementPolicy": "BLOCK"}}}, token=world.admin.token)
    payload = body["data"]["updateTenant"]
    assert payload["tenant"] is None
    assert codes(payload) == [(["input", "settings", "timeZone"], "INVALID")]
    assert await tenant_of(gql, world.admin.token) == before


async def test_a_time_zone_naming_a_tzdata_directory_is_a_user_error(gql, world):
    before = await tenant_of(gql, world.admin.token)
    body = await gql(UPDATE_TENANT, {"input": {"settings": {"timeZone": "America"}}},
                     token=world.admin.token, expect_errors=True)
    assert "errors" not in body, body["errors"]
    assert codes(body["data"]["updateTenant"]) == [(["input", "settings", "timeZone"],
                                                    "INVALID")]
    assert await tenant_of(gql, world.admin.token) == before


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_invalid_tenant_name_is_refused(gql, world, name):
    before = await tenant_of(gql, world.admin.token)
    body = await gql(UPDATE_TENANT, {"input": {"name": name}}, token=world.admin.token)
    payload = body["data"]["updateTenant"]
    assert payload["tenant"] is None
    assert codes(payload) == [(["input", "name"], "INVALID")]
    assert await tenant_of(gql, world.admin.token) == before
