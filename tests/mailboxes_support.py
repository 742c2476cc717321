"""Shared helpers of the mailbox tests: settings pointing at the emulator, and connecting a
mailbox through the real OAuth flow (authorization URL -> emulator -> callback)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest

from domain.core import config, db
from domain.core.config import Settings
from domain.core.scope import Scope
from domain.mailboxes import service, vault
from domain.mailboxes.models import Mailbox
from tests.emulator_fixture import Emulator

SYSTEM_ADDRESS = "system@talentgraph.test"
SYSTEM_PASSWORD = "system-password"


@pytest.fixture(name="mail")
async def mail_fixture(settings: Settings, app: Any, emu: Emulator) -> AsyncIterator[Emulator]:
    """Settings pointing every provider at the emulator (short timeouts), restored after."""
    current = dataclasses.replace(
        settings, provider_emulator_url=emu.url, provider_timeout_seconds=1.5,
        system_smtp_url=f"smtp://system%40talentgraph.test:{SYSTEM_PASSWORD}@127.0.0.1:"
                        f"{emu.smtp_port}")
    config.configure(current)
    try:
        yield emu
    finally:
        config.configure(settings)


async def authorize(url: str) -> tuple[str, str]:
    """Follow an authorization URL at the emulator (auto-consent): (code, state)."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(url)
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query["code"][0], query["state"][0]


async def connect(scope: Scope, provider: str, address: str) -> Mailbox:
    url = await service.start_connection(scope, provider=provider, login_hint=address)
    code, state = await authorize(url)
    return await service.finish_connection(provider=provider, code=code, state=state)


async def row(tenant_id: UUID, mailbox_id: UUID) -> Mailbox:
    async with db.system_tenant_tx(str(tenant_id)):
        return await Mailbox.get(tenant_id=tenant_id, id=mailbox_id)


async def secrets_of(tenant_id: UUID, mailbox_id: UUID) -> dict[str, str | None]:
    found = await row(tenant_id, mailbox_id)
    return {c: vault.unseal(getattr(found, c)) if getattr(found, c) else None
            for c in vault.SECRET_COLUMNS}


async def expire_token(tenant_id: UUID, mailbox_id: UUID) -> None:
    """Our side believes the token expired (the provider may still accept it)."""
    from datetime import timedelta

    from domain.core import clock

    async with db.system_tenant_tx(str(tenant_id)):
        await Mailbox.filter(tenant_id=tenant_id, id=mailbox_id).update(
            token_expires_at=clock.now() - timedelta(minutes=1))
