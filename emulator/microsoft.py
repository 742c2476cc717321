"""login.microsoftonline.com and Microsoft Graph mail (`/microsoft/...`)."""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import re
from email.message import EmailMessage
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator import faults, mime, oauth
from emulator.faults import Reply, graph_error
from emulator.state import Account, Message, Store, iso

GRAPH = "/graph/v1.0"
FOLDERS = {"inbox": "AQMkAGVtdWxhdG9yAC4AAAJinboxAAAA", "sentitems": "AQMkAGVtdWxhdG9yAC4AAAJsentAAAA"}


async def _guard(request: Request, endpoint: str) -> tuple[Store, Account]:
    store = oauth.store_of(request)
    account = oauth.authenticate(request, "microsoft")
    await faults.apply(store, "microsoft", endpoint)
    return store, account


def _bad(store: Store, code: str, message: str, status: int = 400) -> Reply:
    return Reply(graph_error(store, status, code, message))


def _recipient(value: str) -> dict[str, Any]:
    name, address = email.utils.parseaddr(value)
    return {"emailAddress": {"name": name or address, "address": address}}


def _recipients(value: str) -> list[dict[str, Any]]:
    return [_recipient(email.utils.formataddr(pair)) for pair in email.utils.getaddresses([value]) if pair[1]]


def graph_message(message: Message, select: list[str] | None = None) -> dict[str, Any]:
    content_type, text = message.text_body()
    sender = _recipient(message.header("From"))
    folder = "inbox" if "inbox" in message.labels else "sentitems"
    stamp = iso(message.received_at)
    out: dict[str, Any] = {
        "@odata.etag": f'W/"CQAAABYAAAB{message.seq:08d}"', "id": message.id,
        "createdDateTime": stamp, "lastModifiedDateTime": stamp, "changeKey": f"CQAAABYAAAB{message.seq:08d}",
        "categories": [], "receivedDateTime": stamp, "sentDateTime": stamp, "hasAttachments": False,
        "internetMessageId": message.header("Message-ID"), "subject": message.header("Subject"),
        "bodyPreview": mime.snippet(text, 255), "importance": "normal", "parentFolderId": FOLDERS[folder],
        "conversationId": message.thread_id, "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False, "isRead": message.is_read, "isDraft": False,
        "webLink": f"https://outlook.live.com/owa/?ItemID={message.id}&exvsurl=1&viewmodel=ReadMessageItem",
        "inferenceClassification": "focused",
        "body": {"contentType": "html" if content_type == "text/html" else "text", "content": text},
        "sender": sender, "from": sender, "toRecipients": _recipients(message.header("To")),
        "ccRecipients": _recipients(message.header("Cc")),
        "bccRecipients": _recipients(message.header("Bcc")),
        "replyTo": _recipients(message.header("Reply-To")), "flag": {"flagStatus": "notFlagged"},
    }
    if not select:
        return out
    # $select returns only what was asked (plus id and etag); headers exist only when selected.
    picked = {k: v for k, v in out.items() if k in select or k in ("id", "@odata.etag")}
    if "internetMessageHeaders" in select:
        picked["internetMessageHeaders"] = [{"name": k, "value": v} for k, v in message.headers()]
    return picked


def _select(request: Request) -> list[str] | None:
    value = request.query_params.get("$select")
    return [s.strip() for s in value.split(",")] if value else None


def _visible(store: Store, account: Account, folder: str | None = None) -> list[Message]:
    return [m for m in store.mailbox_messages("microsoft", account.address)
            if (folder is None and ("inbox" in m.labels or "sentitems" in m.labels)) or folder in m.labels]


def _folder(store: Store, name: str) -> str:
    key = name.lower().strip("'()")
    for folder, folder_id in FOLDERS.items():
        if key in (folder, folder_id.lower()):
            return folder
    raise _bad(store, "ErrorItemNotFound", "The specified object was not found in the store.", 404)


# profile and send -------------------------------------------------------------------------------
async def me(request: Request) -> Response:
    _, account = await _guard(request, "api")
    return JSONResponse({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
        "businessPhones": [], "displayName": account.display_name,
        "givenName": account.display_name.split(" ")[0], "surname": account.display_name.split(" ")[-1],
        "jobTitle": None, "mail": account.address, "mobilePhone": None, "officeLocation": None,
        "preferredLanguage": "en-US", "userPrincipalName": account.address, "id": account.user_id})


def _json_to_mime(store: Store, account: Account, payload: Any) -> tuple[bytes, list[str], bool]:
    if not isinstance(payload, dict) or not isinstance(payload.get("message"), dict):
        raise _bad(store, "ErrorInvalidRequest", "The message parameter is required.")
    data = payload["message"]
    save = payload.get("saveToSentItems", True) is not False
    out = EmailMessage()
    sender = (data.get("from") or {}).get("emailAddress") or {}
    address = str(sender.get("address") or account.address).lower()
    if address not in account.aliases():
        raise _bad(store, "ErrorSendAsDenied", "The user account which was used to submit this request does "
                   "not have the right to send mail on behalf of the specified sending account., Cannot "
                   "submit message.", 403)
    out["From"] = email.utils.formataddr((str(sender.get("name") or account.display_name), address))
    everyone: list[str] = []
    for field, header in (("toRecipients", "To"), ("ccRecipients", "Cc"), ("bccRecipients", None),
                          ("replyTo", "Reply-To")):
        entries = [(str((r.get("emailAddress") or {}).get("name") or ""),
                    str((r.get("emailAddress") or {}).get("address") or ""))
                   for r in data.get(field) or [] if isinstance(r, dict)]
        if any(not addr or "@" not in addr for _, addr in entries):
            raise _bad(store, "ErrorInvalidRecipients", "At least one recipient isn't valid., Recipient is "
                       "not resolved. All recipients must be resolved before a message can be submitted.")
        if field != "replyTo":
            everyone += [addr.lower() for _, addr in entries]
        if header and entries:
            out[header] = ", ".join(email.utils.formataddr(e) for e in entries)
    if not everyone:
        raise _bad(store, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be "
                   "sent because it contains no recipients.")
    out["Subject"] = str(data.get("subject") or "")
    for entry in data.get("internetMessageHeaders") or []:
        name = str(entry.get("name", ""))
        # Graph accepts only custom X- headers here; threading headers need the reply APIs or MIME.
        if not name.lower().startswith("x-"):
            raise _bad(store, "InvalidInternetMessageHeader",
                       f"The internet message header name '{name}' should start with 'x-' or 'X-'.")
        out[name] = str(entry.get("value", ""))
    body = data.get("body") or {}
    subtype = "html" if str(body.get("contentType", "text")).lower() == "html" else "plain"
    out.set_content(str(body.get("content") or ""), subtype=subtype)
    mime.ensure_headers(out, message_id=_exchange_id(store))
    return out.as_bytes(), everyone, save


def _exchange_id(store: Store) -> str:
    gen, seq = store.generation, store.message_counter + 1
    return f"<EMU{gen}P{seq:06d}MB0001@EMU{gen}.prod.outlook.test>"


async def send_mail(request: Request) -> Response:
    """JSON message, or base64 MIME with Content-Type text/plain; 202 with no body and no id."""
    body = await request.body()  # read first: a held (timeout) request has its body already
    store, account = await _guard(request, "send")
    thread: str | None = None
    if request.headers.get("content-type", "").startswith("text/plain"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise _bad(store, "ErrorMimeContentInvalidBase64String",
                       "Invalid base64 string for MIME content.") from None
        parsed = mime.parse(raw)
        recipients = mime.recipients_of(parsed)
        if not recipients:
            raise _bad(store, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message "
                       "can't be sent because it contains no recipients.")
        _, sender = email.utils.parseaddr(str(parsed.get("From", "")))
        if sender and sender.lower() not in account.aliases():
            raise _bad(store, "ErrorSendAsDenied", "The user account which was used to submit this "
                       "request does not have the right to send mail on behalf of the specified sending "
                       "account.", 403)
        if not sender:
            parsed["From"] = email.utils.formataddr((account.display_name, account.address))
        mime.ensure_headers(parsed, message_id=_exchange_id(store))
        refs = f"{parsed.get('In-Reply-To', '')} {parsed.get('References', '')}"
        thread = store.thread_of_references("microsoft", account.address, refs)
        raw, save = parsed.as_bytes(), True
    else:
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            raise _bad(store, "RequestBodyRead", "Invalid JSON in the request body.") from None
        raw, recipients, save = _json_to_mime(store, account, payload)
    store.add_message(provider="microsoft", mailbox=account.address, raw=raw, direction="sent",
                      thread_id=thread, labels=["sentitems"] if save else [], recipients=recipients)
    return Response(status_code=202)


# reading ----------------------------------------------------------------------------------------
_FILTER = re.compile(r"^\s*(internetMessageId|conversationId|subject)\s+eq\s+'((?:[^']|'')*)'\s*$")


def _filtered(store: Store, request: Request, messages: list[Message]) -> list[Message]:
    expression = request.query_params.get("$filter")
    if not expression:
        return messages
    match = _FILTER.match(expression)
    if match is None:
        raise _bad(store, "ErrorInvalidUrlQueryFilter",
                   "The query filter contains one or more invalid nodes.")
    field, value = match.group(1), match.group(2).replace("''", "'")
    if field == "internetMessageId":
        return [m for m in messages if m.header("Message-ID") == value]
    if field == "conversationId":
        return [m for m in messages if m.thread_id == value]
    return [m for m in messages if m.header("Subject") == value]


def _listing(request: Request, store: Store, messages: list[Message]) -> Response:
    try:
        top = max(1, min(1000, int(request.query_params.get("$top", 10))))
        skip = max(0, int(request.query_params.get("$skip", 0)))
    except ValueError:
        raise _bad(store, "BadRequest", "Invalid $top or $skip value.") from None
    page = messages[skip:skip + top]
    body: dict[str, Any] = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('me')/messages",
        "value": [graph_message(m, _select(request)) for m in page]}
    if skip + top < len(messages):
        params = dict(request.query_params)
        params["$skip"] = str(skip + top)
        body["@odata.nextLink"] = str(request.url.replace_query_params(**params))
    return JSONResponse(body)


async def list_messages(request: Request) -> Response:
    store, account = await _guard(request, "api")
    return _listing(request, store, _filtered(store, request, list(reversed(_visible(store, account)))))


async def folder_messages(request: Request) -> Response:
    store, account = await _guard(request, "api")
    folder = _folder(store, request.path_params["folder"])
    messages = list(reversed(_visible(store, account, folder)))
    return _listing(request, store, _filtered(store, request, messages))


async def get_message(request: Request) -> Response:
    store, account = await _guard(request, "api")
    wanted = request.path_params["id"]
    if not wanted.startswith("AAMk"):
        raise _bad(store, "ErrorInvalidIdMalformed", "Id is malformed.")
    for message in store.mailbox_messages("microsoft", account.address):
        if message.id == wanted:
            return JSONResponse(graph_message(message, _select(request)))
    raise _bad(store, "ErrorItemNotFound", "The specified object was not found in the store.", 404)


def _token(store: Store, *values: int) -> str:
    text = ".".join(str(v) for v in (store.generation, *values))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _untoken(store: Store, token: str, parts: int) -> list[int]:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        values = [int(v) for v in text.split(".")]
    except (ValueError, binascii.Error):
        values = []
    if len(values) != parts + 1 or values[0] != store.generation:
        raise _bad(store, "SyncStateNotFound", "The sync state generation is not found.", 410)
    return values[1:]


async def delta(request: Request) -> Response:
    """Rounds of change tracking: pages linked by `@odata.nextLink` ($skiptoken), the last one
    carrying `@odata.deltaLink` ($deltatoken) that returns only what arrived since."""
    store, account = await _guard(request, "api")
    folder = _folder(store, request.path_params["folder"])
    skiptoken, deltatoken = request.query_params.get("$skiptoken"), request.query_params.get("$deltatoken")
    if skiptoken:
        since, offset, high = _untoken(store, skiptoken, 3)
    else:
        since = _untoken(store, deltatoken, 1)[0] if deltatoken else 0
        offset, high = 0, store.history_counter
    prefer = request.headers.get("prefer", "")
    match = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    size = max(1, int(match.group(1))) if match else 10
    changed = [m for m in _visible(store, account, folder) if since < m.history_id <= high]
    page = changed[offset:offset + size]
    base = str(request.url.replace(query=""))
    body: dict[str, Any] = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(message)",
                            "value": [graph_message(m, _select(request)) for m in page]}
    if offset + size < len(changed):
        body["@odata.nextLink"] = f"{base}?$skiptoken={_token(store, since, offset + size, high)}"
    else:
        body["@odata.deltaLink"] = f"{base}?$deltatoken={_token(store, high)}"
    headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if match else None
    return JSONResponse(body, headers=headers)


async def authorize(request: Request) -> Response:
    return await oauth.authorize(request, "microsoft")


async def token(request: Request) -> Response:
    return await oauth.token(request, "microsoft")


routes = [
    Route("/login/{tenant}/oauth2/v2.0/authorize", authorize, methods=["GET", "POST"]),
    Route("/login/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    Route(GRAPH + "/me", me),
    Route(GRAPH + "/me/sendMail", send_mail, methods=["POST"]),
    Route(GRAPH + "/me/messages", list_messages),
    Route(GRAPH + "/me/messages/{id}", get_message),
    Route(GRAPH + "/me/mailFolders/{folder}/messages", folder_messages),
    Route(GRAPH + "/me/mailFolders/{folder}/messages/delta", delta),
]
