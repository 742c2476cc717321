"""The OAuth redirect target: GET /oauth/callback/{provider}?code=&state= (or ?error=)."""

from __future__ import annotations

import html
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from domain.core.errors import DomainError
from domain.mailboxes import service

log = logging.getLogger("talentgraph.api")


def _page(title: str, text: str, status: int) -> HTMLResponse:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
            "</body></html>")
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


async def oauth_callback(request: Request) -> Response:
    provider = request.path_params["provider"]
    params = request.query_params
    if params.get("error"):
        return _page("Mailbox not connected", "The provider did not grant access "
                     f"({params.get('error')}).", 400)
    try:
        mailbox = await service.finish_connection(provider=provider, code=params.get("code", ""),
                                                  state=params.get("state", ""))
    except DomainError as exc:
        return _page("Mailbox not connected", exc.message, 400)
    return _page("Mailbox connected", f"{mailbox.address} is connected; you can close this page.",
                 200)


ROUTES = [Route("/oauth/callback/{provider}", oauth_callback, methods=["GET"])]
