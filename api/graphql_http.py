"""GraphQL over HTTP (the GraphQL-over-HTTP spec): POST JSON and GET, with
application/graphql-response+json and application/json responses.

Written on Starlette directly rather than through strawberry's view so that each status code
and media type rule of the spec is visible here, and the hot path stays short.
"""

from __future__ import annotations

import logging
import os
import re
import time
from inspect import isawaitable
from typing import Any, NamedTuple

import orjson
import strawberry
from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode, execute, get_operation_ast
from graphql import OperationType as GraphQLOperationType
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope
from strawberry.execution.is_awaitable import optimized_is_awaitable

from api import logs
from api.context import Context
from api.document_cache import Documents
from api.errors import format_error
from api.flat_executor import FlatExecutor, plan_operation, run_operation
from api.limits import Limits
from domain.core.errors import AccessError, Unauthenticated
from domain.core.scope import Scope
from domain.tenancy.sessions import cached_scope, scope_from_bearer

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


class _Incoming(NamedTuple):
    """What the endpoint reads of a request: its method, query string, the few headers it
    looks at (first value of each; ASGI servers lowercase the names) and the body stream."""

    method: str
    query_string: bytes
    headers: dict[bytes, str]
    receive: Receive

    @staticmethod
    def of(scope: AsgiScope, receive: Receive) -> _Incoming:
        headers: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in _READ_HEADERS and name not in headers:
                headers[name] = value.decode("latin-1")
        return _Incoming(scope["method"], scope.get("query_string", b""), headers, receive)


_READ_HEADERS = frozenset({b"accept", b"authorization", b"content-type", b"content-length",
                           b"x-request-id"})


async def _read_body(receive: Receive, max_body: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError(400, "The client went away before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_body:
            raise RequestError(413, f"The request body is over {max_body} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _read_params(incoming: _Incoming, max_body: int) -> dict[str, Any]:
    if incoming.method == "GET":
        q = QueryParams(incoming.query_string)
        return {"query": q.get("query"), "variables": _json_param(q.get("variables"), "variables"),
                "operationName": q.get("operationName"),
                "extensions": _json_param(q.get("extensions"), "extensions")}
    media, charset = _content_type(incoming.headers.get(b"content-type", ""))
    # The spec allows only UTF-8 bodies; another declared charset would be misread, so refuse it.
    if media != JSON or charset not in ("utf-8", "utf8"):
        raise RequestError(415, "Send the request as application/json in UTF-8.")
    declared = incoming.headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise RequestError(413, f"The request body is over {max_body} bytes.")
    try:
        return orjson.loads(await _read_body(incoming.receive, max_body))
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, "The request body is not valid JSON.") from exc


async def _authenticate(incoming: _Incoming) -> tuple[Scope | None, AccessError | None]:
    header = incoming.headers.get(b"authorization")
    if not header:
        return None, None
    kind, _, credential = header.partition(" ")
    if kind.lower() != "bearer" or not credential.strip():
        return None, Unauthenticated("Use 'Authorization: Bearer <token>'.")
    credential = credential.strip()
    try:
        return cached_scope(credential) or await scope_from_bearer(credential), None
    except AccessError as exc:
        return None, exc


class _Answer(NamedTuple):
    status: int
    body: bytes
    media_type: str
    headers: dict[str, str] | None = None


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

    async def asgi(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        """The endpoint as a plain ASGI app, served in front of the router (api.app)."""
        answer, rid = await self._answer(_Incoming.of(scope, receive))
        headers = [(b"content-type", answer.media_type.encode()),
                   (b"content-length", str(len(answer.body)).encode()),
                   (b"x-request-id", rid.encode())]
        for name, value in (answer.headers or {}).items():
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def endpoint(self, request: Request) -> Response:
        """The endpoint as a Starlette route."""
        answer, rid = await self._answer(_Incoming.of(request.scope, request.receive))
        return Response(answer.body, status_code=answer.status, media_type=answer.media_type,
                        headers={**(answer.headers or {}), "x-request-id": rid})

    async def _answer(self, incoming: _Incoming) -> tuple[_Answer, str]:
        rid = incoming.headers.get(b"x-request-id", "")
        if not _REQUEST_ID.fullmatch(rid):
            rid = os.urandom(16).hex()
        logs.request_id.set(rid)
        started = time.perf_counter()
        try:
            answer = await self._handle(incoming, rid)
        except Exception:
            # Resolver errors are masked in format_error; this is for failures around them
            # (e.g. the database gone while checking the token): a JSON 500 with the id to quote,
            # not Starlette's plain-text page.
            log.exception("unexpected error in the GraphQL endpoint")
            answer = _Answer(500, orjson.dumps({"errors": [{
                "message": "Internal server error.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}}]}), JSON)
        duration_ms = (time.perf_counter() - started) * 1000
        # Every request at DEBUG; at INFO only failures and slow ones, so that the log line is
        # not a large share of a fast request's cost.
        level = logging.INFO if answer.status >= 400 or duration_ms > SLOW_MS \
            else logging.DEBUG
        if log.isEnabledFor(level):
            log.log(level, "graphql request", extra={
                "status": answer.status, "duration_ms": round(duration_ms, 2)})
        return answer, rid

    async def _handle(self, incoming: _Incoming, rid: str) -> _Answer:
        if incoming.method not in ("GET", "POST"):
            return self._problem(405, "Use GET or POST.", JSON, {"allow": "GET, POST"})
        accept = incoming.headers.get(b"accept")
        if (incoming.method == "GET" and self.graphiql_html and "text/html" in (accept or "")
                and "query" not in QueryParams(incoming.query_string)):
            return _Answer(200, self.graphiql_html.encode(), "text/html; charset=utf-8")
        media_type = _accepted_media_type(accept)
        if media_type is None:
            return self._problem(406, f"Accept {GRAPHQL_RESPONSE} or {JSON}.", JSON)
        try:
            query, variables, operation_name, _extensions = _check_params(
                await _read_params(incoming, self.max_body))
        except RequestError as exc:
            return self._problem(exc.status, exc.message, media_type, exc.headers)
        logs.operation.set(operation_name)
        scope, auth_error = await _authenticate(incoming)
        logs.tenant_id.set(scope.tenant_id if scope else None)
        context = Context(request_id=rid, scope=scope, auth_error=auth_error,
                          production=self.production)
        try:
            document, errors, flat_plans = self.documents.get(self.graphql_schema, query)
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
        if operation.operation is GraphQLOperationType.MUTATION and incoming.method == "GET":
            return self._problem(405, "Only queries may be sent with GET; use POST.",
                                 media_type, {"allow": "POST"})
        if operation_name not in flat_plans:
            flat_plans[operation_name] = plan_operation(self.graphql_schema, document, operation)
        plan = flat_plans[operation_name]
        data = None if plan is None else run_operation(plan, context)
        if data is not None:
            return _Answer(200, orjson.dumps({"data": data}), media_type)
        # graphql-core directly: the document is parsed, validated and limit-checked already,
        # so strawberry's per-request wrapper around the same call would be pure overhead.
        outcome = execute(self.graphql_schema, document, variable_values=variables,
                          operation_name=operation_name, context_value=context,
                          is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                          executor_class=FlatExecutor)
        result = await outcome if isawaitable(outcome) else outcome
        return self._result(result, rid, media_type, _executed(result))

    def _result(self, result: ExecutionResult, rid: str, media_type: str,
                executed: bool) -> _Answer:
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [format_error(e, request_id=rid, production=self.production)
                              for e in result.errors]
        status = 200
        if executed:
            body["data"] = result.data
        else:
            status = _request_error_status(media_type)
        return _Answer(status, orjson.dumps(body), media_type)

    def _problem(self, status: int, message: str, media_type: str,
                 headers: dict[str, str] | None = None) -> _Answer:
        return _Answer(status, orjson.dumps({"errors": [{"message": message}]}), media_type,
                       headers)
