"""Files over plain HTTP, beside GraphQL: the CSV upload an import starts from, and the
download of an export.

PUT /uploads/prospect-imports   Authorization: Bearer <token>; the body is the CSV file.
    201 {"uploadId", "bytes"}; errors as {"errors": [{"message", "extensions": {"code"}}]}:
    401 UNAUTHENTICATED, 403 FORBIDDEN (needs prospects:write), 413 TOO_LARGE (over
    imports.MAX_UPLOAD_BYTES, refused from Content-Length when declared, else while
    streaming), 422 INVALID (not UTF-8, empty). The body streams to disk: constant memory.
GET /exports/prospects.csv?token=<from exportProspects>
    200 text/csv streamed page by page; 404 NOT_FOUND for a forged, expired or spent token.

Why the export streams from a signed link instead of a job writing a file: the selection is
fixed (as ids) when exportProspects runs, the rows are read only when downloaded, so no copy
of prospect data rests on disk, nothing needs cleaning up but a file of ids, memory stays
constant, and a browser can download it without setting headers.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.relay import to_global_id
from domain.core import clock
from domain.core.errors import AccessError, DomainError, Forbidden, Unauthenticated
from domain.core.scope import Scope
from domain.prospects import imports
from domain.tenancy.sessions import scope_from_bearer


def _error(status: int, code: str, message: str, field: list[str] | None = None) -> Response:
    extensions: dict[str, Any] = {"code": code}
    if field:
        extensions["field"] = field
    return JSONResponse({"errors": [{"message": message, "extensions": extensions}]},
                        status_code=status)


async def _scope(request: Request) -> Scope:
    kind, _, credential = request.headers.get("authorization", "").partition(" ")
    if kind.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Use 'Authorization: Bearer <token>'.")
    return await scope_from_bearer(credential.strip())


async def upload_prospect_import(request: Request) -> Response:
    try:
        scope = await _scope(request)
        scope.require("prospects:write")
    except AccessError as exc:
        return _error(403 if isinstance(exc, Forbidden) else 401, exc.code, exc.message)
    declared = request.headers.get("content-length", "")
    try:
        upload = await imports.store_upload(
            scope, request.stream(), declared_size=int(declared) if declared.isdigit() else None)
    except imports.UploadTooLarge as exc:
        return _error(413, "TOO_LARGE", exc.message)
    except DomainError as exc:
        return _error(422, exc.code, exc.message)
    return JSONResponse({"uploadId": to_global_id("Upload", upload.id), "bytes": upload.size},
                        status_code=201)


async def download_prospect_export(request: Request) -> Response:
    try:
        scope, path = imports.open_export(request.query_params.get("token", ""))
    except DomainError as exc:
        return _error(404, exc.code, exc.message)
    name = f"prospects-{clock.now():%Y-%m-%d}.csv"
    return StreamingResponse(
        imports.export_csv(scope, path, lambda raw: to_global_id("Prospect", raw)),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"',
                 "cache-control": "no-store"})


ROUTES = [
    Route("/uploads/prospect-imports", upload_prospect_import, methods=["PUT"]),
    Route("/exports/prospects.csv", download_prospect_export, methods=["GET"]),
]
