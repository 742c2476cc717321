"""Microsoft Graph mail: me, sendMail (202), messages, delta."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import bearer, connect
from tests.emulator_fixture import Emulator

GRAPH = "/microsoft/graph/v1.0"
GRACE = "grace@example.test"


def message(subject: str = "Hello", to: str = "bob@candidate.test", **extra: Any) -> dict[str, Any]:
    return {"message": {"subject": subject, "body": {"contentType": "Text", "content": "Hi Bob"},
                        "toRecipients": [{"emailAddress": {"address": to, "name": "Bob"}}], **extra}}


@pytest.fixture
def graph(emu: Emulator, http: httpx.Client) -> httpx.Client:
    emu.create_account("microsoft", GRACE, displayName="Grace Hopper")
    http.headers.update(bearer(connect(http, "microsoft", GRACE)["access_token"]))
    return http


def test_me(emu: Emulator, graph: httpx.Client) -> None:
    me = graph.get(GRAPH + "/me").json()
    account = emu.create_account("microsoft", GRACE)
    assert {k: me[k] for k in ("mail", "userPrincipalName", "displayName", "id")} == {
        "mail": GRACE, "userPrincipalName": GRACE, "displayName": "Grace Hopper", "id": account["id"]}


def test_send_mail_is_accepted_without_a_body_or_id(emu: Emulator, graph: httpx.Client) -> None:
    response = graph.post(GRAPH + "/me/sendMail", json=message(
        internetMessageHeaders=[{"name": "X-Talentgraph-Step", "value": "s-1"}]))

    assert (response.status_code, response.content) == (202, b"")
    [stored] = emu.messages("microsoft", GRACE)
    assert (stored["from"], stored["to"], stored["subject"], stored["direction"]) == (
        f"Grace Hopper <{GRACE}>", ["bob@candidate.test"], "Hello", "sent")
    assert stored["headers"]["X-Talentgraph-Step"] == "s-1"
    listed = graph.get(GRAPH + "/me/messages").json()
    [item] = listed["value"]
    assert (item["id"], item["internetMessageId"], item["conversationId"], item["subject"]) == (
        stored["id"], stored["messageId"], stored["threadId"], "Hello")
    assert item["toRecipients"] == [{"emailAddress": {"name": "Bob", "address": "bob@candidate.test"}}]
    assert item["body"] == {"contentType": "text", "content": "Hi Bob\n"}
    assert "internetMessageHeaders" not in item
    selected = graph.get(f"{GRAPH}/me/messages/{item['id']}",
                         params={"$select": "subject,internetMessageHeaders"}).json()
    assert set(selected) == {"@odata.etag", "id", "subject", "internetMessageHeaders"}
    assert {"name": "X-Talentgraph-Step", "value": "s-1"} in selected["internetMessageHeaders"]


def test_send_mail_refusals(emu: Emulator, graph: httpx.Client) -> None:
    header = graph.post(GRAPH + "/me/sendMail", json=message(
        internetMessageHeaders=[{"name": "In-Reply-To", "value": "<x@y>"}]))
    nobody = graph.post(GRAPH + "/me/sendMail", json={"message": {"subject": "x"}})
    spoof = graph.post(GRAPH + "/me/sendMail", json=message(from_={}) | {"message": {
        **message()["message"], "from": {"emailAddress": {"address": "ceo@example.test"}}}})

    assert (header.status_code, header.json()["error"]["code"], header.json()["error"]["message"]) == (
        400, "InvalidInternetMessageHeader", "The internet message header name 'In-Reply-To' should start "
        "with 'x-' or 'X-'.")
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (400, "ErrorInvalidRecipients")
    assert (spoof.status_code, spoof.json()["error"]["code"]) == (403, "ErrorSendAsDenied")
    assert emu.messages() == []


def test_mime_send_threads_by_in_reply_to(emu: Emulator, graph: httpx.Client) -> None:
    graph.post(GRAPH + "/me/sendMail", json=message())
    [first] = emu.messages("microsoft", GRACE)
    follow = EmailMessage()
    follow["To"], follow["Subject"] = "bob@candidate.test", "Re: Hello"
    follow["In-Reply-To"] = follow["References"] = first["messageId"]
    follow["Message-ID"] = "<follow@talentgraph.test>"
    follow.set_content("Following up")

    response = graph.post(GRAPH + "/me/sendMail", content=base64.b64encode(follow.as_bytes()),
                          headers={"Content-Type": "text/plain"})

    assert response.status_code == 202
    second = emu.messages("microsoft", GRACE)[1]
    assert (second["threadId"], second["messageId"], second["from"]) == (
        first["threadId"], "<follow@talentgraph.test>", f"Grace Hopper <{GRACE}>")
    bad = graph.post(GRAPH + "/me/sendMail", content=b"%%%", headers={"Content-Type": "text/plain"})
    assert bad.json()["error"]["code"] == "ErrorMimeContentInvalidBase64String"


def test_filter_and_paging(emu: Emulator, graph: httpx.Client) -> None:
    for n in range(3):
        graph.post(GRAPH + "/me/sendMail", json=message(f"Hello {n}"))
    wanted = emu.messages("microsoft", GRACE)[1]["messageId"]

    page = graph.get(GRAPH + "/me/messages", params={"$top": 2}).json()
    rest = graph.get(page["@odata.nextLink"]).json()
    filtered = graph.get(GRAPH + "/me/messages",
                         params={"$filter": f"internetMessageId eq '{wanted}'"}).json()
    unsupported = graph.get(GRAPH + "/me/messages", params={"$filter": "startswith(subject,'H')"})

    assert [m["subject"] for m in page["value"]] == ["Hello 2", "Hello 1"]
    assert [m["subject"] for m in rest["value"]] == ["Hello 0"]
    assert "@odata.nextLink" not in rest
    assert [m["subject"] for m in filtered["value"]] == ["Hello 1"]
    assert (unsupported.status_code, unsupported.json()["error"]["code"]) == (
        400, "ErrorInvalidUrlQueryFilter")


def test_get_message_errors(graph: httpx.Client) -> None:
    missing = graph.get(GRAPH + "/me/messages/AAMkAGnothing")
    malformed = graph.get(GRAPH + "/me/messages/nope")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ErrorItemNotFound")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "ErrorInvalidIdMalformed")


def test_inbox_delta_rounds(emu: Emulator, graph: httpx.Client) -> None:
    graph.post(GRAPH + "/me/sendMail", json=message())
    [sent] = emu.messages("microsoft", GRACE)
    first = emu.inject("microsoft", GRACE, "reply", sent["messageId"], **{"from": "bob@candidate.test"})
    second = emu.inject("microsoft", GRACE, "bounce", sent["messageId"])
    url = GRAPH + "/me/mailFolders/inbox/messages/delta"
    small = {"Prefer": "odata.maxpagesize=1"}

    page1 = graph.get(url, headers=small).json()
    page2 = graph.get(page1["@odata.nextLink"], headers=small).json()
    idle = graph.get(page2["@odata.deltaLink"]).json()
    third = emu.inject("microsoft", GRACE, "reply", sent["messageId"], body="One more thing")
    later = graph.get(idle["@odata.deltaLink"]).json()

    assert [m["id"] for m in page1["value"]] == [first["id"]]
    assert "@odata.deltaLink" not in page1
    assert [m["id"] for m in page2["value"]] == [second["id"]]
    assert "@odata.nextLink" not in page2
    assert idle["value"] == []
    assert [m["id"] for m in later["value"]] == [third["id"]]
    assert page1["value"][0]["conversationId"] == sent["threadId"]
    assert page1["value"][0]["from"] == {"emailAddress": {"name": "bob@candidate.test",
                                                          "address": "bob@candidate.test"}}

    emu.reset()
    emu.create_account("microsoft", GRACE)
    token = connect(graph, "microsoft", GRACE)["access_token"]
    stale = graph.get(later["@odata.deltaLink"], headers=bearer(token))
    assert (stale.status_code, stale.json()["error"]["code"]) == (410, "SyncStateNotFound")
