"""The Gmail API subset: send (raw MIME, threadId), list, get, threads, history, profile, sendAs."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from tests.emulator.conftest import bearer, connect
from tests.emulator_fixture import Emulator

USERS = "/google/gmail/gmail/v1/users/me"
ADA = "ada@example.test"


def raw(subject: str = "Hello", *, sender: str = f"Ada <{ADA}>", to: str = "bob@candidate.test",
        message_id: str | None = "<m1@talentgraph.test>", in_reply_to: str | None = None,
        body: str = "Hi Bob,\nshall we talk?") -> str:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = message["References"] = in_reply_to
    message.set_content(body)
    return base64.urlsafe_b64encode(message.as_bytes()).decode().rstrip("=")


@pytest.fixture
def gmail(emu: Emulator, http: httpx.Client) -> httpx.Client:
    emu.create_account("google", ADA, displayName="Ada Lovelace",
                       sendAs=[{"email": "ada@recruiting.test", "displayName": "Ada (Recruiting)"}])
    http.headers.update(bearer(connect(http, "google", ADA)["access_token"]))
    return http


def send(gmail: httpx.Client, **body: Any) -> httpx.Response:
    return gmail.post(USERS + "/messages/send", json=body)


def test_send_returns_id_thread_and_labels_and_stores_the_message(emu: Emulator, gmail: httpx.Client) -> None:
    response = send(gmail, raw=raw())

    assert (response.status_code, response.json()) == (
        200, {"id": "18c0000000000001", "threadId": "18c0000000000001", "labelIds": ["SENT"]})
    [stored] = emu.messages("google", ADA)
    assert {k: stored[k] for k in ("id", "threadId", "from", "to", "subject", "messageId", "inReplyTo",
                                   "direction", "mailbox", "provider")} == {
        "id": "18c0000000000001", "threadId": "18c0000000000001", "from": f"Ada <{ADA}>",
        "to": ["bob@candidate.test"], "subject": "Hello", "messageId": "<m1@talentgraph.test>",
        "inReplyTo": None, "direction": "sent", "mailbox": ADA, "provider": "google"}
    assert "Hi Bob," in stored["raw"]
    assert stored["headers"]["Subject"] == "Hello"


def test_thread_id_is_honoured_only_for_a_real_follow_up(gmail: httpx.Client) -> None:
    first = send(gmail, raw=raw()).json()

    follow_up = send(gmail, raw=raw("Re: Hello", message_id="<m2@talentgraph.test>",
                                    in_reply_to="<m1@talentgraph.test>"), threadId=first["threadId"])
    unrelated = send(gmail, raw=raw("Something else", message_id="<m3@talentgraph.test>"),
                     threadId=first["threadId"])

    assert follow_up.json() == {"id": "18c0000000000002", "threadId": first["threadId"], "labelIds": ["SENT"]}
    # Gmail starts a new thread when the message neither references the thread nor shares its subject.
    assert unrelated.json()["threadId"] == "18c0000000000003"


def test_send_to_an_unknown_thread_is_not_found(gmail: httpx.Client) -> None:
    response = send(gmail, raw=raw(), threadId="18cffffffffffff0")
    assert (response.status_code, response.json()) == (404, {"error": {
        "code": 404, "message": "Requested entity was not found.",
        "errors": [{"message": "Requested entity was not found.", "domain": "global", "reason": "notFound"}],
        "status": "NOT_FOUND"}})


def test_from_is_kept_for_aliases_and_replaced_otherwise(emu: Emulator, gmail: httpx.Client) -> None:
    send(gmail, raw=raw(sender="Recruiting <ada@recruiting.test>"))
    send(gmail, raw=raw(sender="Mallory <mallory@evil.test>", message_id=None))

    alias, spoofed = emu.messages("google", ADA)
    assert alias["from"] == "Recruiting <ada@recruiting.test>"
    assert spoofed["from"] == f"Ada Lovelace <{ADA}>"
    assert spoofed["messageId"].endswith("@mail.gmail.com>")  # added when the client sent none


def test_send_validation_errors(emu: Emulator, gmail: httpx.Client) -> None:
    missing = send(gmail)
    no_recipient = send(gmail, raw=raw(to=""))
    garbage = send(gmail, raw="***")

    assert missing.status_code == no_recipient.status_code == garbage.status_code == 400
    assert missing.json()["error"]["message"] == (
        "'raw' RFC822 payload message string or uploading message via /upload/* URL required")
    assert no_recipient.json()["error"] == {
        "code": 400, "message": "Recipient address required",
        "errors": [{"message": "Recipient address required", "domain": "global",
                    "reason": "invalidArgument"}],
        "status": "INVALID_ARGUMENT"}
    assert garbage.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert emu.messages() == []


def test_media_upload_send(gmail: httpx.Client) -> None:
    mime = base64.urlsafe_b64decode(raw() + "==")
    response = gmail.post("/google/gmail/upload/gmail/v1/users/me/messages/send",
                          params={"uploadType": "media"}, content=mime,
                          headers={"Content-Type": "message/rfc822"})
    assert response.json() == {"id": "18c0000000000001", "threadId": "18c0000000000001", "labelIds": ["SENT"]}


def test_list_query_and_pages(emu: Emulator, gmail: httpx.Client) -> None:
    assert gmail.get(USERS + "/messages").json() == {"resultSizeEstimate": 0}
    sent = send(gmail, raw=raw()).json()
    reply = emu.inject("google", ADA, "reply", "<m1@talentgraph.test>", body="Sure, Tuesday works.")

    everything = gmail.get(USERS + "/messages", params={"maxResults": 1}).json()
    second = gmail.get(USERS + "/messages",
                       params={"maxResults": 1, "pageToken": everything["nextPageToken"]})
    inbox = gmail.get(USERS + "/messages", params={"q": "in:inbox is:unread"}).json()
    by_id = gmail.get(USERS + "/messages", params={"q": "rfc822msgid:<m1@talentgraph.test>"}).json()
    by_label = gmail.get(USERS + "/messages", params={"labelIds": "SENT"}).json()

    assert everything == {"messages": [{"id": reply["id"], "threadId": sent["threadId"]}],
                          "nextPageToken": "1", "resultSizeEstimate": 2}
    assert second.json() == {"messages": [{"id": sent["id"], "threadId": sent["threadId"]}],
                             "resultSizeEstimate": 2}
    assert inbox["messages"] == [{"id": reply["id"], "threadId": sent["threadId"]}]
    assert by_id["messages"] == [{"id": sent["id"], "threadId": sent["threadId"]}]
    assert by_label["messages"] == [{"id": sent["id"], "threadId": sent["threadId"]}]


def test_get_in_every_format(gmail: httpx.Client) -> None:
    sent = send(gmail, raw=raw()).json()
    url = f"{USERS}/messages/{sent['id']}"

    full = gmail.get(url).json()
    raw_format = gmail.get(url, params={"format": "raw"}).json()
    metadata = gmail.get(url, params={"format": "metadata", "metadataHeaders": "Subject"}).json()
    minimal = gmail.get(url, params={"format": "minimal"}).json()

    assert set(full) == {"id", "threadId", "labelIds", "snippet", "sizeEstimate", "historyId", "internalDate",
                         "payload"}
    assert full["snippet"] == "Hi Bob, shall we talk?"
    assert full["payload"]["mimeType"] == "text/plain"
    assert {"name": "Subject", "value": "Hello"} in full["payload"]["headers"]
    data = full["payload"]["body"]["data"]
    assert base64.urlsafe_b64decode(data).decode() == "Hi Bob,\nshall we talk?\n"
    assert b"Subject: Hello" in base64.urlsafe_b64decode(raw_format["raw"])
    assert metadata["payload"]["headers"] == [{"name": "Subject", "value": "Hello"}]
    assert "payload" not in minimal and "raw" not in minimal
    missing = gmail.get(f"{USERS}/messages/18cffffffffffff0")
    assert (missing.status_code, missing.json()["error"]["status"]) == (404, "NOT_FOUND")
    assert gmail.get(f"{USERS}/messages/not-hex").status_code == 400


def test_thread_holds_the_conversation(emu: Emulator, gmail: httpx.Client) -> None:
    sent = send(gmail, raw=raw()).json()
    reply = emu.inject("google", ADA, "reply", "<m1@talentgraph.test>")

    thread = gmail.get(f"{USERS}/threads/{sent['threadId']}", params={"format": "minimal"}).json()

    assert [m["id"] for m in thread["messages"]] == [sent["id"], reply["id"]]
    assert reply["threadId"] == sent["threadId"]


def test_history_lists_messages_added_since(emu: Emulator, gmail: httpx.Client) -> None:
    send(gmail, raw=raw())
    start = gmail.get(USERS + "/profile").json()["historyId"]

    assert gmail.get(USERS + "/history", params={"startHistoryId": start}).json() == {"historyId": start}
    reply = emu.inject("google", ADA, "reply", "<m1@talentgraph.test>")
    changes = gmail.get(USERS + "/history", params={"startHistoryId": start, "labelId": "INBOX"}).json()

    new_id = str(int(start) + 1)
    assert changes == {"history": [{
        "id": new_id, "messages": [{"id": reply["id"], "threadId": reply["threadId"]}],
        "messagesAdded": [{"message": {"id": reply["id"], "threadId": reply["threadId"],
                                       "labelIds": ["INBOX", "UNREAD"]}}]}],
        "historyId": new_id}
    assert gmail.get(USERS + "/history").status_code == 400


def test_profile_and_send_as(gmail: httpx.Client) -> None:
    send(gmail, raw=raw())
    send(gmail, raw=raw("Second", message_id="<m9@talentgraph.test>"))

    profile = gmail.get(USERS + "/profile").json()
    send_as = gmail.get(USERS + "/settings/sendAs").json()

    assert profile == {"emailAddress": ADA, "messagesTotal": 2, "threadsTotal": 2, "historyId": "1002"}
    assert [(e["sendAsEmail"], e["displayName"], e.get("isPrimary", False), e["verificationStatus"])
            for e in send_as["sendAs"]] == [(ADA, "Ada Lovelace", True, "accepted"),
                                            ("ada@recruiting.test", "Ada (Recruiting)", False, "accepted")]


def test_another_users_mailbox_is_denied(gmail: httpx.Client) -> None:
    response = gmail.get("/google/gmail/gmail/v1/users/someone@else.test/profile")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == f"Delegation denied for {ADA}"
    assert gmail.get(f"/google/gmail/gmail/v1/users/{ADA}/profile").status_code == 200
