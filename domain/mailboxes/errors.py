"""Expected failures of mailboxes and sending. Messages never contain a token or password."""

from __future__ import annotations

from domain.core.errors import DomainError


class InvalidState(DomainError):
    """The OAuth callback's state is unknown, tampered, expired, used, or not this member's."""

    code = "INVALID_STATE"


class AddressTaken(DomainError):
    code = "ADDRESS_TAKEN"


class ProviderNotConfigured(DomainError):
    code = "NOT_CONFIGURED"


class SmtpLoginFailed(DomainError):
    code = "INVALID_CREDENTIALS"


class HeaderInjection(DomainError):
    code = "HEADER_INJECTION"


class MessageTooLarge(DomainError):
    code = "MESSAGE_TOO_LARGE"


class ConnectionFailed(DomainError):
    """The provider refused the authorization code or could not be reached during connect."""

    code = "CONNECTION_FAILED"


class SendError(DomainError):
    """A send did not happen. `retryable` tells the caller whether trying later may work."""

    retryable = False
    retry_after: float | None = None


class RetryableSendError(SendError):
    """429, 5xx, timeouts, quota, daily limit: try again after `retry_after` seconds."""

    code = "SEND_RETRYABLE"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None,
                 code: str | None = None, field: str | None = None) -> None:
        super().__init__(message, field=field, code=code)
        self.retry_after = retry_after


class FinalSendError(SendError):
    """Trying again will not help: invalid recipient, revoked grant, needs_reconnect,
    mailbox not enabled for the API or not licensed."""

    code = "SEND_FAILED"


class ProviderFault(Exception):
    """A classified provider failure inside the adapters; turned into the errors above.

    kind: reconnect (invalid_grant, re-consent, revoked), unauthorized (401: refresh and try
    once more), quota (back off, stay connected), transient (429/5xx/timeouts), permanent
    (not enabled, licence), recipient (invalid recipient).
    """

    def __init__(self, kind: str, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after
