"""accounts.google.com, oauth2.googleapis.com and the Gmail API (`/google/...`)."""

from __future__ import annotations

import binascii
import email.utils
import json
from email.message import Message as MimeMessage
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator import faults, mime, oauth
from emulator.faults import Reply, gmail_invalid, gmail_not_found
from emulator.state import Account, Message, Store

GMAIL = "/gmail/gmail/v1/users/{user}"


async def _guard(request: Request, endpoint: str) -> tuple[Store, Account]:
    store = oauth.store_of(request)
    account = oauth.authenticate(request, "google")
    user = request.path_params["user"]
    if user not in ("me", account.address):
        raise Reply(faults.gmail_error(403, f"Delegation denied for {account.address}", "forbidden",
                                       "PERMISSION_DENIED"))
    await faults.apply(store, "google", endpoint)
    return store, account


def _messages(store: Store, account: Account) -> list[Message]:
    return store.mailbox_messages("google", account.address)


def _find(store: Store, account: Account, message_id: str) -> Message:
    if not all(c in "0123456789abcdef" for c in message_id):
        raise Reply(gmail_invalid("Invalid id value"))
    for message in _messages(store, account):
        if message.id == message_id:
            return message
    raise Reply(gmail_not_found())


# send -------------------------------------------------------------------------------------------
def _send(store: Store, account: Account, raw: bytes, thread_id: str | None) -> Response:
    parsed = mime.parse(raw)
    recipients = mime.recipients_of(parsed)
    if not recipients:
        raise Reply(gmail_invalid("Recipient address required"))
    thread = _thread_for(store, account, parsed, thread_id)
    _, sender = email.utils.parseaddr(str(parsed.get("From", "")))
    if sender.lower() not in account.aliases():
        # Gmail sends only as the account or a verified alias; any other From is replaced.
        del parsed["From"]
        parsed["From"] = email.utils.formataddr((account.display_name, account.address))
    generated = f"<CAemu{store.generation}x{store.message_counter + 1:06d}@mail.gmail.com>"
    mime.ensure_headers(parsed, message_id=generated)
    message = store.add_message(provider="google", mailbox=account.address, raw=parsed.as_bytes(),
                                direction="sent", thread_id=thread, labels=["SENT"], recipients=recipients)
    return JSONResponse({"id": message.id, "threadId": message.thread_id, "labelIds": message.labels})


def _thread_for(store: Store, account: Account, parsed: MimeMessage, thread_id: str | None) -> str | None:
    """Gmail files a sent message into `threadId` only when it references a message of that
    thread and the subjects match; otherwise it silently starts a new thread."""
    if not thread_id:
        return None
    if not all(c in "0123456789abcdef" for c in thread_id):
        raise Reply(gmail_invalid("Invalid thread_id value"))
    members = [m for m in _messages(store, account) if m.thread_id == thread_id]
    if not members:
        raise Reply(gmail_not_found())
    refs = f"{parsed.get('In-Reply-To', '')} {parsed.get('References', '')}".split()
    subject = mime.base_subject(str(parsed.get("Subject", "")))
    referenced = any(m.header("Message-ID") in refs for m in members)
    same_subject = any(mime.base_subject(m.header("Subject")) == subject for m in members)
    return thread_id if referenced and same_subject else None


async def send(request: Request) -> Response:
    payload = await request.body()  # read first: a held (timeout) request has its body already
    store, account = await _guard(request, "send")
    try:
        body: Any = json.loads(payload or b"{}")
    except ValueError:
        return gmail_invalid("Invalid JSON payload received.")
    if not isinstance(body, dict) or not body.get("raw"):
        return gmail_invalid("'raw' RFC822 payload message string or uploading message via /upload/* "
                             "URL required")
    try:
        raw = mime.b64url_decode(str(body["raw"]))
    except (binascii.Error, ValueError):
        return gmail_invalid("Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed.")
    return _send(store, account, raw, body.get("threadId"))


async def upload_send(request: Request) -> Response:
    """`/upload/gmail/v1/users/me/messages/send?uploadType=media` with a message/rfc822 body."""
    raw = await request.body()
    store, account = await _guard(request, "send")
    if not raw:
        return gmail_invalid("Media type 'message/rfc822' upload requires a body.")
    return _send(store, account, raw, request.query_params.get("threadId"))


# read -------------------------------------------------------------------------------------------
def _matches(message: Message, query: str, label_ids: list[str]) -> bool:
    if any(label not in message.labels for label in label_ids):
        return False
    for term in query.split():
        key, _, value = term.partition(":")
        value = value.strip('"').lower()
        if not _term(message, key.lower(), value, term.lower()):
            return False
    return True


def _term(message: Message, key: str, value: str, term: str) -> bool:
    if key == "in":
        return value == "anywhere" or value.upper() in message.labels
    if key == "label":
        return value.upper() in message.labels
    if key == "is":
        return (value == "unread") != message.is_read if value in ("unread", "read") else False
    if key == "rfc822msgid":
        return message.header("Message-ID").strip("<>").lower() == value.strip("<>")
    if key in ("from", "to", "subject"):
        header = {"from": "From", "to": "To", "subject": "Subject"}[key]
        return value in message.header(header).lower()
    if key == "after" and value.isdigit():
        return message.received_at > int(value)
    return term in (message.header("Subject") + " " + message.text_body()[1]).lower()


def _page(request: Request, items: list[Any], default: int = 100) -> tuple[list[Any], str | None]:
    try:
        size = max(1, min(500, int(request.query_params.get("maxResults", default))))
        offset = int(request.query_params.get("pageToken") or 0)
    except ValueError:
        raise Reply(gmail_invalid("Invalid pageToken or maxResults")) from None
    end = offset + size
    return items[offset:end], (str(end) if end < len(items) else None)


async def list_messages(request: Request) -> Response:
    store, account = await _guard(request, "api")
    query = request.query_params.get("q", "")
    labels = request.query_params.getlist("labelIds")
    found = [m for m in reversed(_messages(store, account)) if _matches(m, query, labels)]
    page, next_token = _page(request, found)
    body: dict[str, Any] = {}
    if page:
        body["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
    if next_token:
        body["nextPageToken"] = next_token
    body["resultSizeEstimate"] = len(found)
    return JSONResponse(body)


def _part(part: MimeMessage, part_id: str, headers_only: set[str] | None = None) -> dict[str, Any]:
    headers = [{"name": k, "value": str(v)} for k, v in part.items()
               if headers_only is None or not headers_only or k.lower() in headers_only]
    out: dict[str, Any] = {"partId": part_id, "mimeType": part.get_content_type(),
                           "filename": part.get_filename() or "", "headers": headers}
    if headers_only is not None:
        return {"partId": part_id, "mimeType": out["mimeType"], "filename": "", "headers": headers}
    payload = part.get_payload()
    if part.get_content_maintype() == "multipart" or part.get_content_type() == "message/rfc822":
        children = payload if isinstance(payload, list) else []
        out["body"] = {"size": 0}
        out["parts"] = [_part(child, f"{part_id}.{i}" if part_id else str(i))
                        for i, child in enumerate(children)]
        return out
    data: bytes
    if isinstance(payload, list):  # message/delivery-status: blocks of fields, a leaf at Gmail
        data = "\n".join(str(block) for block in payload).encode()
    else:
        decoded = part.get_payload(decode=True)
        data = decoded if isinstance(decoded, bytes) else b""
    out["body"] = {"size": len(data), "data": mime.b64url(data)} if data else {"size": 0}
    return out


def gmail_message(message: Message, fmt: str, metadata_headers: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": message.id, "threadId": message.thread_id, "labelIds": list(message.labels),
                           "snippet": mime.snippet(message.text_body()[1]), "sizeEstimate": len(message.raw),
                           "historyId": str(message.history_id),
                           "internalDate": str(int(message.received_at * 1000))}
    if fmt == "raw":
        out["raw"] = mime.b64url(message.raw)
    elif fmt == "metadata":
        out["payload"] = _part(message.mime, "", {h.lower() for h in metadata_headers or []})
    elif fmt == "full":
        out["payload"] = _part(message.mime, "")
    return out


def _format(request: Request) -> str:
    fmt = request.query_params.get("format", "full")
    if fmt not in ("full", "raw", "metadata", "minimal"):
        raise Reply(gmail_invalid(f"Invalid value at 'format' ({fmt})"))
    return fmt


async def get_message(request: Request) -> Response:
    store, account = await _guard(request, "api")
    message = _find(store, account, request.path_params["id"])
    return JSONResponse(gmail_message(message, _format(request),
                                      request.query_params.getlist("metadataHeaders")))


async def get_thread(request: Request) -> Response:
    store, account = await _guard(request, "api")
    members = [m for m in _messages(store, account) if m.thread_id == request.path_params["id"]]
    if not members:
        return gmail_not_found()
    fmt = _format(request)
    return JSONResponse({"id": members[0].thread_id, "historyId": str(members[-1].history_id),
                         "messages": [gmail_message(m, fmt) for m in members]})


async def history(request: Request) -> Response:
    store, account = await _guard(request, "api")
    start = request.query_params.get("startHistoryId", "")
    if not start.isdigit():
        return gmail_invalid("Invalid startHistoryId" if start
                             else "Missing required parameter: startHistoryId")
    label = request.query_params.get("labelId")
    types = set(request.query_params.getlist("historyTypes")) or {"messageAdded"}
    records = [r for r in store.history
               if r.mailbox == account.address and r.message.provider == "google" and r.id > int(start)
               and (label is None or label in r.message.labels) and "messageAdded" in types]
    page, next_token = _page(request, records)
    body: dict[str, Any] = {}
    if page:
        body["history"] = [
            {"id": str(r.id), "messages": [{"id": r.message.id, "threadId": r.message.thread_id}],
             "messagesAdded": [{"message": {"id": r.message.id, "threadId": r.message.thread_id,
                                            "labelIds": list(r.message.labels)}}]}
            for r in page]
    if next_token:
        body["nextPageToken"] = next_token
    body["historyId"] = str(store.history_counter)
    return JSONResponse(body)


async def profile(request: Request) -> Response:
    store, account = await _guard(request, "api")
    messages = _messages(store, account)
    return JSONResponse({"emailAddress": account.address, "messagesTotal": len(messages),
                         "threadsTotal": len({m.thread_id for m in messages}),
                         "historyId": str(store.history_counter)})


async def send_as(request: Request) -> Response:
    _, account = await _guard(request, "api")
    entries = [{"sendAsEmail": account.address, "displayName": account.display_name, "replyToAddress": "",
                "signature": "", "isPrimary": True, "isDefault": True, "treatAsAlias": False,
                "verificationStatus": "accepted"}]
    entries += [{"sendAsEmail": alias["email"], "displayName": alias.get("displayName", ""),
                 "replyToAddress": "", "signature": "", "isDefault": False, "treatAsAlias": True,
                 "verificationStatus": "accepted"} for alias in account.send_as]
    return JSONResponse({"sendAs": entries})


async def authorize(request: Request) -> Response:
    return await oauth.authorize(request, "google")


async def token(request: Request) -> Response:
    return await oauth.token(request, "google")


routes = [
    Route("/accounts/o/oauth2/v2/auth", authorize, methods=["GET", "POST"]),
    Route("/oauth2/token", token, methods=["POST"]),
    Route("/oauth2/revoke", oauth.google_revoke, methods=["POST"]),
    Route(GMAIL + "/messages/send", send, methods=["POST"]),
    Route("/gmail/upload/gmail/v1/users/{user}/messages/send", upload_send, methods=["POST"]),
    Route(GMAIL + "/messages", list_messages),
    Route(GMAIL + "/messages/{id}", get_message),
    Route(GMAIL + "/threads/{id}", get_thread),
    Route(GMAIL + "/history", history),
    Route(GMAIL + "/profile", profile),
    Route(GMAIL + "/settings/sendAs", send_as),
]
