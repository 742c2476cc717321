"""The SMTP submission server: AUTH PLAIN/LOGIN required, every accepted message stored.

It runs on the same asyncio loop as the HTTP server (see state.py on why that matters).
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from emulator import faults, mime
from emulator.state import Store


class Handler:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self.store.take_fault("smtp", "send", faults.SMTP_DATA_KINDS)
        if fault is not None:
            if fault.kind != "timeout":
                return faults.SMTP_REPLIES[fault.kind]
            await asyncio.sleep(fault.delay_seconds)
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        parsed = mime.parse(raw)
        store = self.store
        generated = f"<smtp-{store.generation}-{store.message_counter + 1:06d}@emulator.smtp.test>"
        mime.ensure_headers(parsed, message_id=generated)
        mailbox = str(session.auth_data)
        refs = f"{parsed.get('In-Reply-To', '')} {parsed.get('References', '')}"
        message = store.add_message(
            provider="smtp", mailbox=mailbox, raw=parsed.as_bytes(), direction="sent",
            thread_id=store.thread_of_references("smtp", mailbox, refs), labels=["SENT"],
            recipients=[str(r).lower() for r in envelope.rcpt_tos])
        return f"250 2.0.0 Ok: queued as {message.id}"


def authenticator(store: Store) -> Any:
    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
              auth_data: Any) -> AuthResult:
        fault = store.take_fault("smtp", "token", faults.SMTP_AUTH_KINDS)
        if fault is not None:
            return AuthResult(success=False, handled=False, message=faults.SMTP_REPLIES[fault.kind])
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        account = store.find_account("smtp", login)
        password = auth_data.password.decode("utf-8", "replace")
        if account is None or account.password is None or not hmac.compare_digest(account.password, password):
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535 5.7.8
        return AuthResult(success=True, auth_data=account.address)

    return check


async def start(store: Store, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(Handler(store), hostname="smtp.emulator.test", ident="Talentgraph provider emulator",
                    authenticator=authenticator(store), auth_required=True, auth_require_tls=False,
                    loop=loop)

    return await loop.create_server(factory, host=host, port=port)
