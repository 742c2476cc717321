"""Microsoft Graph: `me`, and `sendMail` (202, no id: our Message-ID is the key).

sendMail gets the MIME message (base64, Content-Type text/plain) rather than the JSON message:
JSON accepts only X- headers in internetMessageHeaders, so it could not carry our Message-ID,
In-Reply-To, References or List-Unsubscribe; MIME keeps every header exactly as built.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from typing import Any

from domain.mailboxes.adapters.http import call
from domain.mailboxes.endpoints import base_url


def _me() -> str:
    return base_url("MICROSOFT_GRAPH_URL") + "/v1.0/me"


async def me(token: str) -> dict[str, Any]:
    return dict((await call("GET", _me(), token)).json())


async def send(token: str, message: EmailMessage) -> None:
    await call("POST", _me() + "/sendMail", token,
               content=base64.b64encode(message.as_bytes()), content_type="text/plain")
