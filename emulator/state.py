"""The emulator's whole world, in memory.

Concurrency: the HTTP and SMTP servers share one asyncio loop, and no method here awaits, so
every method runs to completion without interleaving; that is the only guard the state needs.
Ids come from counters so a run is reproducible; secrets (codes, tokens) also carry the reset
generation so a token issued before `reset` can never match a grant made after it.
"""

from __future__ import annotations

import base64
import email.utils
import time
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import Message as MimeMessage
from email.parser import BytesParser
from typing import Literal

Provider = Literal["google", "microsoft", "smtp"]
PROVIDERS: tuple[str, ...] = ("google", "microsoft", "smtp")
DEFAULT_ADDRESS = {"google": "emulator.user@gmail.test", "microsoft": "emulator.user@outlook.test"}


@dataclass
class Account:
    provider: str
    address: str
    display_name: str
    password: str | None = None
    send_as: list[dict[str, str]] = field(default_factory=list)

    @property
    def user_id(self) -> str:
        # Graph user ids are GUIDs; derive one that is stable across runs.
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator:{self.provider}:{self.address}"))

    def aliases(self) -> list[str]:
        return [self.address] + [entry["email"].lower() for entry in self.send_as]

    def public(self) -> dict[str, object]:
        return {"provider": self.provider, "address": self.address, "displayName": self.display_name,
                "id": self.user_id, "hasPassword": self.password is not None,
                "sendAs": [{"email": e["email"], "displayName": e.get("displayName", "")}
                           for e in self.send_as]}


@dataclass
class AuthCode:
    code: str
    provider: str
    address: str
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str
    offline: bool
    expires_at: float
    used: bool = False


@dataclass
class Grant:
    """One consent: its refresh token(s) and the access tokens minted from it."""

    id: int
    provider: str
    address: str
    client_id: str
    scope: str
    refresh_token: str | None
    used_refresh_tokens: set[str] = field(default_factory=set)
    revoked: bool = False
    refreshes: int = 0
    failed_refreshes: int = 0
    access_tokens: int = 0
    created_at: float = field(default_factory=time.time)

    def public(self) -> dict[str, object]:
        return {"id": self.id, "provider": self.provider, "mailbox": self.address,
                "clientId": self.client_id, "scope": self.scope, "revoked": self.revoked,
                "refreshes": self.refreshes, "failedRefreshes": self.failed_refreshes,
                "accessTokensIssued": self.access_tokens}


@dataclass
class AccessToken:
    token: str
    grant: Grant
    expires_at: float


@dataclass
class Fault:
    provider: str
    endpoint: str
    kind: str
    remaining: int
    retry_after: int | None
    delay_seconds: float

    def public(self) -> dict[str, object]:
        return {"provider": self.provider, "endpoint": self.endpoint, "kind": self.kind,
                "remaining": self.remaining, "retryAfter": self.retry_after,
                "delaySeconds": self.delay_seconds}


@dataclass
class Message:
    seq: int
    id: str
    provider: str
    mailbox: str
    thread_id: str
    raw: bytes
    direction: Literal["sent", "inbound"]
    received_at: float
    history_id: int
    labels: list[str]
    recipients: list[str]
    is_read: bool = False

    @property
    def mime(self) -> MimeMessage:
        # compat32 keeps header values exactly as written (Gmail returns them unfolded-as-sent).
        return BytesParser(policy=policy.compat32).parsebytes(self.raw)

    def header(self, name: str) -> str:
        value = self.mime.get(name)
        return str(value).strip() if value is not None else ""

    def headers(self) -> list[tuple[str, str]]:
        return [(k, str(v)) for k, v in self.mime.items()]

    def text_body(self) -> tuple[str, str]:
        """(content type, text) of the first text part, preferring text/plain."""
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        part = parsed.get_body(preferencelist=("plain", "html"))
        if part is None:
            return "text/plain", ""
        try:
            content = part.get_content()
        except (LookupError, KeyError):
            payload = part.get_payload(decode=True)
            content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        return part.get_content_type(), content if isinstance(content, str) else ""

    def public(self) -> dict[str, object]:
        return {
            "id": self.id, "provider": self.provider, "mailbox": self.mailbox,
            "threadId": self.thread_id, "from": self.header("From"), "to": list(self.recipients),
            "subject": self.header("Subject"), "messageId": self.header("Message-ID"),
            "inReplyTo": self.header("In-Reply-To") or None, "headers": dict(reversed(self.headers())),
            "raw": self.raw.decode("utf-8", "replace"), "receivedAt": iso(self.received_at),
            "direction": self.direction, "labelIds": list(self.labels),
        }


@dataclass
class HistoryRecord:
    id: int
    mailbox: str
    message: Message


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def addresses(*values: str) -> list[str]:
    return [addr.lower() for _, addr in email.utils.getaddresses([v for v in values if v]) if addr]


class Store:
    def __init__(self) -> None:
        self.generation = 0
        self.reset()

    def reset(self) -> None:
        self.generation += 1
        self.counter = 0
        self.message_counter = 0  # apart from `counter`, so message ids do not depend on logins
        self.history_counter = 1000
        self.access_token_ttl = 3600
        self.accounts: dict[tuple[str, str], Account] = {}
        self.codes: dict[str, AuthCode] = {}
        self.grants: list[Grant] = []
        self.refresh_tokens: dict[str, Grant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.faults: list[Fault] = []
        self.messages: list[Message] = []
        self.history: list[HistoryRecord] = []
        self.requests = 0

    def next(self) -> int:
        self.counter += 1
        return self.counter

    def secret(self, prefix: str) -> str:
        return f"{prefix}{self.generation}x{self.next():06d}"

    def request_id(self) -> str:
        self.requests += 1
        return f"{self.requests:08x}-0000-4000-8000-{self.generation:012x}"

    # accounts -----------------------------------------------------------------------------------
    def account(self, provider: str, address: str, *, display_name: str | None = None,
                password: str | None = None, send_as: list[dict[str, str]] | None = None) -> Account:
        """The account, created on first mention (idempotent); given fields update it."""
        key = (provider, address.strip().lower())
        found = self.accounts.get(key)
        if found is None:
            local = key[1].split("@")[0]
            found = Account(provider, key[1], display_name or local.replace(".", " ").title())
            self.accounts[key] = found
        if display_name is not None:
            found.display_name = display_name
        if password is not None:
            found.password = password
        if send_as is not None:
            found.send_as = [{"email": s["email"].lower(), "displayName": s.get("displayName", "")}
                             for s in send_as]
        return found

    def find_account(self, provider: str, address: str) -> Account | None:
        return self.accounts.get((provider, address.strip().lower()))

    # oauth --------------------------------------------------------------------------------------
    def issue_code(self, **fields: object) -> AuthCode:
        prefix = "4/0Aemu" if fields["provider"] == "google" else "M.C5_emu."
        code = AuthCode(code=self.secret(prefix), expires_at=time.time() + 600, **fields)  # type: ignore[arg-type]
        self.codes[code.code] = code
        return code

    def new_grant(self, code: AuthCode) -> Grant:
        grant = Grant(id=len(self.grants) + 1, provider=code.provider, address=code.address,
                      client_id=code.client_id, scope=code.scope, refresh_token=None)
        self.grants.append(grant)
        if code.offline:
            self.rotate_refresh(grant)
        return grant

    def rotate_refresh(self, grant: Grant) -> str:
        if grant.refresh_token:
            grant.used_refresh_tokens.add(grant.refresh_token)
        prefix = "1//0emu" if grant.provider == "google" else "M.C5_BAY.0.U.-emu"
        grant.refresh_token = self.secret(prefix)
        self.refresh_tokens[grant.refresh_token] = grant
        return grant.refresh_token

    def mint_access(self, grant: Grant) -> AccessToken:
        prefix = "ya29.a0emu" if grant.provider == "google" else "EwBIA8l6BAAUemu"
        token = AccessToken(self.secret(prefix), grant, time.time() + self.access_token_ttl)
        self.access_tokens[token.token] = token
        grant.access_tokens += 1
        return token

    def revoke(self, provider: str, address: str) -> int:
        revoked = 0
        for grant in self.grants:
            if grant.provider == provider and grant.address == address.lower() and not grant.revoked:
                grant.revoked = True
                revoked += 1
        return revoked

    # faults -------------------------------------------------------------------------------------
    def take_fault(self, provider: str, endpoint: str, kinds: frozenset[str]) -> Fault | None:
        """Consume one armed fault matching this call, oldest first."""
        for fault in self.faults:
            if (fault.provider == provider and fault.endpoint in (endpoint, "*")
                    and fault.kind in kinds):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # messages -----------------------------------------------------------------------------------
    def message_id_for(self, provider: str, seq: int) -> str:
        if provider == "google":
            return f"{0x18c0000000000000 + seq:016x}"
        if provider == "microsoft":
            return "AAMkAGVtdWxhdG9y" + base64.urlsafe_b64encode(f"msg{seq:08d}".encode()).decode()
        return f"smtp-{seq:06d}"

    def thread_id_for(self, provider: str, seq: int) -> str:
        if provider == "microsoft":
            return "AAQkAGVtdWxhdG9y" + base64.urlsafe_b64encode(f"cnv{seq:08d}".encode()).decode()
        return self.message_id_for(provider, seq)

    def add_message(self, *, provider: str, mailbox: str, raw: bytes, direction: Literal["sent", "inbound"],
                    thread_id: str | None, labels: list[str], recipients: list[str]) -> Message:
        self.message_counter += 1
        seq = self.message_counter
        self.history_counter += 1
        message = Message(seq=seq, id=self.message_id_for(provider, seq), provider=provider,
                          mailbox=mailbox.lower(), thread_id=thread_id or self.thread_id_for(provider, seq),
                          raw=raw, direction=direction, received_at=time.time(),
                          history_id=self.history_counter, labels=labels, recipients=recipients,
                          is_read=direction == "sent")
        self.messages.append(message)
        self.history.append(HistoryRecord(self.history_counter, message.mailbox, message))
        return message

    def mailbox_messages(self, provider: str, mailbox: str) -> list[Message]:
        return [m for m in self.messages if m.provider == provider and m.mailbox == mailbox.lower()]

    def by_message_id(self, provider: str, mailbox: str, message_id: str) -> Message | None:
        wanted = message_id.strip()
        for message in reversed(self.mailbox_messages(provider, mailbox)):
            if message.header("Message-ID") == wanted:
                return message
        return None

    def thread_of_references(self, provider: str, mailbox: str, raw_refs: str) -> str | None:
        """The thread of the newest message named in In-Reply-To/References, if any."""
        for ref in reversed(raw_refs.split()):
            found = self.by_message_id(provider, mailbox, ref)
            if found is not None:
                return found.thread_id
        return None
