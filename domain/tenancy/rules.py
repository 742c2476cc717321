"""Pure rules of tenancy: roles and what they may do, and input normalisation."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from domain.core.errors import DomainError

ROLES = ("admin", "recruiter", "sourcer", "coordinator", "hiring_manager", "viewer")
CONTEXTS = ("tenancy", "prospects", "sequences", "mailboxes", "reviews", "pipeline",
            "analytics", "integrations")
ALL_PERMISSIONS = frozenset(
    [f"{c}:read" for c in CONTEXTS] + [f"{c}:write" for c in CONTEXTS] + ["ats:write"]
)
_READ_ALL = {f"{c}:read" for c in CONTEXTS}


def _writes(*contexts: str) -> set[str]:
    return {f"{c}:write" for c in contexts}


# One table from role to permissions; "tenancy:write" (members, keys, settings) is admin-only.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": ALL_PERMISSIONS,
    "recruiter": frozenset(_READ_ALL | _writes("prospects", "sequences", "mailboxes", "reviews",
                                                "pipeline")),
    "sourcer": frozenset(_READ_ALL | _writes("prospects", "sequences", "mailboxes", "reviews")),
    "coordinator": frozenset(_READ_ALL | _writes("prospects", "mailboxes", "pipeline")),
    "hiring_manager": frozenset(_READ_ALL | _writes("mailboxes", "reviews", "pipeline")),
    "viewer": frozenset(_READ_ALL),
}

# Partners may be granted anything but member and key management.
API_KEY_PERMISSIONS = ALL_PERMISSIONS - {"tenancy:write"}

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
PASSWORD_MIN, PASSWORD_MAX = 10, 256
ENGAGEMENT_POLICIES = ("warn", "block")
DEFAULT_SETTINGS: dict[str, Any] = {"timeZone": "UTC", "engagementPolicy": "warn"}


def normalise_email(raw: str, *, field: str = "email") -> str:
    email = (raw or "").strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise DomainError("Enter a valid email address.", field=field, code="INVALID_EMAIL")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def check_password(password: str, *, field: str = "password") -> None:
    if not PASSWORD_MIN <= len(password or "") <= PASSWORD_MAX:
        raise DomainError(
            f"Passwords are {PASSWORD_MIN} to {PASSWORD_MAX} characters long.",
            field=field, code="INVALID_PASSWORD",
        )


def check_role(role: str, *, field: str = "role") -> str:
    if role not in ROLES:
        raise DomainError(f"Unknown role '{role}'.", field=field, code="INVALID_ROLE")
    return role


def check_slug(slug: str, *, field: str = "slug") -> str:
    if not _SLUG.match(slug or ""):
        raise DomainError("Use 1-63 lowercase letters, digits and hyphens.", field=field,
                          code="INVALID")
    return slug


def check_name(name: str, *, field: str = "name", max_length: int = 200) -> str:
    name = (name or "").strip()
    if not name or len(name) > max_length:
        raise DomainError(f"Give a name of 1 to {max_length} characters.", field=field,
                          code="INVALID")
    return name


def check_api_key_scopes(scopes: list[str], *, field: str = "scopes") -> list[str]:
    if not scopes:
        raise DomainError("Give at least one scope.", field=field, code="INVALID_SCOPE")
    unknown = sorted(set(scopes) - API_KEY_PERMISSIONS)
    if unknown:
        raise DomainError(f"Unknown or forbidden scopes: {', '.join(unknown)}.", field=field,
                          code="INVALID_SCOPE")
    return sorted(set(scopes))


def merge_settings(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**DEFAULT_SETTINGS, **current}
    if changes.get("timeZone") is not None:
        try:
            zoneinfo.ZoneInfo(changes["timeZone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a folder
            raise DomainError("Unknown time zone.", field=["settings", "timeZone"],
                              code="INVALID") from exc
        merged["timeZone"] = changes["timeZone"]
    if changes.get("engagementPolicy") is not None:
        if changes["engagementPolicy"] not in ENGAGEMENT_POLICIES:
            raise DomainError("Use warn or block.", field=["settings", "engagementPolicy"],
                              code="INVALID")
        merged["engagementPolicy"] = changes["engagementPolicy"]
    return merged

