"""Tenancy's expected failures."""

from domain.core.errors import DomainError


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"
    email: str | None = None  # whose failure to count towards the login throttle


class TooManyAttempts(DomainError):
    code = "TOO_MANY_ATTEMPTS"


class InvalidToken(DomainError):
    code = "INVALID_TOKEN"


class Duplicate(DomainError):
    code = "DUPLICATE"


class LastAdmin(DomainError):
    code = "LAST_ADMIN"
