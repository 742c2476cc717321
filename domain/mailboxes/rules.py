"""Pure rules of mailboxes: input checks, provider error classification, refresh timing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from domain.mailboxes.errors import HeaderInjection, ProviderFault

REFRESH_MARGIN = timedelta(minutes=5)
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # Graph's JSON sendMail limit; the strictest provider
MAX_SUBJECT = 998
SMTP_TLS_MODES = ("starttls", "ssl", "none")
DEFAULT_DAILY_LIMIT = 200

_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                      r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_CONTROL = re.compile(r"[\r\n\x00]")

# Microsoft identity errors that need the user to sign in again (re-consent, MFA, password
# change, revoked or expired refresh token).
RECONSENT_CODES = {65001, 65004, 50076, 50079, 50158, 50173, 70000, 700082, 700084, 50078,
                   53003, 54005, 70008}
RECONSENT_ERRORS = {"invalid_grant", "interaction_required", "consent_required",
                    "login_required"}
GOOGLE_QUOTA_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded",
                        "quotaExceeded", "backendError"}
MICROSOFT_QUOTA_CODES = {"ErrorSubmissionQuotaExceeded", "ApplicationThrottled", "TooManyRequests",
                         "ErrorExceededMessageLimit", "MailboxConcurrency"}
RECONSENT_API_MARKERS = ("insufficientPermissions", "ErrorAccessDenied",
                         "Authorization_RequestDenied")
NOT_ENABLED_MARKERS = ("accessNotConfigured", "SERVICE_DISABLED", "it is disabled",
                       "MailboxNotEnabledForRESTAPI", "MailboxNotHostedInExchangeOnline",
                       "failedPrecondition", "Mail service not enabled", "not enabled",
                       "ErrorLicense", "licence", "license", "notEnabled")
RECIPIENT_MARKERS = ("ErrorInvalidRecipients", "Invalid To header", "invalidArgument: to",
                     "Invalid recipient", "ErrorRecipientNotFound")


def check_header_text(value: str, *, field: str) -> str:
    """No CR, LF or NUL in anything that becomes a header (header injection)."""
    if _CONTROL.search(value or ""):
        raise HeaderInjection("Line breaks are not allowed here.", field=field)
    return value


def check_address(value: str, *, field: str) -> str:
    check_header_text(value, field=field)
    address = (value or "").strip()
    if len(address) > 254 or not _ADDRESS.match(address):
        from domain.core.errors import DomainError

        raise DomainError("Enter a valid email address.", field=field, code="INVALID_EMAIL")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def same_address(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def refresh_due(expires_at: datetime | None, now: datetime,
                margin: timedelta = REFRESH_MARGIN) -> bool:
    return expires_at is None or expires_at - margin <= now


def day_key(now: datetime) -> str:
    return now.date().isoformat()


def seconds_to_next_day(now: datetime) -> float:
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    return (tomorrow - now).total_seconds()


def retry_after(headers: dict[str, str], now: datetime) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date)."""
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        return max(0.0, (parsedate_to_datetime(raw) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def _text(body: Any) -> str:
    return str(body)[:2000] if body is not None else ""


def classify_token_error(status: int, body: Any, headers: dict[str, str],
                         now: datetime) -> ProviderFault:
    """A failed call to an OAuth token endpoint (code exchange or refresh)."""
    wait = retry_after(headers, now)
    if status == 429 or status >= 500:
        return ProviderFault("transient", f"token endpoint answered {status}", retry_after=wait)
    data = body if isinstance(body, dict) else {}
    error = str(data.get("error") or "")
    description = str(data.get("error_description") or "")
    codes = {int(c) for c in data.get("error_codes") or [] if str(c).isdigit()}
    found = re.findall(r"AADSTS(\d+)", description)
    codes |= {int(c) for c in found}
    if error in RECONSENT_ERRORS or codes & RECONSENT_CODES:
        label = f"AADSTS{min(codes & RECONSENT_CODES)}" if codes & RECONSENT_CODES else error
        return ProviderFault("reconnect", f"{error or 'error'} ({label})")
    return ProviderFault("permanent", f"token endpoint refused: {error or status}")


def _google_reasons(data: dict[str, Any]) -> set[str]:
    raw = data.get("error")
    error: dict[str, Any] = raw if isinstance(raw, dict) else {}
    reasons = {str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)}
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            reasons.add(str(detail["reason"]))
    return reasons


def classify_api_error(status: int, body: Any, headers: dict[str, str],
                       now: datetime) -> ProviderFault:
    """A failed Gmail or Graph API call (Google and Microsoft error bodies both handled)."""
    wait = retry_after(headers, now)
    data = body if isinstance(body, dict) else {}
    raw = data.get("error")
    error: dict[str, Any] = raw if isinstance(raw, dict) else {}
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    reasons = _google_reasons(data)
    blob = " ".join([code, message, *reasons, error.get("status") or ""]) if error else _text(body)
    if status == 401:
        return ProviderFault("unauthorized", "the provider refused the access token")
    if status == 429 or (status == 403 and (reasons & GOOGLE_QUOTA_REASONS
                                            or code in MICROSOFT_QUOTA_CODES)):
        return ProviderFault("quota", f"rate limited ({', '.join(sorted(reasons)) or status})",
                             retry_after=wait if wait is not None else 60.0)
    if status >= 500:
        return ProviderFault("transient", f"provider answered {status}", retry_after=wait)
    if any(marker.lower() in blob.lower() for marker in RECIPIENT_MARKERS):
        return ProviderFault("recipient", "the provider refused the recipient")
    if any(marker.lower() in blob.lower() for marker in NOT_ENABLED_MARKERS):
        return ProviderFault("permanent", f"mailbox not enabled ({code or status})")
    if status == 403 and any(m.lower() in blob.lower() for m in RECONSENT_API_MARKERS):
        return ProviderFault("reconnect", f"access denied ({code or ', '.join(sorted(reasons))})")
    return ProviderFault("permanent", f"provider refused the request ({code or status})")


def safe_error(detail: str) -> str:
    """What is stored as last_error: short, and never anything that looks like a token."""
    cleaned = re.sub(r"[A-Za-z0-9_\-.~+/]{32,}=*", "[redacted]", detail)
    return cleaned[:500]
