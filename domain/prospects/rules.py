"""Pure rules of the talent CRM: normalising what identifies a prospect, validating custom
field values, and building the text that search reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from domain.core.errors import DomainError
from domain.tenancy.rules import normalise_email

MAX_NOTE_LENGTH = 10_000
MAX_TAGS = 50
MAX_EMAILS = 10
MAX_PROFILES = 10
CUSTOM_FIELD_TYPES = ("text", "number", "date", "single_select", "multi_select")
ACTIVITY_KINDS = ("created", "note", "call_logged", "email_sent", "email_opened",
                  "email_clicked", "email_replied", "email_bounced", "review_decision",
                  "stage_changed", "sequence_enrolled", "sequence_stopped", "project_added",
                  "owner_changed", "merged", "archived", "application_created",
                  "application_closed", "application_reopened", "scorecard_submitted")
_TAG = re.compile(r"^[\w][\w .&+#/-]{0,63}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass
class ProspectData:
    """What a create, import or update says about a prospect; None means 'not given'."""

    first_name: str | None = None
    last_name: str | None = None
    emails: list[str] = field(default_factory=list)  # the first is primary
    phone: str | None = None
    profile_urls: list[str] = field(default_factory=list)
    title: str | None = None
    company: str | None = None
    location: str | None = None
    time_zone: str | None = None
    source: str | None = None
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    owner_id: Any = None


def normalise_profile_url(raw: str, *, field_name: str = "profileUrls") -> tuple[str, str]:
    """(kind, canonical url): scheme, www, case, query, fragment and trailing slash do not
    make two URLs different; LinkedIn and GitHub keep only the profile path."""
    text = (raw or "").strip()
    if not re.match(r"^[a-z][a-z0-9+.-]*://", text, re.I):
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise DomainError("Enter a valid URL.", field=field_name, code="INVALID_URL") from exc
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    if parts.scheme.lower() not in ("http", "https") or "." not in host or len(text) > 500:
        raise DomainError("Enter a valid http(s) URL.", field=field_name, code="INVALID_URL")
    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    kind = "other"
    if host.endswith("linkedin.com"):
        kind, host = "linkedin", "linkedin.com"
        match = re.match(r"^/(in|pub)/([^/]+)", path, re.I)
        if match:
            path = f"/in/{match.group(2).lower()}"
    elif host == "github.com":
        kind = "github"
        path = "/" + path.strip("/").split("/")[0].lower() if path.strip("/") else ""
    elif host in ("twitter.com", "x.com"):
        kind, host = "twitter", "x.com"
        path = path.lower()
    return kind, f"https://{host}{path}"


def check_tag(tag: str) -> str:
    tag = (tag or "").strip()
    if not _TAG.match(tag):
        raise DomainError(f"'{tag}' is not a valid tag (1-64 letters, digits, spaces, .&+#/-).",
                          field="tags", code="INVALID")
    return tag.lower()


def check_custom_field_key(key: str) -> str:
    if not _KEY.match(key or ""):
        raise DomainError("Keys are lowercase letters, digits and _, starting with a letter.",
                          field="key", code="INVALID")
    return key


def check_custom_value(kind: str, options: list[str], value: Any, key: str) -> Any:
    """The stored form of a custom field value, or an error naming the field."""
    where = ["customFields", key]
    if value is None:
        return None
    if kind == "text":
        if not isinstance(value, str) or len(value) > 2000:
            raise DomainError("Expected text of at most 2000 characters.", field=where)
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DomainError("Expected a number.", field=where)
        return value
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise DomainError("Expected a date as YYYY-MM-DD.", field=where) from exc
    if kind == "single_select":
        if value not in options:
            raise DomainError(f"Expected one of: {', '.join(options)}.", field=where)
        return value
    if kind == "multi_select":
        if not isinstance(value, list) or any(v not in options for v in value):
            raise DomainError(f"Expected a list of: {', '.join(options)}.", field=where)
        return sorted(set(value))
    raise DomainError(f"Unknown field type {kind}.", field=where)


def check_emails(emails: list[str]) -> list[str]:
    if len(emails) > MAX_EMAILS:
        raise DomainError(f"At most {MAX_EMAILS} emails.", field="emails", code="OUT_OF_RANGE")
    seen: list[str] = []
    for raw in emails:
        email = normalise_email(raw, field="emails")
        if email not in seen:
            seen.append(email)
    return seen


def search_text(*parts: str | None) -> str:
    return " ".join(p.strip().lower() for p in parts if p and p.strip())[:20_000]


def check_note(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise DomainError("A note needs some text.", field="body", code="REQUIRED")
    if len(body) > MAX_NOTE_LENGTH:
        raise DomainError(f"Notes are at most {MAX_NOTE_LENGTH} characters.", field="body",
                          code="OUT_OF_RANGE")
    return body
