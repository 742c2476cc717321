"""Gmail API: profile, send-as aliases, users.messages.send (raw RFC 822)."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from typing import Any

from domain.mailboxes.adapters.http import call
from domain.mailboxes.endpoints import base_url


def _users_me() -> str:
    return base_url("GMAIL_API_URL") + "/gmail/v1/users/me"


async def profile(token: str) -> dict[str, Any]:
    return dict((await call("GET", _users_me() + "/profile", token)).json())


async def send_as(token: str) -> list[dict[str, Any]]:
    data = (await call("GET", _users_me() + "/settings/sendAs", token)).json()
    return list(data.get("sendAs") or [])


async def send(token: str, message: EmailMessage, *, thread_id: str | None) -> tuple[str, str]:
    """(gmail message id, gmail thread id)."""
    body: dict[str, Any] = {"raw": base64.urlsafe_b64encode(message.as_bytes()).decode()}
    if thread_id:
        body["threadId"] = thread_id
    data = (await call("POST", _users_me() + "/messages/send", token, json=body)).json()
    return str(data["id"]), str(data.get("threadId") or data["id"])
