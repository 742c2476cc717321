"""Provider error bodies in their real shapes, and the armed faults that produce them.

A fault armed through the control API fires on the next N matching calls. `timeout` holds the
request for `delaySeconds` and then lets it through: the client has given up by then, but the
provider still did the work (a send went out, a refresh token rotated), as in real life.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from emulator.state import Fault, Store

TOKEN_KINDS = frozenset({"429", "500", "timeout", "invalid_grant", "reconsent"})
API_KINDS = frozenset({"429", "500", "timeout", "quota", "not_enabled", "invalid_grant", "reconsent"})
SMTP_AUTH_KINDS = frozenset({"invalid_grant", "reconsent", "not_enabled"})
SMTP_DATA_KINDS = frozenset({"429", "500", "timeout", "quota"})
ALL_KINDS = TOKEN_KINDS | API_KINDS
ENDPOINTS = frozenset({"token", "send", "api", "*"})


class Reply(Exception):
    """Raised by a guard to answer the request at once with this response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _headers(retry_after: int | None) -> dict[str, str]:
    return {"Retry-After": str(retry_after)} if retry_after is not None else {}


# Google -----------------------------------------------------------------------------------------
def gmail_error(code: int, message: str, reason: str, status: str, *, domain: str = "global",
                headers: dict[str, str] | None = None, **extra: str) -> JSONResponse:
    detail: dict[str, str] = {"message": message, "domain": domain, "reason": reason, **extra}
    body = {"error": {"code": code, "message": message, "errors": [detail], "status": status}}
    return JSONResponse(body, status_code=code, headers=headers)


def gmail_unauthenticated() -> JSONResponse:
    message = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login "
               "cookie or other valid authentication credential. See "
               "https://developers.google.com/identity/sign-in/web/devconsole-project.")
    return gmail_error(401, message, "authError", "UNAUTHENTICATED", location="Authorization",
                       locationType="header",
                       headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                                                    'error="invalid_token"'})


def gmail_not_found() -> JSONResponse:
    return gmail_error(404, "Requested entity was not found.", "notFound", "NOT_FOUND")


def gmail_invalid(message: str) -> JSONResponse:
    return gmail_error(400, message, "invalidArgument", "INVALID_ARGUMENT")


def google_token_error(error: str, description: str, status: int = 400,
                       headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers=headers)


def _google_api_fault(fault: Fault) -> Response:
    hold = _headers(fault.retry_after)
    if fault.kind == "429":
        until = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + (fault.retry_after or 1)))
        return gmail_error(429, f"User-rate limit exceeded.  Retry after {until}", "rateLimitExceeded",
                           "RESOURCE_EXHAUSTED", domain="usageLimits", headers=hold)
    if fault.kind == "500":
        return gmail_error(500, "Internal error encountered.", "backendError", "INTERNAL", headers=hold)
    if fault.kind == "quota":
        return gmail_error(403, "Rate Limit Exceeded", "rateLimitExceeded", "PERMISSION_DENIED",
                           domain="usageLimits", headers=hold)
    if fault.kind == "not_enabled":
        message = ("Gmail API has not been used in project 1000000000001 before or it is disabled. "
                   "Enable it by visiting https://console.developers.google.com/apis/api/"
                   "gmail.googleapis.com/overview?project=1000000000001 then retry.")
        return gmail_error(403, message, "accessNotConfigured", "PERMISSION_DENIED",
                           domain="usageLimits", extendedHelp="https://console.developers.google.com")
    if fault.kind == "reconsent":
        return gmail_error(403, "Request had insufficient authentication scopes.", "insufficientPermissions",
                           "PERMISSION_DENIED")
    return gmail_unauthenticated()  # invalid_grant: the token is no longer accepted


def _google_token_fault(fault: Fault) -> Response:
    hold = _headers(fault.retry_after)
    if fault.kind == "429":
        return google_token_error("rate_limit_exceeded", "Rate Limit Exceeded", 429, hold)
    if fault.kind == "500":
        return google_token_error("internal_failure", "Backend Error", 500, hold)
    if fault.kind == "reconsent":
        return google_token_error("invalid_grant", "Token has been expired or revoked.")
    return google_token_error("invalid_grant", "Token has been expired or revoked.")


# Microsoft --------------------------------------------------------------------------------------
def graph_error(store: Store, status: int, code: str, message: str,
                headers: dict[str, str] | None = None) -> JSONResponse:
    request_id = store.request_id()
    inner = {"date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "request-id": request_id,
             "client-request-id": request_id}
    return JSONResponse({"error": {"code": code, "message": message, "innerError": inner}},
                        status_code=status, headers={"request-id": request_id, **(headers or {})})


def graph_unauthenticated(store: Store, message: str) -> JSONResponse:
    challenge = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
                 'authorize", client_id="00000003-0000-0000-c000-000000000000"')
    return graph_error(store, 401, "InvalidAuthenticationToken", message,
                       headers={"WWW-Authenticate": challenge})


def ms_token_error(store: Store, error: str, aadsts: int, text: str, status: int = 400,
                   headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """The identity platform's error body: the AADSTS code leads the description and
    `error_codes`, with trace/correlation ids and a timestamp repeated inside the text."""
    trace, correlation = store.request_id(), store.request_id()
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    description = (f"AADSTS{aadsts}: {text} Trace ID: {trace} Correlation ID: {correlation} "
                   f"Timestamp: {stamp}")
    body = {"error": error, "error_description": description, "error_codes": [aadsts],
            "timestamp": stamp, "trace_id": trace, "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={aadsts}", **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def _microsoft_api_fault(store: Store, fault: Fault) -> Response:
    hold = _headers(fault.retry_after)
    if fault.kind == "429":
        return graph_error(store, 429, "ApplicationThrottled",
                           "Application is over its MailboxConcurrency limit.", hold)
    if fault.kind == "500":
        return graph_error(store, 500, "ErrorInternalServerError",
                           "An internal server error occurred. The operation failed.", hold)
    if fault.kind == "quota":
        return graph_error(store, 403, "ErrorSubmissionQuotaExceeded",
                           "Cannot send mail. The submission quota has been exceeded.", hold)
    if fault.kind == "not_enabled":
        return graph_error(store, 404, "MailboxNotEnabledForRESTAPI",
                           "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
    if fault.kind == "reconsent":
        return graph_error(store, 403, "ErrorAccessDenied",
                           "Access is denied. Check credentials and try again.")
    return graph_unauthenticated(store, "Access token has expired or is not yet valid.")


def _microsoft_token_fault(store: Store, fault: Fault) -> Response:
    hold = _headers(fault.retry_after)
    if fault.kind == "429":
        return ms_token_error(store, "temporarily_unavailable", 90055,
                              "The number of requests exceeded the throttling threshold.", 429, hold)
    if fault.kind == "500":
        return ms_token_error(store, "server_error", 90033,
                              "A transient error has occurred. Please try again.", 500, hold)
    if fault.kind == "reconsent":
        return reconsent_error(store)
    return ms_token_error(store, "invalid_grant", 700082,
                          "The refresh token has expired due to inactivity.")


def reconsent_error(store: Store) -> JSONResponse:
    return ms_token_error(
        store, "interaction_required", 65001,
        "The user or administrator has not consented to use the application. Send an interactive "
        "authorization request for this user and resource.", suberror="consent_required")


# applying ---------------------------------------------------------------------------------------
async def apply(store: Store, provider: str, endpoint: str) -> None:
    """Fire the next armed fault for this call, if any: raise its response, or hold a timeout."""
    kinds = TOKEN_KINDS if endpoint == "token" else API_KINDS
    fault = store.take_fault(provider, endpoint, kinds)
    if fault is None:
        return
    if fault.kind == "timeout":
        await asyncio.sleep(fault.delay_seconds)
        return
    if provider == "google":
        raise Reply(_google_token_fault(fault) if endpoint == "token" else _google_api_fault(fault))
    raise Reply(_microsoft_token_fault(store, fault) if endpoint == "token"
                else _microsoft_api_fault(store, fault))


SMTP_REPLIES = {
    "429": "421 4.7.0 Try again later, closing connection.",
    "500": "451 4.3.0 Mail server temporarily rejected message.",
    "quota": "550 5.4.5 Daily user sending limit exceeded.",
    "invalid_grant": "535 5.7.8 Username and Password not accepted.",
    "reconsent": "534 5.7.9 Application-specific password required.",
    "not_enabled": "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
                   "for the Mailbox.",
}
