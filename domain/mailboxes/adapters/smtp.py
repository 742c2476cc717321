"""SMTP through the standard library in a worker thread (login, then send)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from domain.core.config import settings
from domain.mailboxes.errors import ProviderFault


@dataclass(frozen=True)
class SmtpAccount:
    host: str
    port: int
    tls: str  # starttls, ssl, none
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"SmtpAccount({self.host}:{self.port}, tls={self.tls}, user={self.username})"


def _open(account: SmtpAccount) -> smtplib.SMTP:
    context = ssl.create_default_context()
    timeout = settings().provider_timeout_seconds
    server: smtplib.SMTP
    if account.tls == "ssl":
        server = smtplib.SMTP_SSL(account.host, account.port, timeout=timeout,
                                  context=context)
    else:
        server = smtplib.SMTP(account.host, account.port, timeout=timeout)
        if account.tls == "starttls":
            server.starttls(context=context)
    if account.username:
        _login_once(server, account.username, account.password or "")
    return server


def _login_once(server: smtplib.SMTP, username: str, password: str) -> None:
    """One mechanism only: smtplib's login() would try the next mechanism after a refusal,
    which only repeats the same wrong password."""
    server.ehlo_or_helo_if_needed()
    offered = server.esmtp_features.get("auth", "").upper().split()
    server.user, server.password = username, password
    if "PLAIN" in offered:
        server.auth("PLAIN", server.auth_plain)
    elif "LOGIN" in offered:
        server.auth("LOGIN", server.auth_login, initial_response_ok=False)
    else:
        server.login(username, password)


def _fault(exc: Exception) -> ProviderFault:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return ProviderFault("reconnect", f"SMTP login refused ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return ProviderFault("recipient", "the SMTP server refused the recipient")
    if isinstance(exc, smtplib.SMTPResponseException):
        said = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        if "5.4.5" in said or "limit exceeded" in said.lower():
            return ProviderFault("quota", f"SMTP server answered {exc.smtp_code} (sending limit)",
                                 retry_after=3600.0)
        kind = "transient" if 400 <= exc.smtp_code < 500 else "permanent"
        return ProviderFault(kind, f"SMTP server answered {exc.smtp_code}")
    if isinstance(exc, TimeoutError):
        return ProviderFault("transient", "the SMTP server timed out")
    return ProviderFault("transient", f"SMTP failed ({type(exc).__name__})")


def _login(account: SmtpAccount) -> None:
    with _open(account):
        pass


def _send(account: SmtpAccount, message: EmailMessage) -> None:
    with _open(account) as server:
        server.send_message(message)


async def verify_login(account: SmtpAccount) -> None:
    try:
        await asyncio.to_thread(_login, account)
    except (smtplib.SMTPException, OSError) as exc:
        raise _fault(exc) from None


async def send(account: SmtpAccount, message: EmailMessage) -> None:
    try:
        await asyncio.to_thread(_send, account, message)
    except (smtplib.SMTPException, OSError) as exc:
        raise _fault(exc) from None
