"""How failures reach clients: user errors as data, access errors and bugs as GraphQL errors."""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError

from domain.core.errors import AccessError, DomainError, ValidationFailed

log = logging.getLogger("talentgraph.api")


@strawberry.enum(description="Stable codes of user errors; clients branch on these.")
class UserErrorCode(enum.Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PASSWORD = "INVALID_PASSWORD"
    INVALID_ROLE = "INVALID_ROLE"
    INVALID_SCOPE = "INVALID_SCOPE"
    INVALID_TOKEN = "INVALID_TOKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    LAST_ADMIN = "LAST_ADMIN"
    INVALID_URL = "INVALID_URL"
    ENGAGEMENT_BLOCKED = "ENGAGEMENT_BLOCKED"
    INVALID_STATE = "INVALID_STATE"
    ADDRESS_TAKEN = "ADDRESS_TAKEN"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    CONNECTION_FAILED = "CONNECTION_FAILED"
    HEADER_INJECTION = "HEADER_INJECTION"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    SEND_RETRYABLE = "SEND_RETRYABLE"
    SEND_FAILED = "SEND_FAILED"
    RATE_LIMITED = "RATE_LIMITED"
    DAILY_LIMIT_REACHED = "DAILY_LIMIT_REACHED"
    MAILBOX_PAUSED = "MAILBOX_PAUSED"
    NEEDS_RECONNECT = "NEEDS_RECONNECT"
    MAILBOX_DISCONNECTED = "MAILBOX_DISCONNECTED"
    GRANT_REVOKED = "GRANT_REVOKED"
    INVALID_RECIPIENT = "INVALID_RECIPIENT"
    MAILBOX_NOT_ENABLED = "MAILBOX_NOT_ENABLED"
    STAGE_OF_ANOTHER_JOB = "STAGE_OF_ANOTHER_JOB"
    STAGE_NOT_EMPTY = "STAGE_NOT_EMPTY"
    NOT_ACTIVE = "NOT_ACTIVE"
    CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED"
    CONFLICT = "CONFLICT"


@strawberry.type(description="An expected failure of a mutation, tied to an input field.")
class UserError:
    field: list[str] = strawberry.field(
        description="Path of the input field at fault, e.g. ['input', 'email']; empty when "
                    "the error is about the whole input.")
    code: UserErrorCode
    message: str


def to_user_errors(exc: DomainError) -> list[UserError]:
    if isinstance(exc, ValidationFailed):
        return [e for sub in exc.errors for e in to_user_errors(sub)]
    try:
        code = UserErrorCode(exc.code)
    except ValueError:
        code = UserErrorCode.INVALID
    return [UserError(field=["input", *exc.field], code=code, message=exc.message)]


P = TypeVar("P")


async def run_mutation(payload: Callable[..., P], action: Callable[[], Awaitable[dict[str, Any]]]
                       ) -> P:
    """Run a service call; expected failures become the payload's errors, nothing else."""
    try:
        result = await action()
    except DomainError as exc:
        return payload(errors=to_user_errors(exc))
    return payload(errors=[], **result)


class BadInput(GraphQLError):
    """Bad arguments to a query (not a mutation input): a typed GraphQL error naming the arg."""

    def __init__(self, message: str, argument: str) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT", "field": argument})


_SUGGESTION = re.compile(r" Did you mean .*\?$")


def format_error(error: GraphQLError, *, request_id: str, production: bool) -> dict[str, Any]:
    """The client's view of an error. Anything unexpected is masked and logged with the id."""
    original = error.original_error
    if isinstance(original, AccessError):
        return {"message": original.message, "locations": _locations(error),
                "path": error.path, "extensions": {"code": original.code}}
    if isinstance(original, DomainError):
        return {"message": original.message, "locations": _locations(error), "path": error.path,
                "extensions": {"code": "BAD_USER_INPUT", "field": original.field}}
    if original is not None and not isinstance(original, GraphQLError):
        log.error("unexpected error in resolver", exc_info=original,
                  extra={"request_id": request_id, "path": error.path})
        return {"message": "Internal server error.", "locations": _locations(error),
                "path": error.path,
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}}
    formatted: dict[str, Any] = dict(error.formatted)
    if production:
        formatted["message"] = _SUGGESTION.sub("", formatted["message"])
    return formatted


def _locations(error: GraphQLError) -> list[dict[str, int]] | None:
    if not error.locations:
        return None
    return [{"line": loc.line, "column": loc.column} for loc in error.locations]
