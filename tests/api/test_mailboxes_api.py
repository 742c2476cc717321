"""Mailboxes over GraphQL and the OAuth callback route: connect, list (never tokens), SMTP,
test sends, delegation grants, and other tenants' IDs behaving as not found."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.relay import to_global_id
from domain.core import db
from domain.mailboxes.models import Mailbox
from tests.conftest import World
from tests.mailboxes_support import authorize, connect, mail_fixture, secrets_of  # noqa: F401

pytestmark = pytest.mark.usefixtures("mail")

FIELDS = """id provider address displayName status dailyLimit sentToday lastError lastErrorAt
            consecutiveFailures pausedUntil smtpHost smtpPort smtpUsername owner { id }"""
START = """mutation($input: StartMailboxConnectionInput!) { startMailboxConnection(input: $input) {
    authorizationUrl errors { field code message } } }"""
MAILBOXES = f"query {{ mailboxes(first: 10) {{ edges {{ node {{ {FIELDS} }} }} }} }}"
SMTP = f"""mutation($input: ConnectSmtpMailboxInput!) {{ connectSmtpMailbox(input: $input) {{
    mailbox {{ {FIELDS} }} errors {{ field code message }} }} }}"""
UPDATE = """mutation($input: UpdateMailboxInput!) { updateMailbox(input: $input) {
    mailbox { id dailyLimit } errors { field code message } } }"""
DISCONNECT = """mutation($input: MailboxIdInput!) { disconnectMailbox(input: $input) {
    mailbox { id status } errors { field code message } } }"""
SEND = """mutation($input: SendTestEmailInput!) { sendTestEmail(input: $input) {
    sent { messageId threadId providerMessageId } retryAfterSeconds
    errors { field code message } } }"""
GRANT = """mutation($input: GrantMailboxDelegationInput!) { grantMailboxDelegation(input: $input) {
    grant { id active grantedAt revokedAt grantee { id } grantedBy { id } revokedBy { id }
            mailbox { id address } }
    errors { field code message } } }"""
REVOKE = """mutation($input: RevokeMailboxDelegationInput!) {
    revokeMailboxDelegation(input: $input) {
    grant { id active revokedAt revokedBy { id } } errors { field code message } } }"""
GRANTS = """query($mailboxId: ID) { mailboxGrants(mailboxId: $mailboxId, first: 10) {
    edges { node { id active grantee { id } grantedBy { id } revokedAt } } } }"""
NOTIFICATIONS = """query { notifications(first: 10) { edges { node { kind payload } } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on Mailbox { id address } ... on MailboxGrant { id } } }"


def gid(kind: str, raw: Any) -> str:
    return str(to_global_id(kind, raw))


async def connect_via_api(gql, client: httpx.AsyncClient, token: str, provider: str,
                          address: str) -> httpx.Response:
    body = await gql(START, {"input": {"provider": provider.upper(), "loginHint": address}},
                     token=token)
    payload = body["data"]["startMailboxConnection"]
    assert payload["errors"] == []
    code, state = await authorize(payload["authorizationUrl"])
    return await client.get(f"/oauth/callback/{provider}", params={"code": code, "state": state})


@pytest.mark.parametrize(("provider", "address"), [("google", "rita@gmail.test"),
                                                   ("microsoft", "rita@outlook.test")])
async def test_connect_through_the_callback_and_list_without_tokens(
        mail, gql, client, world: World, provider: str, address: str):
    token = world.members["recruiter"].token
    response = await connect_via_api(gql, client, token, provider, address)
    assert response.status_code == 200 and address in response.text
    body = await gql(MAILBOXES, token=token)
    [node] = [e["node"] for e in body["data"]["mailboxes"]["edges"]]
    assert {k: node[k] for k in ("provider", "address", "status", "dailyLimit", "sentToday",
                                 "lastError", "consecutiveFailures")} == {
        "provider": provider.upper(), "address": address, "status": "CONNECTED",
        "dailyLimit": 200, "sentToday": 0, "lastError": None, "consecutiveFailures": 0}
    assert node["owner"]["id"] == gid("User", world.members["recruiter"].user_id)
    async with db.system_tenant_tx(str(world.tenant.id)):
        mailbox = await Mailbox.get(tenant_id=world.tenant.id, address=address)
    secrets = await secrets_of(world.tenant.id, mailbox.id)
    sent = await gql(SEND, {"input": {"to": "ada@example.org", "sender": {
        "mode": "OWN", "mailboxId": node["id"]}}}, token=token)
    payload = sent["data"]["sendTestEmail"]
    assert payload["errors"] == [] and payload["sent"]["messageId"].startswith("<")
    [message] = mail.messages(provider, address)
    assert message["messageId"] == payload["sent"]["messageId"]
    assert message["subject"] == "Talentgraph test email"
    listed = await gql(MAILBOXES, token=token)
    assert listed["data"]["mailboxes"]["edges"][0]["node"]["sentToday"] == 1
    text = str(body) + str(sent) + str(listed) + response.text
    for secret in secrets.values():
        assert secret is None or secret not in text
    # The admin sees it too; a colleague does not.
    admin = await gql(MAILBOXES, token=world.admin.token)
    assert len(admin["data"]["mailboxes"]["edges"]) == 1
    other = await gql(MAILBOXES, token=world.members["sourcer"].token)
    assert other["data"]["mailboxes"]["edges"] == []


async def test_callback_refuses_bad_state_and_provider_errors(mail, gql, client, world: World):
    token = world.members["recruiter"].token
    body = await gql(START, {"input": {"provider": "GOOGLE", "loginHint": "x@gmail.test"}},
                     token=token)
    code, state = await authorize(body["data"]["startMailboxConnection"]["authorizationUrl"])
    tampered = await client.get("/oauth/callback/google", params={"code": code,
                                                                  "state": state + "x"})
    assert tampered.status_code == 400 and "invalid or has expired" in tampered.text
    denied = await client.get("/oauth/callback/google",
                              params={"error": "access_denied", "state": state})
    assert denied.status_code == 400 and "access_denied" in denied.text
    unknown = await client.get("/oauth/callback/yahoo", params={"code": code, "state": state})
    assert unknown.status_code == 400
    ok = await client.get("/oauth/callback/google", params={"code": code, "state": state})
    assert ok.status_code == 200
    reused = await client.get("/oauth/callback/google", params={"code": code, "state": state})
    assert reused.status_code == 400


async def test_start_needs_the_permission_and_a_known_provider(mail, gql, world: World):
    body = await gql(START, {"input": {"provider": "GOOGLE"}},
                     token=world.members["viewer"].token, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await gql(START, {"input": {"provider": "GOOGLE", "loginHint": "a\r\nb@x.y"}},
                    token=world.members["recruiter"].token)
    assert [(e["field"], e["code"]) for e in bad["data"]["startMailboxConnection"]["errors"]] == [
        (["input", "loginHint"], "HEADER_INJECTION")]


async def test_smtp_mailbox_is_verified_by_a_login(mail, gql, world: World):
    token = world.members["recruiter"].token
    mail.create_account("smtp", "rita@smtp.test", password="smtp-secret-1")
    smtp_input = {"address": "rita@smtp.test", "host": "127.0.0.1", "port": mail.smtp_port,
                  "tls": "NONE", "username": "rita@smtp.test", "password": "wrong-password"}
    refused = await gql(SMTP, {"input": smtp_input}, token=token)
    payload = refused["data"]["connectSmtpMailbox"]
    assert payload["mailbox"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        (["input", "password"], "INVALID_CREDENTIALS")]
    assert "wrong-password" not in str(refused)
    assert (await gql(MAILBOXES, token=token))["data"]["mailboxes"]["edges"] == []
    for bad, field, code in (({"port": 0}, "port", "OUT_OF_RANGE"),
                             ({"address": "nope"}, "address", "INVALID_EMAIL"),
                             ({"host": "a\nb"}, "host", "HEADER_INJECTION"),
                             ({"dailyLimit": 0}, "dailyLimit", "OUT_OF_RANGE")):
        result = await gql(SMTP, {"input": {**smtp_input, "password": "smtp-secret-1", **bad}},
                           token=token)
        assert [(e["field"], e["code"]) for e in result["data"]["connectSmtpMailbox"]["errors"]
                ] == [(["input", field], code)]
    ok = await gql(SMTP, {"input": {**smtp_input, "password": "smtp-secret-1",
                                    "displayName": "Rita", "dailyLimit": 50}}, token=token)
    mailbox = ok["data"]["connectSmtpMailbox"]["mailbox"]
    assert (mailbox["provider"], mailbox["smtpHost"], mailbox["smtpPort"], mailbox["dailyLimit"],
            mailbox["status"]) == ("SMTP", "127.0.0.1", mail.smtp_port, 50, "CONNECTED")
    assert "smtp-secret-1" not in str(ok)
    taken = await gql(SMTP, {"input": {**smtp_input, "password": "smtp-secret-1"}},
                      token=world.members["sourcer"].token)
    assert [(e["field"], e["code"]) for e in taken["data"]["connectSmtpMailbox"]["errors"]] == [
        (["input", "address"], "ADDRESS_TAKEN")]


async def test_send_test_email_reports_retryable_failures(mail, gql, world: World):
    token = world.members["recruiter"].token
    mailbox = await connect(await world.scope("recruiter"), "google", "rita@gmail.test")
    mail.fault("google", "429", endpoint="send", retry_after=9)
    body = await gql(SEND, {"input": {"to": "ada@example.org", "sender": {
        "mode": "OWN", "mailboxId": gid("Mailbox", mailbox.id)}}}, token=token)
    payload = body["data"]["sendTestEmail"]
    assert payload["sent"] is None and payload["retryAfterSeconds"] == 9.0
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        (["input", "sender"], "RATE_LIMITED")]
    bad = await gql(SEND, {"input": {"to": "x@y.z\r\nBcc: a@b.c", "sender": {
        "mode": "OWN", "mailboxId": gid("Mailbox", mailbox.id)}}}, token=token)
    assert [(e["field"], e["code"]) for e in bad["data"]["sendTestEmail"]["errors"]] == [
        (["input", "to"], "HEADER_INJECTION")]


async def test_revoked_mailbox_shows_in_health_and_notifications(mail, gql, world: World):
    token = world.members["recruiter"].token
    mailbox = await connect(await world.scope("recruiter"), "microsoft", "rita@outlook.test")
    mail.revoke("microsoft", "rita@outlook.test")
    body = await gql(SEND, {"input": {"to": "ada@example.org", "sender": {
        "mode": "OWN", "mailboxId": gid("Mailbox", mailbox.id)}}}, token=token)
    assert [e["code"] for e in body["data"]["sendTestEmail"]["errors"]] == ["NEEDS_RECONNECT"]
    node = (await gql(MAILBOXES, token=token))["data"]["mailboxes"]["edges"][0]["node"]
    assert node["status"] == "NEEDS_RECONNECT" and node["consecutiveFailures"] == 1
    assert "invalid_grant" in node["lastError"]
    notes = (await gql(NOTIFICATIONS, token=token))["data"]["notifications"]["edges"]
    assert [n["node"]["kind"] for n in notes] == ["mailbox_needs_reconnect"]
    assert notes[0]["node"]["payload"]["reconnectUrl"].endswith(f"reconnect={mailbox.id}")


async def test_delegation_grants_are_audited_and_revocable(mail, gql, world: World):
    hm, recruiter = world.members["hiring_manager"], world.members["recruiter"]
    mailbox = await connect(await world.scope("hiring_manager"), "google", "hank@gmail.test")
    body = await gql(GRANT, {"input": {"mailboxId": gid("Mailbox", mailbox.id),
                                       "granteeId": gid("User", recruiter.user_id)}},
                     token=hm.token)
    grant = body["data"]["grantMailboxDelegation"]["grant"]
    assert grant["active"] is True and grant["revokedAt"] is None
    assert grant["grantee"]["id"] == gid("User", recruiter.user_id)
    assert grant["grantedBy"]["id"] == gid("User", hm.user_id)
    assert grant["mailbox"]["address"] == "hank@gmail.test"
    # The grantee sees the mailbox and the grant, and sends from it.
    seen = await gql(MAILBOXES, token=recruiter.token)
    assert [e["node"]["address"] for e in seen["data"]["mailboxes"]["edges"]] == ["hank@gmail.test"]
    sent = await gql(SEND, {"input": {"to": "ada@example.org", "sender": {
        "mode": "DELEGATED", "mailboxId": gid("Mailbox", mailbox.id)}}}, token=recruiter.token)
    assert sent["data"]["sendTestEmail"]["errors"] == []
    # Only the owner (or an admin) revokes.
    refused = await gql(REVOKE, {"input": {"grantId": grant["id"]}}, token=recruiter.token)
    assert [e["code"] for e in refused["data"]["revokeMailboxDelegation"]["errors"]] == [
        "NOT_FOUND"]
    revoked = await gql(REVOKE, {"input": {"grantId": grant["id"]}}, token=hm.token)
    done = revoked["data"]["revokeMailboxDelegation"]["grant"]
    assert done["active"] is False and done["revokedBy"]["id"] == gid("User", hm.user_id)
    listed = await gql(GRANTS, {"mailboxId": gid("Mailbox", mailbox.id)}, token=hm.token)
    assert [(e["node"]["id"], e["node"]["active"]) for e in
            listed["data"]["mailboxGrants"]["edges"]] == [(grant["id"], False)]
    again = await gql(SEND, {"input": {"to": "ada@example.org", "sender": {
        "mode": "DELEGATED", "mailboxId": gid("Mailbox", mailbox.id)}}}, token=recruiter.token)
    assert [(e["field"], e["code"]) for e in again["data"]["sendTestEmail"]["errors"]] == [
        (["input", "sender", "mailboxId"], "GRANT_REVOKED")]
    assert len(mail.messages("google", "hank@gmail.test")) == 1


async def test_other_tenants_ids_behave_as_not_found(mail, gql, world: World,
                                                     other_world: World):
    theirs = await connect(await other_world.scope("hiring_manager"), "google", "them@gmail.test")
    from domain.mailboxes import grants

    their_grant = await grants.grant_delegation(
        await other_world.scope("hiring_manager"), mailbox_id=theirs.id,
        grantee_id=other_world.members["recruiter"].user_id)
    mine = await connect(await world.scope("hiring_manager"), "google", "mine@gmail.test")
    token = world.admin.token
    hm_token = world.members["hiring_manager"].token
    mailbox_id, grant_id = gid("Mailbox", theirs.id), gid("MailboxGrant", their_grant.id)

    def codes(body: dict[str, Any], name: str) -> list[tuple[list[str], str]]:
        return [(e["field"], e["code"]) for e in body["data"][name]["errors"]]

    assert codes(await gql(UPDATE, {"input": {"mailboxId": mailbox_id, "dailyLimit": 5}},
                           token=token), "updateMailbox") == [(["input", "mailboxId"], "NOT_FOUND")]
    assert codes(await gql(DISCONNECT, {"input": {"mailboxId": mailbox_id}}, token=token),
                 "disconnectMailbox") == [(["input", "mailboxId"], "NOT_FOUND")]
    assert codes(await gql(GRANT, {"input": {"mailboxId": mailbox_id, "granteeId": gid(
        "User", world.members["recruiter"].user_id)}}, token=token),
        "grantMailboxDelegation") == [(["input", "mailboxId"], "NOT_FOUND")]
    assert codes(await gql(GRANT, {"input": {"mailboxId": gid("Mailbox", mine.id), "granteeId": gid(
        "User", other_world.members["recruiter"].user_id)}}, token=hm_token),
        "grantMailboxDelegation") == [(["input", "granteeId"], "NOT_FOUND")]
    assert codes(await gql(REVOKE, {"input": {"grantId": grant_id}}, token=token),
                 "revokeMailboxDelegation") == [(["input", "grantId"], "NOT_FOUND")]
    for mode in ("OWN", "DELEGATED", "ALIAS"):
        body = await gql(SEND, {"input": {"to": "a@example.org", "sender": {
            "mode": mode, "mailboxId": mailbox_id,
            "hmMemberId": gid("User", world.members["hiring_manager"].user_id)}}}, token=token)
        assert codes(body, "sendTestEmail") == [(["input", "sender", "mailboxId"], "NOT_FOUND")]
    alias = await gql(SEND, {"input": {"to": "a@example.org", "sender": {
        "mode": "ALIAS", "mailboxId": gid("Mailbox", mine.id),
        "hmMemberId": gid("User", other_world.members["hiring_manager"].user_id)}}},
        token=hm_token)
    assert codes(alias, "sendTestEmail") == [(["input", "sender", "hmMemberId"], "NOT_FOUND")]
    assert (await gql(NODE, {"id": mailbox_id}, token=token))["data"]["node"] is None
    assert (await gql(NODE, {"id": grant_id}, token=token))["data"]["node"] is None
    assert (await gql(GRANTS, {"mailboxId": mailbox_id}, token=token)
            )["data"]["mailboxGrants"]["edges"] == []
    listed = await gql(MAILBOXES, token=token)
    assert [e["node"]["address"] for e in listed["data"]["mailboxes"]["edges"]] == [
        "mine@gmail.test"]
    assert (await gql(NOTIFICATIONS, token=token))["data"]["notifications"]["edges"] == []
    assert mail.messages("google", "them@gmail.test") == []
    # Nothing of theirs changed.
    async with db.system_tenant_tx(str(other_world.tenant.id)):
        stored = await Mailbox.get(tenant_id=other_world.tenant.id, id=theirs.id)
    assert (stored.status, stored.daily_limit) == ("connected", 200)
