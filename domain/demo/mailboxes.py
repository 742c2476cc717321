"""Demo members get connected mailboxes at the configured provider URLs (the embedded
emulator), through the real OAuth flow: the authorization URL is followed like a browser
would (the emulator consents at once) and the callback's work is done by finish_connection.

Runs on every start with an emulator, since a fresh emulator forgets earlier grants; an
existing mailbox row is reconnected in place.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import httpx

from domain.core.config import settings
from domain.mailboxes import grants, service
from domain.mailboxes.models import GOOGLE, MICROSOFT, Mailbox
from domain.tenancy import service as tenancy
from domain.tenancy.models import Tenant

log = logging.getLogger("talentgraph.demo")

PROVIDER_BY_ROLE = {"admin": GOOGLE, "recruiter": GOOGLE, "sourcer": GOOGLE,
                    "coordinator": MICROSOFT, "hiring_manager": MICROSOFT}


async def _connect(email: str, role: str, tenant: Tenant) -> Mailbox:
    from domain.demo.service import member_scope

    scope = await member_scope(tenant, email)
    provider = PROVIDER_BY_ROLE[role]
    url = await service.start_connection(scope, provider=provider, login_hint=email)
    async with httpx.AsyncClient(timeout=10) as http:
        consent = await http.get(url)
    query = parse_qs(urlsplit(consent.headers.get("location", "")).query)
    return await service.finish_connection(provider=provider, code=query["code"][0],
                                           state=query["state"][0])


async def connect_demo_mailboxes(members: list[tuple[str, str, str]], tenant_slug: str,
                                 *, delegate: tuple[str, str] | None = None) -> list[Mailbox]:
    """members: (email, name, role). delegate: (owner email, grantee email) for a
    delegated send-from grant. Does nothing unless a provider emulator is configured."""
    if not settings().provider_emulator_url:
        return []
    from domain.demo.service import member_scope

    tenant = await tenancy.tenant_by_slug(tenant_slug)
    connected = {}
    for email, _, role in members:
        if role in PROVIDER_BY_ROLE:
            connected[email] = await _connect(email, role, tenant)
    if delegate and delegate[0] in connected:
        owner = await member_scope(tenant, delegate[0])
        grantee = await member_scope(tenant, delegate[1])
        if grantee.user_id is not None:
            await grants.grant_delegation(owner, mailbox_id=connected[delegate[0]].id,
                                          grantee_id=grantee.user_id)
    log.info("connected %d demo mailboxes", len(connected))
    return list(connected.values())
