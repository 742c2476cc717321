"""Mail the product sends itself (review requests, summaries, reports) through the system
mailbox SYSTEM_SMTP_URL: smtp://user:pass@host:port (?tls=starttls|none) or smtps://..."""

from __future__ import annotations

from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from domain.core import clock, ids
from domain.core.config import settings
from domain.mailboxes import mime
from domain.mailboxes.adapters import smtp
from domain.mailboxes.errors import (
    FinalSendError,
    ProviderFault,
    ProviderNotConfigured,
    RetryableSendError,
)


def system_account() -> smtp.SmtpAccount:
    url = settings().system_smtp_url
    if not url:
        raise ProviderNotConfigured("No system mailbox (SYSTEM_SMTP_URL).", field="to")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    tls = "ssl" if parts.scheme == "smtps" else (query.get("tls") or ["none"])[0]
    return smtp.SmtpAccount(parts.hostname or "127.0.0.1",
                            parts.port or (465 if tls == "ssl" else 25), tls,
                            unquote(parts.username) if parts.username else None,
                            unquote(parts.password) if parts.password else None)


async def send_system_mail(to: str, subject: str, text: str) -> str:
    """Returns our Message-ID."""
    name, address = parseaddr(settings().system_mail_from)
    message_id = mime.new_message_id(ids.uuid7(), settings().public_base_url)
    message = mime.build(mime.Outgoing(from_name=name, from_address=address, to=to,
                                       subject=subject, text=text),
                         message_id=message_id, date=clock.now())
    try:
        await smtp.send(system_account(), message)
    except ProviderFault as fault:
        if fault.kind == "transient":
            raise RetryableSendError("The system mailbox is unavailable.") from None
        raise FinalSendError(f"The system mailbox refused the message ({fault.detail}).",
                             field="to") from None
    return message_id
