"""Errors every context shares. Expected failures carry a stable UPPER_SNAKE code and a field."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """An expected failure the caller can act on; the API turns it into a user error."""

    code = "INVALID"

    def __init__(self, message: str, *, field: Sequence[str] | str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field: list[str] = [field] if isinstance(field, str) else list(field or [])
        if code:
            self.code = code


class NotFound(DomainError):
    """Unknown, deleted, or another tenant's: indistinguishable on purpose."""

    code = "NOT_FOUND"


class ValidationFailed(DomainError):
    """Several field errors at once, so a form can show them all."""

    code = "INVALID"

    def __init__(self, errors: list[DomainError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


class AccessError(Exception):
    """Authentication or authorisation failure: a GraphQL error, never a user error."""

    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(AccessError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Authentication required.") -> None:
        super().__init__(message)


class Forbidden(AccessError):
    code = "FORBIDDEN"
