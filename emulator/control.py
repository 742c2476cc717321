"""The test-facing control API under `/_emulator/` (JSON in, JSON out, 400 on bad input)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator import faults, mime
from emulator.faults import Reply
from emulator.oauth import store_of
from emulator.state import PROVIDERS, Store


def _bad(message: str, status: int = 400) -> Reply:
    return Reply(JSONResponse({"error": message}, status_code=status))


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _bad("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    return body


def _provider(value: Any) -> str:
    if value not in PROVIDERS:
        raise _bad(f"provider must be one of {', '.join(PROVIDERS)}")
    return str(value)


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{name} must be a non-empty string")
    return value.strip()


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def accounts(request: Request) -> Response:
    store = store_of(request)
    body = await _body(request)
    provider = _provider(body.get("provider"))
    address = _text(body, "address") or ""
    if "@" not in address:
        raise _bad("address must be an email address")
    send_as = body.get("sendAs")
    if send_as is not None and (not isinstance(send_as, list) or not all(
            isinstance(e, dict) and isinstance(e.get("email"), str) for e in send_as)):
        raise _bad("sendAs must be a list of {email, displayName}")
    account = store.account(provider, address, display_name=_text(body, "displayName", required=False),
                            password=_text(body, "password", required=False), send_as=send_as)
    return JSONResponse(account.public())


async def messages(request: Request) -> Response:
    store = store_of(request)
    provider, mailbox = request.query_params.get("provider"), request.query_params.get("mailbox")
    found = [m.public() for m in store.messages
             if (not provider or m.provider == provider) and (not mailbox or m.mailbox == mailbox.lower())]
    return JSONResponse({"messages": found})


async def inject(request: Request) -> Response:
    """An inbound reply or bounce to a sent message, threaded with it as the provider would."""
    store = store_of(request)
    body = await _body(request)
    provider = _provider(body.get("provider"))
    mailbox = (_text(body, "mailbox") or "").lower()
    kind = body.get("kind")
    if kind not in ("reply", "bounce"):
        raise _bad("kind must be reply or bounce")
    original = store.by_message_id(provider, mailbox, _text(body, "inReplyTo") or "")
    if original is None:
        raise _bad("no message with that Message-ID in this mailbox", 404)
    sender = _text(body, "from", required=False)
    text = _text(body, "body", required=False)
    if kind == "reply":
        reply_from = sender or (original.recipients[0] if original.recipients else "someone@example.test")
        raw = mime.build_reply(store, original, sender=reply_from, body=text)
    else:
        raw = mime.build_bounce(store, original, sender=sender, body=text)
    labels = {"google": ["INBOX", "UNREAD"], "microsoft": ["inbox"], "smtp": ["INBOX"]}[provider]
    message = store.add_message(provider=provider, mailbox=mailbox, raw=raw, direction="inbound",
                                thread_id=original.thread_id, labels=labels, recipients=[mailbox])
    return JSONResponse(message.public())


async def revoke(request: Request) -> Response:
    store = store_of(request)
    body = await _body(request)
    count = store.revoke(_provider(body.get("provider")), _text(body, "mailbox") or "")
    return JSONResponse({"revoked": count})


async def arm_fault(request: Request) -> Response:
    store = store_of(request)
    body = await _body(request)
    provider = _provider(body.get("provider"))
    endpoint = body.get("endpoint", "*")
    kind = str(body.get("kind"))
    if endpoint not in faults.ENDPOINTS:
        raise _bad(f"endpoint must be one of {', '.join(sorted(faults.ENDPOINTS))}")
    if kind not in faults.ALL_KINDS:
        raise _bad(f"kind must be one of {', '.join(sorted(faults.ALL_KINDS))}")
    count, retry_after, delay = body.get("count", 1), body.get("retryAfter"), body.get("delaySeconds", 30)
    if not isinstance(count, int) or count < 1:
        raise _bad("count must be a positive integer")
    if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
        raise _bad("retryAfter must be a non-negative integer")
    if not isinstance(delay, int | float) or delay < 0:
        raise _bad("delaySeconds must be a non-negative number")
    fault = faults.Fault(provider, endpoint, kind, count, retry_after, float(delay))
    store.faults.append(fault)
    return JSONResponse(fault.public())


async def list_faults(request: Request) -> Response:
    return JSONResponse({"faults": [f.public() for f in store_of(request).faults]})


async def settings(request: Request) -> Response:
    store = store_of(request)
    body = await _body(request)
    if "accessTokenTtl" in body:
        ttl = body["accessTokenTtl"]
        if not isinstance(ttl, int) or ttl < 0:
            raise _bad("accessTokenTtl must be a non-negative integer")
        store.access_token_ttl = ttl
    return JSONResponse({"accessTokenTtl": store.access_token_ttl})


async def grants(request: Request) -> Response:
    store = store_of(request)
    provider, mailbox = request.query_params.get("provider"), request.query_params.get("mailbox")
    found = [g for g in store.grants
             if (not provider or g.provider == provider) and (not mailbox or g.address == mailbox.lower())]
    return JSONResponse({"grants": [g.public() for g in found],
                         "refreshes": sum(g.refreshes for g in found),
                         "failedRefreshes": sum(g.failed_refreshes for g in found),
                         "accessTokensIssued": sum(g.access_tokens for g in found)})


async def reset(request: Request) -> Response:
    store: Store = store_of(request)
    store.reset()
    return JSONResponse({"status": "reset"})


routes = [
    Route("/health", health),
    Route("/accounts", accounts, methods=["POST"]),
    Route("/messages", messages),
    Route("/inject", inject, methods=["POST"]),
    Route("/revoke", revoke, methods=["POST"]),
    Route("/faults", arm_fault, methods=["POST"]),
    Route("/faults", list_faults, methods=["GET"]),
    Route("/settings", settings, methods=["POST"]),
    Route("/grants", grants),
    Route("/reset", reset, methods=["POST"]),
]
