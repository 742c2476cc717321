"""Building the RFC 5322 message every adapter sends (pure: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from urllib.parse import urlsplit
from uuid import UUID

from domain.core.errors import DomainError
from domain.mailboxes.errors import MessageTooLarge
from domain.mailboxes.rules import MAX_MESSAGE_BYTES, MAX_SUBJECT, check_address, check_header_text


@dataclass(frozen=True)
class Unsubscribe:
    """List-Unsubscribe targets; one_click adds List-Unsubscribe-Post (RFC 8058)."""

    url: str | None = None
    mailto: str | None = None
    one_click: bool = True


@dataclass(frozen=True)
class Outgoing:
    from_name: str
    from_address: str
    to: str
    subject: str
    text: str | None = None
    html: str | None = None
    to_name: str | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    unsubscribe: Unsubscribe | None = None


def message_id_domain(public_base_url: str) -> str:
    return urlsplit(public_base_url).hostname or "talentgraph.local"


def new_message_id(raw: UUID, public_base_url: str) -> str:
    return f"<{raw}@{message_id_domain(public_base_url)}>"


def _msgid(value: str, *, field: str) -> str:
    check_header_text(value, field=field)
    value = value.strip()
    if not value:
        raise DomainError("Give a Message-ID.", field=field, code="INVALID")
    return value if value.startswith("<") else f"<{value}>"


def build(out: Outgoing, *, message_id: str, date: datetime) -> EmailMessage:
    """Headers are checked for CR/LF first: nothing reaches the provider when one is bad."""
    check_header_text(out.from_name, field="fromName")
    check_header_text(out.to_name or "", field="toName")
    subject = check_header_text(out.subject, field="subject").strip()
    if not subject or len(subject) > MAX_SUBJECT:
        raise DomainError(f"Give a subject of 1 to {MAX_SUBJECT} characters.", field="subject",
                          code="INVALID")
    to = check_address(out.to, field="to")
    sender = check_address(out.from_address, field="from")
    if not (out.text or out.html):
        raise DomainError("Give a text or HTML body.", field="text", code="REQUIRED")
    msg = EmailMessage(policy=SMTP)
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(date)
    msg["From"] = Address(display_name=out.from_name, addr_spec=sender)
    msg["To"] = Address(display_name=out.to_name or "", addr_spec=to)
    if out.reply_to:
        msg["Reply-To"] = check_address(out.reply_to, field="replyTo")
    msg["Subject"] = subject
    if out.in_reply_to:
        parent = _msgid(out.in_reply_to, field="inReplyTo")
        msg["In-Reply-To"] = parent
        refs = [_msgid(r, field="references") for r in out.references]
        if parent not in refs:
            refs.append(parent)
        msg["References"] = " ".join(refs)
    if out.unsubscribe and (out.unsubscribe.url or out.unsubscribe.mailto):
        targets = []
        if out.unsubscribe.mailto:
            targets.append(f"<mailto:{check_address(out.unsubscribe.mailto, field='unsubscribe')}>")
        if out.unsubscribe.url:
            url = check_header_text(out.unsubscribe.url, field="unsubscribe")
            if not url.startswith("https://") and not url.startswith("http://"):
                raise DomainError("Use an http(s) unsubscribe URL.", field="unsubscribe",
                                  code="INVALID_URL")
            targets.append(f"<{url}>")
        msg["List-Unsubscribe"] = ", ".join(targets)
        if out.unsubscribe.one_click and out.unsubscribe.url:
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if out.text and out.html:
        msg.set_content(out.text)
        msg.add_alternative(out.html, subtype="html")
    elif out.html:
        msg.set_content(out.html, subtype="html")
    else:
        msg.set_content(out.text or "")
    if len(msg.as_bytes()) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"Messages are at most {MAX_MESSAGE_BYTES // (1024 * 1024)} MB.",
                              field="html" if out.html else "text")
    return msg
