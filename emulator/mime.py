"""RFC 822 helpers shared by the Gmail, Graph, SMTP and inject paths."""

from __future__ import annotations

import base64
import binascii
import email.utils
import re
import time
from email import policy
from email.message import EmailMessage
from email.message import Message as MimeMessage
from email.parser import BytesParser

from emulator.state import Message, Store, addresses

_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv)\s*:\s*)+", re.IGNORECASE)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def b64url_decode(text: str) -> bytes:
    """Gmail accepts base64url with or without padding; anything else is rejected."""
    cleaned = text.strip().replace("+", "-").replace("/", "_")
    if not re.fullmatch(r"[A-Za-z0-9_\-]*=*", cleaned):
        raise binascii.Error("not base64url")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


def parse(raw: bytes) -> MimeMessage:
    return BytesParser(policy=policy.compat32).parsebytes(raw)


def base_subject(subject: str) -> str:
    return _PREFIX.sub("", subject).strip().lower()


def recipients_of(message: MimeMessage) -> list[str]:
    return addresses(*(str(message.get(h, "")) for h in ("To", "Cc", "Bcc")))


def ensure_headers(message: MimeMessage, *, message_id: str) -> None:
    """Add the headers every submitted message gets from the provider's submission server."""
    if not message.get("Message-ID"):
        message["Message-ID"] = message_id
    if not message.get("Date"):
        message["Date"] = email.utils.formatdate(time.time())
    if not message.get("MIME-Version"):
        message["MIME-Version"] = "1.0"


def snippet(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def quoted(original: Message) -> str:
    _, text = original.text_body()
    sender = original.header("From")
    lines = "\n".join("> " + line for line in text.splitlines())
    return f"On {original.header('Date')}, {sender} wrote:\n{lines}\n"


def build_reply(store: Store, original: Message, *, sender: str, body: str | None) -> bytes:
    subject = original.header("Subject")
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = original.mailbox
    reply["Subject"] = subject if base_subject(subject) != subject.strip().lower() else f"Re: {subject}"
    reply["Date"] = email.utils.formatdate(time.time())
    domain = sender.rsplit("@", 1)[-1].strip(">") or "example.test"
    reply["Message-ID"] = f"<reply-{store.generation}-{store.message_counter + 1:06d}@{domain}>"
    original_id = original.header("Message-ID")
    reply["In-Reply-To"] = original_id
    reply["References"] = " ".join(x for x in (original.header("References"), original_id) if x)
    text = body or "Thanks for reaching out, I would be happy to talk."
    reply.set_content(text + "\n\n" + quoted(original))
    return reply.as_bytes()


BOUNCE_FROM = {"google": "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
               "microsoft": "Microsoft Outlook <mailer-daemon@outlook.com>"}


def build_bounce(store: Store, original: Message, *, sender: str | None, body: str | None) -> bytes:
    """A delivery status notification (RFC 3464) for the original's first recipient."""
    failed = original.recipients[0] if original.recipients else "unknown@invalid"
    reporter = sender or BOUNCE_FROM.get(original.provider, "MAILER-DAEMON <mailer-daemon@"
                                         + original.mailbox.rsplit("@", 1)[-1] + ">")
    diagnostic = body or ("550 5.1.1 The email account that you tried to reach does not exist. "
                          "Please try double-checking the recipient's email address for typos.")
    subject = original.header("Subject")
    original_id = original.header("Message-ID")
    boundary = f"dsn-{store.generation}-{store.message_counter + 1:06d}"
    headers = {
        "From": reporter, "To": original.mailbox,
        "Subject": ("Delivery Status Notification (Failure)" if original.provider == "google"
                    else f"Undeliverable: {subject}"),
        "Date": email.utils.formatdate(time.time()),
        "Message-ID": f"<bounce-{store.generation}-{store.message_counter + 1:06d}@mailer-daemon.test>",
        "In-Reply-To": original_id, "References": original_id, "X-Failed-Recipients": failed,
        "Auto-Submitted": "auto-replied", "MIME-Version": "1.0",
        "Content-Type": f'multipart/report; report-type=delivery-status; boundary="{boundary}"',
    }
    # Written out by hand: the email package cannot generate a message/delivery-status part.
    lines = [f"{k}: {v}" for k, v in headers.items()] + [
        "", f"--{boundary}", "Content-Type: text/plain; charset=utf-8", "",
        f"Your message wasn't delivered to {failed}.", "", diagnostic, "",
        f"--{boundary}", "Content-Type: message/delivery-status", "",
        "Reporting-MTA: dns; mx.emulator.test", "",
        f"Final-Recipient: rfc822; {failed}", "Action: failed", "Status: 5.1.1",
        f"Diagnostic-Code: smtp; {diagnostic}", "",
        f"--{boundary}", "Content-Type: text/rfc822-headers", "",
        *(f"{k}: {' '.join(v.split())}" for k, v in original.headers()), "",
        f"--{boundary}--", ""]
    return "\r\n".join(lines).encode()
