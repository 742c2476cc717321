"""One authenticated JSON call to a provider API, with timeouts and error classification."""

from __future__ import annotations

from typing import Any

import httpx

from domain.core import clock
from domain.core.config import settings
from domain.mailboxes import rules
from domain.mailboxes.errors import ProviderFault


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(settings().provider_timeout_seconds, connect=5.0)


async def call(method: str, url: str, token: str, *, json: Any = None,
               params: dict[str, str] | None = None, content: bytes | None = None,
               content_type: str | None = None) -> httpx.Response:
    try:
        async with httpx.AsyncClient(timeout=_timeout()) as http:
            headers = {"authorization": f"Bearer {token}"}
            if content_type:
                headers["content-type"] = content_type
            resp = await http.request(method, url, json=json, params=params, content=content,
                                      headers=headers)
    except httpx.TimeoutException as exc:
        raise ProviderFault("transient", "the provider timed out") from exc
    except httpx.HTTPError as exc:
        raise ProviderFault("transient", f"the provider is unreachable ({type(exc).__name__})"
                            ) from exc
    if resp.status_code >= 400:
        try:
            body: Any = resp.json()
        except ValueError:
            body = resp.text[:500]
        raise rules.classify_api_error(resp.status_code, body, dict(resp.headers), clock.now())
    return resp
