"""CSV import and export of prospects: the import's type and its per-line results, the
prospectImports query, and the start / cancel / export mutations. The file itself travels
over plain HTTP (api/prospects/uploads.py): PUT it to /uploads/prospect-imports, then start
the import with the upload id; download an export from the URL exportProspects returns."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry

from api.context import context_of, scope_of
from api.errors import UserError, run_mutation
from api.permissions import requires
from api.prospects.search_inputs import ProspectFilterInput, resolve_id, to_filter
from api.prospects.types import Prospect
from api.relay import Connection, Node, connection, node_type, page_args, require_id, to_global_id
from api.tenancy.types import User, visible_user
from domain.core.config import settings
from domain.core.scope import Scope
from domain.prospects import imports, models, service


@strawberry.enum(description="Where an import stands.")
class ProspectImportStatus(enum.Enum):
    QUEUED = strawberry.enum_value("queued", description="Waiting for a worker (also between "
                                                         "a failed attempt and its retry).")
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = strawberry.enum_value("failed", description="Stopped for good; errorMessage says "
                                                         "why. Lines before it are imported.")
    CANCELLED = "cancelled"


@strawberry.enum(description="What became of one line of an import file.")
class ImportRowOutcome(enum.Enum):
    CREATED = strawberry.enum_value("created", description="A new prospect.")
    MERGED = strawberry.enum_value(
        "merged", description="Added to a prospect with one of its emails or profile URLs — "
                              "an existing one, or one made from an earlier line of the file. "
                              "Fills what the prospect lacks; overwrites nothing.")
    SKIPPED = strawberry.enum_value(
        "skipped", description="Matched a prospect and skipDuplicates was on.")
    ERROR = strawberry.enum_value("error", description="Not imported; message says why.")


@strawberry.type(description="One line of an import file and what became of it.")
class ImportRow:
    db_id: strawberry.Private[UUID]
    line: int = strawberry.field(description="Line in the file where the row starts (the "
                                             "header is line 1).")
    outcome: ImportRowOutcome
    message: str = strawberry.field(description="For errors, the reason naming the column; "
                                                "for merges and skips, which prospect and why.")
    prospect_id: strawberry.Private[UUID | None]

    @strawberry.field(description="The prospect created, merged into, or matched.")
    async def prospect(self, info: strawberry.Info) -> Prospect | None:
        if self.prospect_id is None:
            return None
        row = await context_of(info).loader(service.prospects_by_ids).load(self.prospect_id)
        return None if row is None else Prospect.of(row)

    @staticmethod
    def of(row: models.ProspectImportRow) -> ImportRow:
        return ImportRow(db_id=row.id, line=row.line, outcome=ImportRowOutcome(row.outcome),
                         message=row.message, prospect_id=row.prospect_id)


@strawberry.type(description="Which CSV column feeds which prospect field.")
class ImportColumnMapping:
    column: str
    field: str


@strawberry.type(description="A CSV import of prospects, queryable while it runs.")
class ProspectImport(Node):
    row: strawberry.Private[models.ProspectImport]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("ProspectImport", self.row.id)

    @strawberry.field
    def status(self) -> ProspectImportStatus:
        return ProspectImportStatus(self.row.status)

    @strawberry.field(description="The name the file was uploaded under, when given.")
    def file_name(self) -> str | None:
        return imports.options_of(self.row).file_name

    @strawberry.field
    def mapping(self) -> list[ImportColumnMapping]:
        return [ImportColumnMapping(column=m.column, field=m.field)
                for m in imports.mapping_of(self.row)]

    @strawberry.field
    def skip_duplicates(self) -> bool:
        return imports.options_of(self.row).skip_duplicates

    @strawberry.field(description="Size of the file in bytes.")
    def total_bytes(self) -> int:
        return self.row.total_bytes

    @strawberry.field(description="Bytes of the file read and committed so far.")
    def processed_bytes(self) -> int:
        return self.row.processed_bytes

    @strawberry.field(description="From 0 to 1: the share of the file's bytes done.")
    def progress(self) -> float:
        if self.row.status == "completed":
            return 1.0
        total = self.row.total_bytes or 0
        return min(1.0, self.row.processed_bytes / total) if total else 0.0

    @strawberry.field(description="Rows done so far (blank lines are not rows).")
    def processed_rows(self) -> int:
        return self.row.processed_rows

    @strawberry.field
    def created_count(self) -> int:
        return self.row.created_count

    @strawberry.field
    def merged_count(self) -> int:
        return self.row.merged_count

    @strawberry.field
    def skipped_count(self) -> int:
        return self.row.skipped_count

    @strawberry.field
    def error_count(self) -> int:
        return self.row.error_count

    @strawberry.field(description="Why it failed, or why its last attempt stopped.")
    def error_message(self) -> str | None:
        return self.row.error_message

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def started_at(self) -> datetime | None:
        return self.row.started_at

    @strawberry.field
    def finished_at(self) -> datetime | None:
        return self.row.finished_at

    @strawberry.field(description="The member who started it; null for an API key.")
    async def created_by(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.row.created_by_id)

    @strawberry.field(description="Per-line results in line order.")
    async def rows(self, info: strawberry.Info, first: int | None = None,
                   after: str | None = None, outcome: ImportRowOutcome | None = None
                   ) -> Connection[ImportRow]:
        page = await imports.list_import_rows(
            scope_of(info), import_id=self.row.id, page=page_args(first, after, None, None),
            outcome=str(outcome.value) if outcome else None)
        return connection(page, ImportRow.of)

    @staticmethod
    def of(row: models.ProspectImport) -> ProspectImport:
        return ProspectImport(row=row)


@strawberry.type(description="A CSV file of prospects, ready to download.")
class ProspectExport:
    url: str = strawberry.field(description="GET it (no other credentials needed) until "
                                            "expiresAt; a link to share with care.")
    expires_at: datetime
    prospect_count: int


# --- inputs ----------------------------------------------------------------------------------

@strawberry.input(description="Feed a prospect field from a CSV column.")
class ImportColumnMappingInput:
    column: str = strawberry.field(description="As in the file's first line; matched trimmed "
                                               "and case-insensitively.")
    field: str = strawberry.field(description=(
        "firstName, lastName, fullName (split at the first space), email, profileUrl, tags "
        "(email, profileUrl and tags may take several columns, and several values per cell "
        "separated by ';'), phone, title, company, location, timeZone, source, or "
        "custom.<key> for a custom field (multi-select values separated by ';')."))


@strawberry.input
class ProspectImportOptionsInput:
    skip_duplicates: bool = strawberry.field(
        default=False, description="Skip rows matching a prospect instead of merging them.")
    default_tags: list[str] | None = strawberry.field(
        default=None, description="Added to every imported row.")
    default_source: str | None = strawberry.field(
        default=None, description="For rows that have no source.")
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Owner of the prospects created; default: you.")


@strawberry.input
class StartProspectImportInput:
    upload_id: strawberry.ID = strawberry.field(
        description="From PUT /uploads/prospect-imports. An upload is imported once.")
    mapping: list[ImportColumnMappingInput]
    options: ProspectImportOptionsInput | None = None
    file_name: str | None = strawberry.field(default=None,
                                             description="Shown in lists of imports.")


@strawberry.input
class CancelProspectImportInput:
    import_id: strawberry.ID


@strawberry.input(description="Export prospects: give prospectIds or a filter (at most "
                              "100,000 matches), not both.")
class ExportProspectsInput:
    prospect_ids: list[strawberry.ID] | None = None
    filter: ProspectFilterInput | None = None


@strawberry.type
class StartProspectImportPayload:
    prospect_import: ProspectImport | None = None
    errors: list[UserError]


@strawberry.type
class CancelProspectImportPayload:
    prospect_import: ProspectImport | None = None
    errors: list[UserError]


@strawberry.type
class ExportProspectsPayload:
    export: ProspectExport | None = None
    errors: list[UserError]


def _options(given: ProspectImportOptionsInput | None,
             file_name: str | None) -> imports.ImportOptions:
    given = given or ProspectImportOptionsInput()
    return imports.ImportOptions(
        skip_duplicates=given.skip_duplicates, default_tags=tuple(given.default_tags or ()),
        default_source=given.default_source,
        owner_id=require_id(given.owner_id, "User", ["options", "ownerId"]) if given.owner_id
        else None, file_name=file_name)


# --- root fields -----------------------------------------------------------------------------

@strawberry.type
class ImportQuery:
    @strawberry.field(description="CSV imports of prospects, newest first.",
                      extensions=[requires("prospects:read")])
    async def prospect_imports(self, info: strawberry.Info, first: int | None = None,
                               after: str | None = None, last: int | None = None,
                               before: str | None = None) -> Connection[ProspectImport]:
        page = await imports.list_imports(scope_of(info), page_args(first, after, last, before))
        return connection(page, ProspectImport.of)


@strawberry.type
class ImportMutation:
    @strawberry.mutation(description="Import an uploaded CSV file in the background. The "
                                     "mapping and the file's header are checked now; rows are "
                                     "checked as they are imported (see rows on the import).",
                         extensions=[requires("prospects:write")])
    async def start_prospect_import(self, info: strawberry.Info,
                                    input: StartProspectImportInput
                                    ) -> StartProspectImportPayload:
        async def act() -> dict[str, Any]:
            imp = await imports.start_import(
                scope_of(info), upload_id=require_id(input.upload_id, "Upload", "uploadId"),
                mapping=[imports.ColumnMapping(column=m.column, field=m.field)
                         for m in input.mapping],
                options=_options(input.options, input.file_name))
            return {"prospect_import": ProspectImport.of(imp)}
        return await run_mutation(StartProspectImportPayload, act)

    @strawberry.mutation(description="Stop an import: a queued one never starts, a running one "
                                     "stops after the batch in progress (what it imported "
                                     "stays).", extensions=[requires("prospects:write")])
    async def cancel_prospect_import(self, info: strawberry.Info,
                                     input: CancelProspectImportInput
                                     ) -> CancelProspectImportPayload:
        async def act() -> dict[str, Any]:
            imp = await imports.cancel_import(
                scope_of(info), import_id=require_id(input.import_id, "ProspectImport", "importId"))
            return {"prospect_import": ProspectImport.of(imp)}
        return await run_mutation(CancelProspectImportPayload, act)

    @strawberry.mutation(description="Export prospects to CSV. The selection is fixed now; "
                                     "the file streams from the returned URL. Its columns are "
                                     "the import's field names, so it imports back as is.",
                         extensions=[requires("prospects:read")])
    async def export_prospects(self, info: strawberry.Info,
                               input: ExportProspectsInput) -> ExportProspectsPayload:
        async def act() -> dict[str, Any]:
            ticket = await imports.export_prospects(
                scope_of(info),
                prospect_ids=None if input.prospect_ids is None else [
                    resolve_id(i, "Prospect") for i in input.prospect_ids],
                filter=None if input.filter is None else to_filter(input.filter))
            return {"export": ProspectExport(
                url=f"{settings().public_base_url}/exports/prospects.csv?token={ticket.token}",
                expires_at=ticket.expires_at, prospect_count=ticket.count)}
        return await run_mutation(ExportProspectsPayload, act)


async def _imports(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: ProspectImport.of(v) for k, v in (await imports.imports_by_ids(scope, ids)).items()}


def register() -> None:
    node_type("ProspectImport", _imports)
