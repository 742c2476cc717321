"""GraphQL over HTTP (the GraphQL-over-HTTP spec): POST JSON and GET, with
application/graphql-response+json and application/json responses.

Written on Starlette directly rather than through strawberry's view so that each status code
and media type rule of the spec is visible here, and the hot path stays short.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from inspect import isawaitable
from typing import Any

import orjson
import strawberry
from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode, execute, get_operation_ast
from graphql import OperationType as GraphQLOperationType
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.execution.is_awaitable import optimized_is_awaitable

from api import logs
from api.context import Context
from api.document_cache import Documents
from api.errors import format_error
from api.flat_executor import FlatExecutor
from api.limits import Limits
from domain.core.errors import AccessError, Unauthenticated
from domain.core.scope import Scope
from domain.tenancy.sessions import scope_from_bearer

log = logging.getLogger("talentgraph.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
SLOW_MS = 500.0
# A client's x-request-id is echoed in headers, logs and error bodies: only a short, plain id is
# taken as is, anything else gets a fresh one (no header or log injection, one value everywhere).
_REQUEST_ID = re.compile(r"[\w.:-]{1,64}", re.ASCII)


class RequestError(Exception):
    """The request is not a well-formed GraphQL-over-HTTP request."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _accepted_media_type(accept: str | None) -> str | None:
    """Pick the response media type from Accept; None when nothing we serve is acceptable."""
    if not accept:
        return JSON
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(accept.split(",")):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        q = 1.0
        for param in parts[1:]:
            if param.lower().startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media == GRAPHQL_RESPONSE:
            candidate = GRAPHQL_RESPONSE
        elif media in (JSON, "application/*", "*/*"):
            candidate = JSON
        else:
            continue
        if q <= 0:
            continue
        key = (q, -position, candidate)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


def _check_params(params: Any) -> tuple[str, dict[str, Any] | None, str | None, Any]:
    if not isinstance(params, dict):
        raise RequestError(400, "The request body must be a JSON object (batching is off).")
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "'query' must be a non-empty string.")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "'variables' must be an object or null.")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "'operationName' must be a string or null.")
    operation_name = operation_name or None  # some clients send "" for "no name"
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "'extensions' must be an object or null.")
    return query, variables, operation_name, extensions


def _content_type(header: str) -> tuple[str, str]:
    """(media type, charset) of a Content-Type header; JSON's charset defaults to utf-8."""
    media, *params = header.split(";")
    charset = "utf-8"
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def _json_param(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"'{name}' is not valid JSON.") from exc


async def _read_params(request: Request, max_body: int) -> dict[str, Any]:
    if request.method == "GET":
        q = request.query_params
        return {"query": q.get("query"), "variables": _json_param(q.get("variables"), "variables"),
                "operationName": q.get("operationName"),
                "extensions": _json_param(q.get("extensions"), "extensions")}
    media, charset = _content_type(request.headers.get("content-type", ""))
    # The spec allows only UTF-8 bodies; another declared charset would be misread, so refuse it.
    if media != JSON or charset not in ("utf-8", "utf8"):
        raise RequestError(415, "Send the request as application/json in UTF-8.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise RequestError(413, f"The request body is over {max_body} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise RequestError(413, f"The request body is over {max_body} bytes.")
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, "The request body is not valid JSON.") from exc


async def _authenticate(request: Request) -> tuple[Scope | None, AccessError | None]:
    header = request.headers.get("authorization")
    if not header:
        return None, None
    kind, _, credential = header.partition(" ")
    if kind.lower() != "bearer" or not credential.strip():
        return None, Unauthenticated("Use 'Authorization: Bearer <token>'.")
    try:
        return await scope_from_bearer(credential.strip()), None
    except AccessError as exc:
        return None, exc


def _request_error_status(media_type: str) -> int:
    """Status of a request error (nothing executed): application/graphql-response+json says
    400; legacy application/json keeps 200 for any well-formed request."""
    return 400 if media_type == GRAPHQL_RESPONSE else 200


def _executed(result: ExecutionResult) -> bool:
    """Whether execution started, so the response has a "data" entry (possibly null).

    Variable coercion failures come back as a result with data None, like a non-null root
    field that failed; they differ in that field errors always carry a path and request
    errors never do.
    """
    return result.data is not None or any(error.path for error in result.errors or ())


class GraphQLEndpoint:
    def __init__(self, schema: strawberry.Schema, *, production: bool, max_body: int,
                 graphiql_html: str | None, documents: Documents | None = None) -> None:
        self.schema = schema
        self.graphql_schema = schema._schema
        self.documents = documents or getattr(schema, "documents", None) or Documents(
            [], Limits(max_depth=12, max_aliases=30, max_cost=5000, max_page=100), 2000)
        self.production = production
        self.max_body = max_body
        self.graphiql_html = graphiql_html

    async def endpoint(self, request: Request) -> Response:
        rid = request.headers.get("x-request-id", "")
        if not _REQUEST_ID.fullmatch(rid):
            rid = secrets.token_hex(16)
        logs.request_id.set(rid)
        started = time.perf_counter()
        try:
            response = await self._handle(request, rid)
        except Exception:
            # Resolver errors are masked in format_error; this is for failures around them
            # (e.g. the database gone while checking the token): a JSON 500 with the id to quote,
            # not Starlette's plain-text page.
            log.exception("unexpected error in the GraphQL endpoint")
            response = Response(orjson.dumps({"errors": [{
                "message": "Internal server error.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}}]}),
                status_code=500, media_type=JSON)
        response.headers["x-request-id"] = rid
        duration_ms = (time.perf_counter() - started) * 1000
        # Every request at DEBUG; at INFO only failures and slow ones, so that the log line is
        # not a large share of a fast request's cost.
        level = logging.INFO if response.status_code >= 400 or duration_ms > SLOW_MS \
            else logging.DEBUG
        if log.isEnabledFor(level):
            log.log(level, "graphql request", extra={
                "status": response.status_code, "duration_ms": round(duration_ms, 2)})
        return response

    async def _handle(self, request: Request, rid: str) -> Response:
        if request.method not in ("GET", "POST"):
            return self._problem(405, "Use GET or POST.", JSON, {"allow": "GET, POST"})
        accept = request.headers.get("accept")
        if (request.method == "GET" and self.graphiql_html and "text/html" in (accept or "")
                and "query" not in request.query_params):
            return HTMLResponse(self.graphiql_html)
        media_type = _accepted_media_type(accept)
        if media_type is None:
            return self._problem(406, f"Accept {GRAPHQL_RESPONSE} or {JSON}.", JSON)
        try:
            query, variables, operation_name, _extensions = _check_params(
                await _read_params(request, self.max_body))
        except RequestError as exc:
            return self._problem(exc.status, exc.message, media_type, exc.headers)
        logs.operation.set(operation_name)
        scope, auth_error = await _authenticate(request)
        logs.tenant_id.set(str(scope.tenant_id) if scope else None)
        context = Context(request_id=rid, scope=scope, auth_error=auth_error,
                          production=self.production)
        try:
            document, errors = self.documents.get(self.graphql_schema, query)
        except GraphQLError as exc:  # syntax, or over the token limit
            return self._result(ExecutionResult(data=None, errors=[exc]), rid, media_type, False)
        if errors:
            return self._result(ExecutionResult(data=None, errors=errors), rid, media_type, False)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            several = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1
            message = (f"Unknown operation named '{operation_name}'." if operation_name else
                       "The document has several operations: say which with operationName."
                       if several else "The document has no operation to run.")
            return self._problem(_request_error_status(media_type), message, media_type)
        if operation.operation is GraphQLOperationType.SUBSCRIPTION:
            return self._problem(_request_error_status(media_type),
                                 "Subscriptions are not served over HTTP.", media_type)
        if operation.operation is GraphQLOperationType.MUTATION and request.method == "GET":
            return self._problem(405, "Only queries may be sent with GET; use POST.",
                                 media_type, {"allow": "POST"})
        # graphql-core directly: the document is parsed, validated and limit-checked already,
        # so strawberry's per-request wrapper around the same call would be pure overhead.
        outcome = execute(self.graphql_schema, document, variable_values=variables,
                          operation_name=operation_name, context_value=context,
                          is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                          executor_class=FlatExecutor)
        result = await outcome if isawaitable(outcome) else outcome
        return self._result(result, rid, media_type, _executed(result))

    def _result(self, result: ExecutionResult, rid: str, media_type: str,
                executed: bool) -> Response:
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [format_error(e, request_id=rid, production=self.production)
                              for e in result.errors]
        status = 200
        if executed:
            body["data"] = result.data
        else:
            status = _request_error_status(media_type)
        return Response(orjson.dumps(body), status_code=status, media_type=media_type)

    def _problem(self, status: int, message: str, media_type: str,
                 headers: dict[str, str] | None = None) -> Response:
        return Response(orjson.dumps({"errors": [{"message": message}]}), status_code=status,
                        media_type=media_type, headers=headers)
