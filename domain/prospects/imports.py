"""CSV import and export of prospects.

Import, in three steps:
1. `store_upload` streams the bytes to data_dir/uploads/<tenant>/<id>.csv, refusing more than
   MAX_UPLOAD_BYTES and anything that is not UTF-8 text before the file becomes usable.
2. `start_import` checks the mapping and the file's header, moves the file to
   data_dir/imports/<tenant>/<import id>.csv (so an upload is imported once), records a queued
   import and, after commit, queues `run_prospect_import` with job id `import:<id>`.
3. `run_import` streams the file line by line (constant memory) and writes it in batches. One
   batch — its prospects, emails, URLs, tags and activities, its per-line results, and the
   import's counters, heartbeat and resume point — commits in one transaction, so a crash loses
   at most the batch in progress and a rerun resumes after the last committed line without
   writing anything twice. Every batch first locks the import and checks that it still sits
   where this run left it: a second run (a retried job, a sweep after a stale heartbeat) that
   finds someone else moved it stops instead of writing the same lines again.
   Unexpected errors put the import back in the queue (or fail it for good after MAX_RUNS
   runs) with a message; it never stays 'running' unless its run is alive, and a dead run's
   stale heartbeat is found by `sweep_imports`, which queues the import again.

Rows are created or merged exactly as `service.save_prospect` does it (same checks, same
"fill what is missing, never overwrite" merge, matching by email or profile URL), in bulk: one
query per batch finds the existing owners of its emails and URLs. Rows of the file that match
an earlier row merge into it. Per line the result is created, merged, skipped (skipDuplicates)
or error, with the reason naming the column.

Export: `export_prospects` fixes the selection (ids, or a search filter's matches) in a file
of ids and returns a signed download token valid for EXPORT_TTL_SECONDS; `export_csv` streams
those prospects as CSV, one page per short transaction. The file holds ids only, never data.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import hashlib
import hmac
import io
import json
import logging
import re
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from domain.core import clock, db, jobs
from domain.core.config import settings
from domain.core.errors import DomainError, NotFound, ValidationFailed
from domain.core.ids import uuid7
from domain.core.pagination import Page, PageArgs, check_page_args, paginate
from domain.core.scope import Scope
from domain.events.service import publish
from domain.prospects import events, rules, search, service
from domain.prospects.models import (
    Activity,
    CustomFieldDefinition,
    Note,
    Prospect,
    ProspectEmail,
    ProspectImport,
    ProspectImportRow,
    ProspectProfile,
    ProspectTag,
)
from domain.prospects.rules import ProspectData
from domain.prospects.search import ProspectFilter
from domain.prospects.service import MAX_LENGTH as _MAX_LENGTH
from domain.prospects.service import SCALARS, Checked
from domain.tenancy import rules as tenancy_rules
from domain.tenancy import service as tenancy

log = logging.getLogger("talentgraph.imports")


QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = "queued", "running", "completed", "failed", \
    "cancelled"
TERMINAL = (COMPLETED, FAILED, CANCELLED)
CREATED, MERGED, SKIPPED, ERROR = "created", "merged", "skipped", "error"

BATCH_SIZE = 500  # rows per transaction
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024  # a longer physical line is an error row, never read whole
MAX_MAPPING = 200
STALE_SECONDS = 120  # a running import without a heartbeat for this long has lost its run
MAX_RUNS = 5  # runs (first one, retries, resumes) before an import fails for good
UPLOAD_TTL_SECONDS = 24 * 3600  # unused uploads are deleted after this
EXPORT_TTL_SECONDS = 15 * 60
MAX_EXPORT = 100_000
EXPORT_PAGE = 500
_CHUNK = 500  # values per IN (...) list
_BOM = b"\xef\xbb\xbf"

# Test seam (fault injection): awaited inside each batch's transaction after its writes, with
# the batch's first line; raising there rolls the batch back like a crash would.
_batch_hook: Callable[[int], Awaitable[None]] | None = None


# --- mapping: which column feeds which field (pure) ------------------------------------------

SCALAR_FIELDS = {"firstName": "first_name", "lastName": "last_name", "phone": "phone",
                 "title": "title", "company": "company", "location": "location",
                 "timeZone": "time_zone", "source": "source"}
LIST_FIELDS = ("email", "profileUrl", "tags")  # several columns may feed these
FULL_NAME = "fullName"  # split at the first space into firstName / lastName when those are empty
CUSTOM_PREFIX = "custom."
IDENTITY_FIELDS = ("firstName", FULL_NAME, "email", "profileUrl")
_SPLIT_EMAILS = re.compile(r"[;,\s]+")
_SPLIT_URLS = re.compile(r"[;\s]+")
_SPLIT_TAGS = re.compile(r"[;,]")
_PHONE_LIKE = re.compile(r"^[+-][\d\s().-]*$")


@dataclass(frozen=True)
class ColumnMapping:
    column: str  # as in the file's header (matched trimmed, case-insensitively)
    field: str  # a key of SCALAR_FIELDS, one of LIST_FIELDS, fullName, or custom.<key>


@dataclass(frozen=True)
class ImportOptions:
    skip_duplicates: bool = False  # rows matching a prospect are skipped instead of merged
    default_tags: tuple[str, ...] = ()  # added to every row's tags
    default_source: str | None = None  # for rows without a source
    owner_id: UUID | None = None  # owner of the prospects created (default: the importer)
    file_name: str | None = None  # shown in lists; the upload's original name


def known_fields() -> list[str]:
    return [*SCALAR_FIELDS, FULL_NAME, *LIST_FIELDS, f"{CUSTOM_PREFIX}<key>"]


def check_mapping(mapping: Sequence[ColumnMapping],
                  custom: dict[str, CustomFieldDefinition]) -> None:
    """Every entry names a known field (custom.<key>: a defined, unarchived custom field); a
    single-valued field is fed by one column; something identifies a row. Raises
    ValidationFailed with one error per bad entry, at ["mapping", index, "column"|"field"]."""
    if not mapping:
        raise DomainError("Map at least one column.", field="mapping", code="REQUIRED")
    if len(mapping) > MAX_MAPPING:
        raise DomainError(f"At most {MAX_MAPPING} mapped columns.", field="mapping",
                          code="OUT_OF_RANGE")
    errors: list[DomainError] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(mapping):
        where = ["mapping", str(index)]
        if not entry.column.strip():
            errors.append(DomainError("Name the column.", field=[*where, "column"],
                                      code="REQUIRED"))
        name = entry.field.strip()
        if name.startswith(CUSTOM_PREFIX):
            key = name[len(CUSTOM_PREFIX):]
            if key not in custom:
                errors.append(DomainError(f"Unknown custom field '{key}'.",
                                          field=[*where, "field"], code="NOT_FOUND"))
        elif name not in SCALAR_FIELDS and name not in LIST_FIELDS and name != FULL_NAME:
            errors.append(DomainError(
                f"Unknown field '{name}'. Use one of: {', '.join(known_fields())}.",
                field=[*where, "field"], code="INVALID"))
        if name not in LIST_FIELDS:
            if name in seen:
                errors.append(DomainError(
                    f"'{name}' is mapped twice (entries {seen[name]} and {index}).",
                    field=[*where, "field"], code="DUPLICATE"))
            seen.setdefault(name, index)
    if not errors and not any(e.field.strip() in IDENTITY_FIELDS for e in mapping):
        errors.append(DomainError("Map a name, email or profile URL column so that rows can be "
                                  "told apart.", field="mapping", code="REQUIRED"))
    if errors:
        raise ValidationFailed(errors)


def check_options(options: ImportOptions) -> ImportOptions:
    tags = tuple(dict.fromkeys(rules.check_tag(t) for t in options.default_tags))
    if len(tags) > rules.MAX_TAGS:
        raise DomainError(f"At most {rules.MAX_TAGS} tags.", field=["options", "defaultTags"],
                          code="OUT_OF_RANGE")
    source = (options.default_source or "").strip() or None
    if source and len(source) > _MAX_LENGTH["source"]:
        raise DomainError(f"At most {_MAX_LENGTH['source']} characters.",
                          field=["options", "defaultSource"], code="OUT_OF_RANGE")
    name = (options.file_name or "").strip()[:200] or None
    return ImportOptions(skip_duplicates=options.skip_duplicates, default_tags=tags,
                         default_source=source, owner_id=options.owner_id, file_name=name)


@dataclass(frozen=True)
class _Column:
    index: int  # position in the row
    name: str  # as in the header
    field: str


@dataclass(frozen=True)
class _Plan:
    """The mapping resolved against a header, with what parsing a row needs."""

    columns: tuple[_Column, ...]
    width: int
    custom: dict[str, tuple[str, list[str]]]  # key -> (type, options)
    options: ImportOptions


def resolve_columns(header: Sequence[str], mapping: Sequence[ColumnMapping]) -> list[int]:
    """The header position of each mapped column, or ValidationFailed naming each missing or
    ambiguous one at ["mapping", index, "column"]."""
    positions: dict[str, list[int]] = defaultdict(list)
    for index, name in enumerate(header):
        positions[name.strip().casefold()].append(index)
    found, errors = [], []
    for index, entry in enumerate(mapping):
        where = ["mapping", str(index), "column"]
        hits = positions.get(entry.column.strip().casefold(), [])
        if len(hits) == 1:
            found.append(hits[0])
        elif hits:
            errors.append(DomainError(f"The file has {len(hits)} columns named "
                                      f"'{entry.column}'; rename them apart.", field=where,
                                      code="DUPLICATE"))
        else:
            names = ", ".join(f"'{h.strip()}'" for h in header[:30])
            errors.append(DomainError(f"The file has no column '{entry.column}' (its columns: "
                                      f"{names}).", field=where, code="NOT_FOUND"))
    if errors:
        raise ValidationFailed(errors)
    return found


def _plan(header: Sequence[str], mapping: Sequence[ColumnMapping],
          custom: dict[str, CustomFieldDefinition], options: ImportOptions) -> _Plan:
    check_mapping(mapping, custom)
    positions = resolve_columns(header, mapping)
    columns = tuple(_Column(p, header[p].strip(), m.field.strip())
                    for p, m in zip(positions, mapping, strict=True))
    wanted = {c.field[len(CUSTOM_PREFIX):] for c in columns if c.field.startswith(CUSTOM_PREFIX)}
    return _Plan(columns=columns, width=len(header),
                 custom={k: (custom[k].type, list(custom[k].options)) for k in wanted},
                 options=options)


# --- one row -> ProspectData, or the reasons it cannot be one (pure) --------------------------

@dataclass
class _Row:
    line: int
    error: str | None = None
    data: ProspectData | None = None
    checked: Checked | None = None
    custom: dict[str, Any] = field(default_factory=dict)


def _cell(raw: str) -> str:
    """Trimmed, without the apostrophe export puts before a formula-like value."""
    value = raw.strip()
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@":
        return value[1:]
    return value


def _custom_value(kind: str, options: list[str], raw: str) -> Any:
    """A CSV cell as the JSON value check_custom_value expects for the field's type."""
    if kind == "number":
        for convert in (int, float):
            try:
                number = convert(raw)
            except ValueError:
                continue
            if number == number and number not in (float("inf"), float("-inf")):
                return number
        return raw  # check_custom_value says "Expected a number."
    if kind == "single_select":
        return next((o for o in options if o.casefold() == raw.casefold()), raw)
    if kind == "multi_select":
        by_fold = {o.casefold(): o for o in options}
        return [by_fold.get(v.strip().casefold(), v.strip()) for v in raw.split(";") if v.strip()]
    return raw


def parse_row(plan: _Plan, values: Sequence[str], line: int) -> _Row:
    """What one record says about a prospect, checked as save_prospect checks it; every
    problem of the row is reported, each naming its column."""
    row = _Row(line=line)
    if len(values) < plan.width or any(v.strip() for v in values[plan.width:]):
        row.error = (f"The row has {len(values)} values but the header has {plan.width} "
                     f"columns (a missing or extra separator?).")
        return row
    data = ProspectData()
    options = plan.options
    problems: list[str] = []
    full_name: tuple[str, str] | None = None  # (label, value)
    for column in plan.columns:
        value = _cell(values[column.index])
        if not value:
            continue
        name, label = column.field, f"Column '{column.name}'"
        try:
            if name in SCALAR_FIELDS:
                attr = SCALAR_FIELDS[name]
                limit = _MAX_LENGTH[attr]
                if len(value) > limit:
                    raise DomainError(f"at most {limit} characters (this one has {len(value)}).")
                setattr(data, attr, value)
            elif name == FULL_NAME:
                full_name = (label, value)
            elif name == "email":
                for part in _SPLIT_EMAILS.split(value):
                    if part:
                        try:
                            data.emails.append(rules.normalise_email(part, field="emails"))
                        except DomainError as exc:
                            raise DomainError(f"'{part}' is not a valid email address.") from exc
            elif name == "profileUrl":
                for part in _SPLIT_URLS.split(value):
                    if part:
                        try:
                            rules.normalise_profile_url(part)
                        except DomainError as exc:
                            raise DomainError(f"'{part}' is not a valid http(s) URL.") from exc
                        data.profile_urls.append(part)
            elif name == "tags":
                for part in _SPLIT_TAGS.split(value):
                    if part.strip():
                        data.tags.append(rules.check_tag(part))
            else:
                key = name[len(CUSTOM_PREFIX):]
                kind, choices = plan.custom[key]
                row.custom[key] = rules.check_custom_value(
                    kind, choices, _custom_value(kind, choices, value), key)
        except DomainError as exc:
            problems.append(f"{label}: {exc.message[0].lower() + exc.message[1:]}")
    if full_name is not None and not data.first_name and not data.last_name:
        label, value = full_name
        first, _, last = value.partition(" ")
        data.first_name, data.last_name = first, last.strip() or None
        for part, attr in ((first, "first_name"), (last.strip(), "last_name")):
            if len(part) > _MAX_LENGTH[attr]:
                problems.append(f"{label}: the {attr.replace('_', ' ')} is over "
                                f"{_MAX_LENGTH[attr]} characters.")
    if problems:
        row.error = " ".join(problems)
        return row
    data.tags.extend(options.default_tags)
    data.source = data.source or options.default_source
    data.owner_id = options.owner_id
    data.custom_fields = row.custom
    if not data.emails and not data.profile_urls and not (data.first_name or "").strip():
        row.error = "The row has no name, email or profile URL."
        return row
    try:
        row.checked = service.check_data(data)
    except DomainError as exc:
        columns = [c.name for c in plan.columns if _field_of(c.field) in exc.field]
        where = f"Column '{columns[0]}': " if len(columns) == 1 else ""
        row.error = where + exc.message
        return row
    row.data = data
    return row


def _field_of(name: str) -> str:
    """The ProspectData field (camelCase, as DomainError.field names it) a mapped field feeds."""
    return {"email": "emails", "profileUrl": "profileUrls"}.get(name, name)


# --- reading the file: decoded lines with their byte offsets -----------------------------------

class _Lines:
    """The file's physical lines from an offset, decoded as UTF-8 one by one.

    UTF-8 never has a newline byte inside a character, so splitting bytes at b"\\n" first
    is exact; it gives each record's byte offset (for progress and resuming) and the line of
    any byte that is not UTF-8. A bad line becomes text with replacement characters for the
    CSV reader and a note in `bad`, so the record holding it turns into an error row.
    """

    def __init__(self, file: IO[bytes], offset: int = 0, line: int = 0) -> None:
        self.file = file
        file.seek(offset)
        self.pos = offset
        self.line = line
        self.bad: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self.file.readline(MAX_LINE_BYTES)
        if not raw:
            raise StopIteration
        if self.pos == 0 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
            self.pos += len(_BOM)
        self.pos += len(raw)
        self.line += 1
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:  # skip the rest of the line without holding it
                more = self.file.readline(MAX_LINE_BYTES)
                self.pos += len(more)
                if not more or more.endswith(b"\n"):
                    break
            self.bad.append(f"Line {self.line} is longer than {MAX_LINE_BYTES:,} bytes.")
            return "\n"
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.bad.append(f"Line {self.line} is not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                            f"at position {exc.start + 1}); save the file as CSV UTF-8.")
            return raw.decode("utf-8", "replace")


def _read_header(lines: _Lines) -> list[str]:
    try:
        header = next(csv.reader(lines))
    except StopIteration:
        raise DomainError("The file is empty.", field="uploadId", code="REQUIRED") from None
    except csv.Error as exc:
        raise DomainError(f"The header line is not valid CSV: {exc}.", field="uploadId",
                          code="INVALID") from exc
    if lines.bad:
        raise DomainError(lines.bad[0], field="uploadId", code="INVALID")
    if not any(h.strip() for h in header):
        raise DomainError("The first line must name the columns.", field="uploadId",
                          code="REQUIRED")
    return header


def _records(lines: _Lines, plan: _Plan) -> Iterator[_Row]:
    """A _Row per record (its line is the record's first); blank records are passed over."""
    reader = csv.reader(lines)
    while True:
        start = lines.line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            lines.bad.clear()
            upto = f" to {lines.line}" if lines.line > start else ""
            yield _Row(line=start, error=f"Lines {start}{upto} are not valid CSV ({exc}); an "
                                         f"unclosed quote?" if upto else
                       f"Line {start} is not valid CSV ({exc}).")
            continue
        if lines.bad:
            error = " ".join(lines.bad)
            lines.bad.clear()
            yield _Row(line=start, error=error)
            continue
        if not any(v.strip() for v in values):
            continue
        yield parse_row(plan, values, start)


# --- paths -------------------------------------------------------------------------------------

def _tenant_dir(kind: str, tenant_id: UUID) -> Path:
    return settings().data_dir / kind / str(tenant_id)


def _upload_path(tenant_id: UUID, upload_id: UUID) -> Path:
    return _tenant_dir("uploads", tenant_id) / f"{upload_id}.csv"


def _resolve(relative: str) -> Path:
    return settings().data_dir / relative


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# --- step 1: the upload ------------------------------------------------------------------------

class UploadTooLarge(DomainError):
    code = "OUT_OF_RANGE"


@dataclass(frozen=True)
class Upload:
    id: UUID
    size: int


async def store_upload(scope: Scope, chunks: AsyncIterable[bytes], *,
                       declared_size: int | None = None,
                       max_bytes: int | None = None) -> Upload:
    """Stream a CSV file to the tenant's upload folder. It becomes usable (renamed from .part)
    only complete, within max_bytes, and valid UTF-8; otherwise nothing is kept."""
    scope.require("prospects:write")
    limit = MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    too_large = UploadTooLarge(f"The file is over the {limit // (1024 * 1024) or limit} "
                               f"{'MB' if limit >= 1024 * 1024 else 'bytes'} limit; split it.",
                               field="file")
    if declared_size is not None and declared_size > limit:
        raise too_large
    upload_id = uuid.uuid4()
    final = _upload_path(scope.tenant_id, upload_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_suffix(".part")
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    size = newlines = 0
    try:
        with partial.open("wb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = newlines + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
                    raise DomainError(
                        f"The file is not UTF-8 text (line {line} has a byte that is not "
                        f"valid UTF-8); save it as CSV UTF-8 and upload it again.",
                        field="file", code="INVALID") from exc
                size += len(chunk)
                if size > limit:
                    raise too_large
                newlines += chunk.count(b"\n")
                out.write(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise DomainError("The file ends in the middle of a UTF-8 character.",
                                  field="file", code="INVALID") from exc
        if size == 0:
            raise DomainError("The file is empty.", field="file", code="REQUIRED")
        partial.rename(final)
    except BaseException:
        _remove(partial)
        raise
    return Upload(id=upload_id, size=size)


# --- step 2: start -----------------------------------------------------------------------------

async def _custom_definitions(scope: Scope) -> dict[str, CustomFieldDefinition]:
    return {d.key: d for d in await CustomFieldDefinition.filter(tenant_id=scope.tenant_id,
                                                                 archived_at=None)}


def _actor(scope: Scope) -> dict[str, Any]:
    """Who the run acts as: the starter's identity and permissions at start."""
    return {"userId": str(scope.user_id) if scope.user_id else None,
            "apiKeyId": str(scope.api_key_id) if scope.api_key_id else None,
            "role": scope.role, "permissions": sorted(scope.permissions)}


def _scope_of(tenant_id: UUID, actor: dict[str, Any]) -> Scope:
    return Scope(tenant_id=tenant_id, permissions=frozenset(actor.get("permissions") or ()),
                 user_id=UUID(actor["userId"]) if actor.get("userId") else None,
                 role=actor.get("role"),
                 api_key_id=UUID(actor["apiKeyId"]) if actor.get("apiKeyId") else None)


def _options_json(options: ImportOptions) -> dict[str, Any]:
    return {"skipDuplicates": options.skip_duplicates, "defaultTags": list(options.default_tags),
            "defaultSource": options.default_source,
            "ownerId": str(options.owner_id) if options.owner_id else None,
            "fileName": options.file_name}


def options_of(imp: ProspectImport) -> ImportOptions:
    raw = imp.options or {}
    return ImportOptions(skip_duplicates=bool(raw.get("skipDuplicates")),
                         default_tags=tuple(raw.get("defaultTags") or ()),
                         default_source=raw.get("defaultSource"),
                         owner_id=UUID(raw["ownerId"]) if raw.get("ownerId") else None,
                         file_name=raw.get("fileName"))


def mapping_of(imp: ProspectImport) -> list[ColumnMapping]:
    return [ColumnMapping(column=m["column"], field=m["field"]) for m in imp.mapping or []]


async def start_import(scope: Scope, *, upload_id: UUID, mapping: Sequence[ColumnMapping],
                       options: ImportOptions) -> ProspectImport:
    """Check everything that can be checked before a row is read — the mapping, the options,
    the header — and queue the import. Nothing is written when any of it is wrong."""
    scope.require("prospects:write")
    options = check_options(options)
    source = _upload_path(scope.tenant_id, upload_id)
    async with db.tenant_tx(scope):
        if options.owner_id is not None and not await tenancy.users_by_ids(
                scope, [options.owner_id]):
            raise NotFound("No such member.", field=["options", "ownerId"])
        custom = await _custom_definitions(scope)
        check_mapping(mapping, custom)
        try:
            with source.open("rb") as file:
                header = _read_header(_Lines(file))
        except FileNotFoundError:
            raise NotFound("No such upload (each upload is imported once).",
                           field="uploadId") from None
        _plan(header, mapping, custom, options)
        now = clock.now()
        imp = ProspectImport(
            tenant_id=scope.tenant_id, created_by_id=scope.user_id, status=QUEUED,
            mapping=[{"column": m.column.strip(), "field": m.field.strip()} for m in mapping],
            options={**_options_json(options), "actor": _actor(scope), "runs": 0},
            total_bytes=source.stat().st_size, created_at=now, file_path="")
        target = _tenant_dir("imports", scope.tenant_id) / f"{imp.id}.csv"
        imp.file_path = str(target.relative_to(settings().data_dir))
        await imp.save()
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Claims the upload: a second start with the same id finds nothing. Last, so that
            # a failure before it leaves the upload where it was.
            source.rename(target)
        except FileNotFoundError:
            raise NotFound("No such upload (each upload is imported once).",
                           field="uploadId") from None
        db.on_commit(lambda: _enqueue(imp.tenant_id, imp.id))
    return imp


async def _enqueue(tenant_id: UUID, import_id: UUID, suffix: str = "") -> None:
    try:
        await jobs.enqueue("run_prospect_import", str(tenant_id), str(import_id),
                           job_id=f"import:{import_id}{suffix}")
    except Exception:  # the sweep queues it later
        log.exception("could not queue import %s", import_id)


# --- reading imports ---------------------------------------------------------------------------

async def imports_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, ProspectImport]:
    if not scope.can("prospects:read"):
        return {}
    async with db.tenant_tx(scope):
        rows = await ProspectImport.filter(tenant_id=scope.tenant_id, id__in=list(ids))
    return {r.id: r for r in rows}


async def list_imports(scope: Scope, page: PageArgs) -> Page[ProspectImport]:
    """Newest first."""
    scope.require("prospects:read")
    async with db.tenant_tx(scope):
        return await paginate(ProspectImport.filter(tenant_id=scope.tenant_id), page,
                              settings().max_page_size, newest_first=True)


async def list_import_rows(scope: Scope, *, import_id: UUID, page: PageArgs,
                           outcome: str | None = None) -> Page[ProspectImportRow]:
    """Results in line order; `page.after` is a row id (forward pages only)."""
    scope.require("prospects:read")
    size = check_page_args(PageArgs(first=page.first), settings().max_page_size)
    async with db.tenant_tx(scope):
        qs = ProspectImportRow.filter(tenant_id=scope.tenant_id, import_id=import_id)
        if outcome is not None:
            qs = qs.filter(outcome=outcome)
        if page.after is not None:
            after = await ProspectImportRow.filter(
                tenant_id=scope.tenant_id, import_id=import_id, id=page.after
            ).values_list("line", flat=True)
            qs = qs.filter(line__gt=after[0] if after else 2 ** 31 - 1)
        rows = list(await qs.order_by("line").limit(size + 1))
    return Page(rows[:size], has_next_page=len(rows) > size,
                has_previous_page=page.after is not None)


async def cancel_import(scope: Scope, *, import_id: UUID) -> ProspectImport:
    """A queued import never starts; a running one stops after the batch in progress (what
    was imported stays). The file is deleted."""
    scope.require("prospects:write")
    async with db.tenant_tx(scope):
        imp = await _locked(scope.tenant_id, import_id)
        if imp is None:
            raise NotFound("No such import.", field="importId")
        if imp.status in TERMINAL:
            raise DomainError(f"The import has {imp.status} already.", field="importId",
                              code="INVALID")
        imp.status, imp.finished_at = CANCELLED, clock.now()
        await imp.save(update_fields=["status", "finished_at"])
    _remove(_resolve(imp.file_path))
    return imp


async def _locked(tenant_id: UUID | str, import_id: UUID | str) -> ProspectImport | None:
    query = ProspectImport.filter(tenant_id=tenant_id, id=import_id)
    if db.dialect() == "postgres":
        query = query.select_for_update()
    return await query.first()


# --- step 3: the run ---------------------------------------------------------------------------

class ImportInterrupted(Exception):
    """The run failed and the import went back to the queue; the job should retry later."""


class _Stop(Exception):
    """The import cannot go on (e.g. its file is gone): it fails with this message."""


@dataclass
class _Run:
    scope: Scope
    imp: ProspectImport
    expected_line: int  # resume_line as this run last left it


async def run_import(*, tenant_id: str, import_id: str, batch_size: int = BATCH_SIZE,
                     time_budget: float | None = None) -> str:
    """Run or resume an import. Returns the status it leaves the import in, or 'skipped'
    when there is nothing to do (finished, or another live run owns it). With a time budget
    (seconds) a run that is not done by then queues the rest as a new job and returns
    'queued' (so no single job outlives a worker's job timeout). Raises ImportInterrupted
    after an unexpected error once the import is queued again."""
    run = await _claim(tenant_id, import_id)
    if run is None:
        return "skipped"
    deadline = None if time_budget is None else time.monotonic() + time_budget
    try:
        return await _process(run, batch_size, deadline)
    except _Stop as exc:
        return await _finish(run, FAILED, str(exc))
    except Exception as exc:
        log.exception("import %s failed at line %d", import_id, run.expected_line + 1)
        return await _interrupted(run, exc)


async def _claim(tenant_id: str, import_id: str) -> _Run | None:
    """The import, now running for this run; None when it is finished, or a live run (fresh
    heartbeat) has it, or it ran out of attempts (then it fails here)."""
    now = clock.now()
    async with db.system_tenant_tx(tenant_id):
        imp = await _locked(tenant_id, import_id)
        if imp is None or imp.status in TERMINAL:
            return None
        if imp.status == RUNNING and imp.heartbeat_at is not None and \
                imp.heartbeat_at > now - timedelta(seconds=STALE_SECONDS):
            return None
        runs = int((imp.options or {}).get("runs", 0)) + 1
        if runs > MAX_RUNS:
            imp.status, imp.finished_at = FAILED, now
            imp.error_message = (f"Gave up after {MAX_RUNS} attempts; the import stopped at "
                                 f"line {imp.resume_line + 1}.")
            await imp.save(update_fields=["status", "finished_at", "error_message"])
        else:
            imp.options = {**(imp.options or {}), "runs": runs}
            imp.status, imp.heartbeat_at = RUNNING, now
            imp.started_at = imp.started_at or now
            await imp.save(update_fields=["options", "status", "heartbeat_at", "started_at"])
    if imp.status == FAILED:
        _remove(_resolve(imp.file_path))
        return None
    return _Run(scope=_scope_of(imp.tenant_id, (imp.options or {}).get("actor") or {}), imp=imp,
                expected_line=imp.resume_line)


async def _check_actor(run: _Run, options: ImportOptions) -> None:
    scope = run.scope
    if scope.user_id is not None and not await tenancy.users_by_ids(scope, [scope.user_id]):
        raise _Stop("The member who started the import has left the tenant.")
    if scope.api_key_id is not None:
        # Keys are admin-only reading; the check acts as the tenant's system.
        system = Scope(tenant_id=scope.tenant_id, permissions=tenancy_rules.ROLE_PERMISSIONS[
            "admin"], role="admin")
        keys = await tenancy.api_keys_by_ids(system, [scope.api_key_id])
        key = keys.get(scope.api_key_id)
        if key is None or key.revoked_at is not None:
            raise _Stop("The API key that started the import has been revoked.")
    if options.owner_id is not None and not await tenancy.users_by_ids(scope, [options.owner_id]):
        raise _Stop("The owner chosen for the new prospects has left the tenant.")


async def _process(run: _Run, batch_size: int, deadline: float | None) -> str:
    imp, scope = run.imp, run.scope
    options = options_of(imp)
    await _check_actor(run, options)
    async with db.tenant_tx(scope):
        custom = await _custom_definitions(scope)
    path = _resolve(imp.file_path)
    try:
        file = path.open("rb")
    except FileNotFoundError:
        raise _Stop("The uploaded file is gone; upload it again.") from None
    with file:
        lines = _Lines(file)
        try:
            plan = _plan(_read_header(lines), mapping_of(imp), custom, options)
        except DomainError as exc:
            raise _Stop(f"The file or its mapping changed since the start: {exc.message}") \
                from exc
        if imp.processed_bytes > lines.pos:
            lines = _Lines(file, imp.processed_bytes, imp.resume_line)
        # Reading and checking the next batch overlaps writing this one: the parser runs
        # in slices while the database works. At most two batches are held at a time.
        ready: asyncio.Queue[_Batch | BaseException] = asyncio.Queue(maxsize=1)
        reader = asyncio.create_task(_read_batches(lines, plan, batch_size, ready))
        try:
            while True:
                batch = await ready.get()
                if isinstance(batch, BaseException):
                    raise batch
                if not await _write_batch(run, plan, batch.rows, batch.pos, batch.line,
                                          batch.last):
                    return "skipped"
                if batch.last:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    return await _hand_off(run)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    _remove(path)
    return run.imp.status


@dataclass
class _Batch:
    rows: list[_Row]
    pos: int  # byte offset after its last record
    line: int  # line number of its last line
    last: bool  # nothing follows


async def _read_batches(lines: _Lines, plan: _Plan, batch_size: int,
                        ready: asyncio.Queue[_Batch | BaseException]) -> None:
    try:
        records = _records(lines, plan)
        while True:
            rows: list[_Row] = []
            for row in records:
                rows.append(row)
                if len(rows) >= batch_size:
                    break
                if len(rows) % 50 == 0:
                    await asyncio.sleep(0)  # a slice: let the writer's replies in
            else:
                await ready.put(_Batch(rows, lines.pos, lines.line, last=True))
                return
            await ready.put(_Batch(rows, lines.pos, lines.line, last=False))
    except Exception as exc:
        await ready.put(exc)


async def _write_batch(run: _Run, plan: _Plan, batch: list[_Row], pos: int, line: int,
                       last: bool) -> bool:
    """Write one batch and move the import past it, in one transaction. False when the
    import is no longer this run's to write (cancelled, or another run moved it)."""
    for attempt in range(3):
        try:
            return await _write_batch_once(run, plan, batch, pos, line, last)
        except IntegrityError:
            # Someone else added one of these emails or URLs between our lookup and insert:
            # the batch rolled back; looking again finds theirs and merges into it.
            if attempt == 2:
                raise
            log.info("import %s: batch at line %d raced, retrying", run.imp.id,
                     batch[0].line if batch else line)
    return False


async def _write_batch_once(run: _Run, plan: _Plan, batch: list[_Row], pos: int, line: int,
                            last: bool) -> bool:
    scope = run.scope
    async with db.tenant_tx(scope) as conn:
        if db.dialect() == "postgres" and not last:
            # Losing the last few commits in a crash is harmless here: each batch commits
            # its rows with the resume point, so a lost commit is a batch the rerun does
            # again; not waiting for the WAL flush saves a disk sync per batch. The final
            # batch (after which the file is deleted) is durable as usual.
            await conn.execute_query("SET LOCAL synchronous_commit TO off")
        if db.dialect() == "postgres":
            # The lookups run once per batch while the tables grow from nothing: a cached
            # generic plan made on an empty table would scan them all, every batch.
            await conn.execute_query("SET LOCAL plan_cache_mode TO force_custom_plan")
        imp = await _locked(scope.tenant_id, run.imp.id)
        if imp is None or imp.status != RUNNING or imp.resume_line != run.expected_line:
            return False
        inserts = _Inserts()
        results = await _apply(scope, conn, imp, plan, [r for r in batch if r.error is None],
                               inserts)
        counts: dict[str, int] = defaultdict(int)
        tenant, import_id = str(scope.tenant_id), str(imp.id)
        for row in batch:
            outcome, prospect_id, message = results.get(row.line, (ERROR, None, row.error or ""))
            counts[outcome] += 1
            inserts.add(ProspectImportRow, _ROW_COLUMNS, (
                str(uuid7()), tenant, import_id, row.line, outcome, _text(prospect_id),
                message))
        await inserts.write(conn)
        now = clock.now()
        imp.processed_rows += len(batch)
        imp.created_count += counts[CREATED]
        imp.merged_count += counts[MERGED]
        imp.skipped_count += counts[SKIPPED]
        imp.error_count += counts[ERROR]
        imp.resume_line, imp.processed_bytes, imp.heartbeat_at = line, pos, now
        if last:
            imp.status, imp.finished_at = COMPLETED, now
            imp.processed_bytes = max(pos, imp.total_bytes)
        update = ["processed_rows", "created_count", "merged_count", "skipped_count",
                  "error_count", "resume_line", "processed_bytes", "heartbeat_at", "status",
                  "finished_at"]
        if (imp.options or {}).get("runs") != 1:
            # Progress: attempts count again from this run (MAX_RUNS is per stuck line).
            imp.options = {**(imp.options or {}), "runs": 1}
            update.append("options")
        await imp.save(update_fields=update)
        if _batch_hook is not None:
            await _batch_hook(batch[0].line if batch else line)
    run.imp, run.expected_line = imp, line
    return True


async def _hand_off(run: _Run) -> str:
    """Out of time: back to the queue where this run stopped, as a new job."""
    async with db.tenant_tx(run.scope):
        imp = await _locked(run.scope.tenant_id, run.imp.id)
        if imp is None or imp.status != RUNNING or imp.resume_line != run.expected_line:
            return "skipped"
        imp.status, imp.options = QUEUED, {**(imp.options or {}), "runs": 0}
        await imp.save(update_fields=["status", "options"])
        db.on_commit(lambda: _enqueue(imp.tenant_id, imp.id, f":from:{imp.resume_line}"))
    return QUEUED


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> list[list[Any]]:
    return [list(values[i:i + size]) for i in range(0, len(values), size)]


async def _lookup(conn: Any, model: type[Model], column: str, values: Sequence[Any],
                  select: tuple[str, ...], tenant_id: UUID, **equal: Any
                  ) -> list[tuple[Any, ...]]:
    """`select` of the tenant's rows whose `column` is one of `values` (and whose other
    columns equal `equal`)."""
    found: list[tuple[Any, ...]] = []
    if db.dialect() != "postgres":
        for chunk in _chunks(values):
            found.extend(await model.filter(tenant_id=tenant_id, **{f"{column}__in": chunk},
                                            **equal).values_list(*select))
        return found
    # One array parameter instead of an IN list of 500: several times cheaper to plan and send.
    fields_map = model._meta.fields_map
    kind = _PG_TYPES[type(fields_map[column]).__name__]
    names = ", ".join(f'"{c}"' for c in select)
    extra = "".join(f' AND "{k}" = ${i}' for i, k in enumerate(equal, 3))
    sql = (f'SELECT {names} FROM "{model._meta.db_table}" '  # noqa: S608
           f'WHERE "tenant_id" = $1 AND "{column}" = ANY($2::{kind}[]){extra}')
    for chunk in _chunks(values):
        _, rows = await conn.execute_query(sql, [str(tenant_id), [
            fields_map[column].to_db_value(v, model) for v in chunk], *equal.values()])
        found.extend(tuple(r[c] for c in select) for r in rows)
    return found


@dataclass(slots=True)
class _New:
    """A prospect this batch creates (rows of the file may still merge into it)."""

    id: UUID
    line: int
    first_name: str
    last_name: str
    title: str
    company: str
    location: str
    source: str
    time_zone: str | None
    phone: str | None
    owner_id: UUID | None
    custom_fields: dict[str, Any]


class _Inserts:
    """The batch's new rows as plain tuples of database values, written with one
    executemany per table: building tortoise instances cost more than the inserts
    themselves. Columns are the models' own fields; values are what the fields'
    to_db_value gives (UUIDs as text, JSON encoded, aware datetimes)."""

    ORDER = ("Prospect", "ProspectEmail", "ProspectProfile", "ProspectTag", "Activity",
             "ProspectImportRow")  # referenced tables first

    def __init__(self) -> None:
        self.tables: dict[type[Model], tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {}

    def add(self, model: type[Model], columns: tuple[str, ...], row: tuple[Any, ...]) -> None:
        self.tables.setdefault(model, (columns, []))[1].append(row)

    async def write(self, conn: Any) -> None:
        postgres = db.dialect() == "postgres"
        for model, (columns, rows) in sorted(self.tables.items(),
                                             key=lambda t: self.ORDER.index(t[0].__name__)):
            fields = [model._meta.fields_map[c] for c in columns]
            names = ", ".join(f'"{f.source_field or c}"' for f, c in zip(fields, columns,
                                                                          strict=True))
            # Table and column names come from the models; values are bound parameters.
            insert = f'INSERT INTO "{model._meta.db_table}" ({names}) '
            if postgres:
                # One statement per table: a parameter per column holding the whole column,
                # several times faster than executemany's statement per row.
                arrays = ", ".join(f"${i}::{_PG_TYPES[type(f).__name__]}[]"
                                   for i, f in enumerate(fields, 1))
                sql = f"{insert}SELECT * FROM unnest({arrays})"  # noqa: S608
                for chunk in _chunks(rows, 5000):
                    await conn.execute_query(sql, [list(c) for c in zip(*chunk, strict=True)])
            else:
                marks = ", ".join("?" for _ in columns)
                for chunk in _chunks(rows, 1000):
                    await conn.execute_many(f"{insert}VALUES ({marks})", chunk)


_PG_TYPES = {"UUIDField": "uuid", "CharField": "text", "TextField": "text",
             "BooleanField": "bool", "DatetimeField": "timestamptz", "IntField": "int4",
             "BigIntField": "int8", "JSONField": "jsonb"}


_json = Prospect._meta.fields_map["custom_fields"].to_db_value
_PROSPECT_COLUMNS = ("id", "tenant_id", "first_name", "last_name", "title", "company",
                     "location", "time_zone", "phone", "source", "owner_id", "custom_fields",
                     "created_by_id", "created_at", "updated_at", "last_activity_at",
                     "search_text")
_EMAIL_COLUMNS = ("id", "tenant_id", "prospect_id", "email", "is_primary", "created_at")
_PROFILE_COLUMNS = ("id", "tenant_id", "prospect_id", "kind", "url", "created_at")
_TAG_COLUMNS = ("id", "tenant_id", "prospect_id", "tag")
_ACTIVITY_COLUMNS = ("id", "tenant_id", "prospect_id", "kind", "actor_user_id", "occurred_at",
                     "payload", "event_id")
_ROW_COLUMNS = ("id", "tenant_id", "import_id", "line", "outcome", "prospect_id", "message")


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


async def _apply(scope: Scope, conn: Any, imp: ProspectImport, plan: _Plan, rows: list[_Row],
                 inserts: _Inserts) -> dict[int, tuple[str, UUID | None, str]]:
    """Create or merge the prospects of the valid rows, as save_prospect would one by one
    (new rows go to `inserts`, merged prospects are updated here); returns line ->
    (outcome, prospect id, message)."""
    tid = scope.tenant_id
    emails = list({e for r in rows if r.checked for e in r.checked.emails})
    urls = list({u for r in rows if r.checked for _, u in r.checked.profiles})
    owner: dict[tuple[str, str], UUID] = {}  # ("e", email) / ("u", url) -> prospect id
    for email, pid in await _lookup(conn, ProspectEmail, "email", emails,
                                    ("email", "prospect_id"), tid):
        owner["e", email] = pid
    for url, pid in await _lookup(conn, ProspectProfile, "url", urls, ("url", "prospect_id"),
                                  tid):
        owner["u", url] = pid
    existing: dict[UUID, Prospect] = {}
    matched = sorted(set(owner.values()))
    for chunk in _chunks(matched):
        query = Prospect.filter(tenant_id=tid, id__in=chunk)
        if db.dialect() == "postgres":
            query = query.select_for_update()
        existing.update({p.id: p for p in await query})
    tags: dict[UUID, set[str]] = defaultdict(set)
    for pid, tag in await _lookup(conn, ProspectTag, "prospect_id", matched,
                                  ("prospect_id", "tag"), tid):
        tags[pid].add(tag)
    has_primary = {pid for pid, in await _lookup(conn, ProspectEmail, "prospect_id", matched,
                                                 ("prospect_id",), tid, is_primary=True)}

    now = clock.now()
    tenant = str(tid)
    created: dict[UUID, _New] = {}
    changed: dict[UUID, set[str]] = defaultdict(set)  # existing prospect -> fields changed
    results: dict[int, tuple[str, UUID | None, str]] = {}

    def attach(pid: UUID, checked: Checked) -> None:
        for email in checked.emails:
            if ("e", email) not in owner:
                inserts.add(ProspectEmail, _EMAIL_COLUMNS, (
                    str(uuid7()), tenant, str(pid), email, pid not in has_primary, now))
                has_primary.add(pid)
                owner["e", email] = pid
        for kind, url in checked.profiles:
            if ("u", url) not in owner:
                inserts.add(ProspectProfile, _PROFILE_COLUMNS, (
                    str(uuid7()), tenant, str(pid), kind, url, now))
                owner["u", url] = pid
        for tag in checked.tags:
            if tag not in tags[pid]:
                inserts.add(ProspectTag, _TAG_COLUMNS, (str(uuid7()), tenant, str(pid), tag))
                tags[pid].add(tag)

    for row in rows:
        data, checked = row.data, row.checked
        assert data is not None and checked is not None
        keys = [("e", e) for e in checked.emails] + [("u", u) for _, u in checked.profiles]
        hits = {owner[k]: k for k in reversed(keys) if k in owner}
        if hits:
            # As save_prospect: the oldest match (existing ones, then this file's in order).
            pid = min(hits, key=lambda p: (1, created[p].line, p) if p in created
                      else (0, 0, p))
            kind, value = hits[pid]
            why = f"the same {'email' if kind == 'e' else 'profile URL'} {value}"
            where = f"the prospect of line {created[pid].line}" if pid in created else \
                "an existing prospect"
            if plan.options.skip_duplicates:
                results[row.line] = (SKIPPED, pid, f"Skipped: {where} has {why}.")
                continue
            target: _New | Prospect = created.get(pid) or existing[pid]
            for name in SCALARS:  # fill what the prospect lacks; never overwrite
                value = getattr(data, name)
                if value and not getattr(target, name):
                    setattr(target, name, value.strip())
                    changed[pid].add(name)
            merged_custom = {**row.custom, **(target.custom_fields or {})}
            if merged_custom != (target.custom_fields or {}):
                target.custom_fields = merged_custom
                changed[pid].add("custom_fields")
            if target.owner_id is None and data.owner_id is not None:
                target.owner_id = data.owner_id
                changed[pid].add("owner_id")
            changed[pid].add("updated_at")
            if isinstance(target, Prospect):
                target.updated_at = now
            attach(pid, checked)
            results[row.line] = (MERGED, pid, f"Merged into {where}: it has {why}.")
            continue
        new = _New(id=uuid7(), line=row.line, first_name=(data.first_name or "").strip(),
                   last_name=(data.last_name or "").strip(), title=(data.title or "").strip(),
                   company=(data.company or "").strip(),
                   location=(data.location or "").strip(), source=(data.source or "").strip(),
                   time_zone=data.time_zone, phone=data.phone,
                   owner_id=data.owner_id or scope.user_id, custom_fields=row.custom)
        created[new.id] = new
        attach(new.id, checked)
        results[row.line] = (CREATED, new.id, "")

    creator = _text(scope.user_id)
    for new in created.values():
        inserts.add(Prospect, _PROSPECT_COLUMNS, (
            str(new.id), tenant, new.first_name, new.last_name, new.title, new.company,
            new.location, new.time_zone, new.phone, new.source, _text(new.owner_id),
            _json(new.custom_fields, Prospect), creator, now, now, now,
            rules.search_text(new.first_name, new.last_name, new.title, new.company,
                              new.location)))
    updated = [existing[pid] for pid in changed if pid in existing]
    searched = [p for p in updated if changed[p.id] & {"first_name", "last_name", "title",
                                                       "company", "location"}]
    await _refresh_search_text(tid, searched)
    if updated:
        fields = sorted({f for p in updated for f in changed[p.id]}
                        | ({"search_text"} if searched else set()))
        await _update(conn, tid, updated, fields)
    merged_ids = list(dict.fromkeys(pid for outcome, pid, _ in results.values()
                                    if outcome == MERGED and pid in existing))
    if created or merged_ids:
        event = await publish(events.PROSPECTS_IMPORTED, {
            "importId": str(imp.id), "createdIds": [str(p) for p in created],
            "mergedIds": [str(p) for p in merged_ids]}, scope=scope)
        payload = _json({"source": "import", "importId": str(imp.id)}, Activity)
        for pid in created:
            inserts.add(Activity, _ACTIVITY_COLUMNS, (
                str(uuid7()), tenant, str(pid), "created", creator, event.created_at or now,
                payload, str(event.id)))
    return results


async def _update(conn: Any, tenant_id: UUID, prospects: list[Prospect],
                  fields: list[str]) -> None:
    """Save these fields of the merged prospects: one statement per chunk (PostgreSQL) or
    one executemany (SQLite). (tortoise's bulk_update is a CASE with a branch per row,
    quadratic in the batch.)"""
    fields_map = Prospect._meta.fields_map
    if db.dialect() != "postgres":
        sets = ", ".join(f'"{c}" = ?' for c in fields)
        await conn.execute_many(
            f'UPDATE "prospects" SET {sets} WHERE "tenant_id" = ? AND "id" = ?',  # noqa: S608
            [[*(fields_map[c].to_db_value(getattr(p, c), p) for c in fields), str(tenant_id),
              str(p.id)] for p in prospects])
        return
    columns = ["id", *fields]
    arrays = ", ".join(f"${i}::{_PG_TYPES[type(fields_map[c]).__name__]}[]"
                       for i, c in enumerate(columns, 2))
    sets = ", ".join(f'"{c}" = v."{c}"' for c in fields)
    names = ", ".join(f'"{c}"' for c in columns)
    sql = (f'UPDATE "prospects" AS p SET {sets} FROM unnest({arrays}) AS v({names}) '  # noqa: S608
           'WHERE p."tenant_id" = $1 AND p."id" = v."id"')
    for chunk in _chunks(prospects):
        await conn.execute_query(sql, [str(tenant_id), *[
            [fields_map[c].to_db_value(getattr(p, c), p) for p in chunk] for c in columns]])


async def _refresh_search_text(tenant_id: UUID, prospects: list[Prospect]) -> None:
    """As service._refresh_search_text, for many: the scalars and the 20 newest notes."""
    notes: dict[UUID, list[str]] = defaultdict(list)
    for chunk in _chunks([p.id for p in prospects]):
        for pid, body in await Note.filter(tenant_id=tenant_id, prospect_id__in=chunk
                                           ).order_by("-id").values_list("prospect_id", "body"):
            if len(notes[pid]) < 20:
                notes[pid].append(str(body))
    for p in prospects:
        p.search_text = rules.search_text(p.first_name, p.last_name, p.title, p.company,
                                          p.location, *notes[p.id])


async def _finish(run: _Run, status: str, message: str) -> str:
    async with db.tenant_tx(run.scope):
        imp = await _locked(run.scope.tenant_id, run.imp.id)
        if imp is None or imp.status != RUNNING:
            return imp.status if imp else "skipped"
        imp.status, imp.finished_at = status, clock.now()
        imp.error_message = message
        await imp.save(update_fields=["status", "finished_at", "error_message"])
    _remove(_resolve(imp.file_path))
    return status


async def _interrupted(run: _Run, exc: Exception) -> str:
    """After an unexpected error: queued again (the job retries) or, out of runs, failed."""
    runs = int((run.imp.options or {}).get("runs", 1))
    async with db.tenant_tx(run.scope):
        imp = await _locked(run.scope.tenant_id, run.imp.id)
        if imp is None or imp.status != RUNNING:
            return imp.status if imp else "skipped"
        what = f"an unexpected error ({type(exc).__name__})"
        if runs >= MAX_RUNS:
            imp.status, imp.finished_at = FAILED, clock.now()
            imp.error_message = (f"Stopped at line {imp.resume_line + 1} after {runs} "
                                 f"attempts: {what}. Lines before it are imported.")
        else:
            imp.status, imp.heartbeat_at = QUEUED, clock.now()
            imp.error_message = (f"Attempt {runs} stopped at line {imp.resume_line + 1}: "
                                 f"{what}; it will resume there.")
        await imp.save(update_fields=["status", "finished_at", "heartbeat_at",
                                      "error_message"])
    if imp.status == FAILED:
        _remove(_resolve(imp.file_path))
        return FAILED
    raise ImportInterrupted(imp.error_message) from exc


# --- the sweep ---------------------------------------------------------------------------------

def _tenant_dirs(kind: str) -> list[tuple[UUID, Path]]:
    base = settings().data_dir / kind
    found = []
    for path in base.iterdir() if base.is_dir() else []:
        with contextlib.suppress(ValueError):
            found.append((UUID(path.name), path))
    return found


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return path.stat().st_mtime < time.time() - seconds
    except FileNotFoundError:
        return False


async def sweep_imports() -> int:
    """Safety net, per tenant with import files (a failing tenant does not stop the others):
    queue again imports whose run died (running, heartbeat stale) or whose job was lost
    (queued for longer than STALE_SECONDS); delete stale uploads, exports and orphan files.
    Returns how many imports it queued."""
    cutoff = clock.now() - timedelta(seconds=STALE_SECONDS)
    queued = 0
    for tenant_id, folder in _tenant_dirs("imports"):
        try:
            queued += await _sweep_tenant(tenant_id, folder, cutoff)
        except Exception:
            log.exception("import sweep failed for tenant %s", tenant_id)
    for kind, ttl in (("uploads", UPLOAD_TTL_SECONDS), ("exports", EXPORT_TTL_SECONDS)):
        for _, folder in _tenant_dirs(kind):
            for path in folder.iterdir():
                if _older_than(path, ttl):
                    _remove(path)
    return queued


async def _sweep_tenant(tenant_id: UUID, folder: Path, cutoff: datetime) -> int:
    files = {p.stem: p for p in folder.glob("*.csv")}  # noqa: ASYNC240 - a local folder
    if not files:
        return 0
    async with db.system_tenant_tx(str(tenant_id)):
        live = await ProspectImport.filter(tenant_id=tenant_id, status__in=[QUEUED, RUNNING]
                                           ).values_list("id", "status", "heartbeat_at",
                                                         "created_at")
    stale = [iid for iid, _, beat, created in live if (beat or created) < cutoff]
    minute = int(clock.now().timestamp()) // 60
    for import_id in stale:
        # A job id of its own: arq keeps a finished job's id for a while and would drop it.
        await _enqueue(tenant_id, import_id, f":sweep:{minute}")
    known = {str(iid) for iid, *_ in live}
    for stem, path in files.items():
        if stem not in known and _older_than(path, STALE_SECONDS):
            _remove(path)  # its import finished (or never committed)
    return len(stale)


# --- export ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportTicket:
    token: str
    count: int
    expires_at: datetime


def _signature(payload: str) -> str:
    key = hashlib.sha256(("prospect-export:" + settings().secret_key).encode()).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


async def export_prospects(scope: Scope, *, prospect_ids: Sequence[UUID] | None = None,
                           filter: ProspectFilter | None = None) -> ExportTicket:
    """Fix the selection now (ids must all be visible: else NotFound naming the first unknown
    one; a filter may match at most MAX_EXPORT) and sign a download of it."""
    scope.require("prospects:read")
    ids = await search.selected_ids(scope, prospect_ids, filter, limit=MAX_EXPORT)
    export_id = uuid.uuid4()
    path = _tenant_dir("exports", scope.tenant_id) / f"{export_id}.ids"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        out.write(json.dumps(_actor(scope)) + "\n")
        out.writelines(f"{i}\n" for i in ids)
    expires = int(clock.now().timestamp()) + EXPORT_TTL_SECONDS
    payload = f"{scope.tenant_id}.{export_id}.{expires}"
    return ExportTicket(token=f"{payload}.{_signature(payload)}", count=len(ids),
                        expires_at=datetime.fromtimestamp(expires, clock.now().tzinfo))


def open_export(token: str) -> tuple[Scope, Path]:
    """The scope and id file a download token stands for; NotFound when it is forged,
    expired or its file is gone (all alike)."""
    gone = NotFound("No such export, or its link has expired.", field="token")
    payload, _, signature = token.rpartition(".")
    if not hmac.compare_digest(_signature(payload), signature):
        raise gone
    try:
        tenant, export, expires = payload.split(".")
        tenant_id, export_id, until = UUID(tenant), UUID(export), int(expires)
    except ValueError:
        raise gone from None
    path = _tenant_dir("exports", tenant_id) / f"{export_id}.ids"
    if until < clock.now().timestamp() or not path.exists():
        raise gone
    with path.open() as file:
        actor = json.loads(file.readline())
    return _scope_of(tenant_id, actor), path


def _safe(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula (import strips the apostrophe)."""
    text = "" if value is None else str(value)
    if text and (text[0] in "=@\t\r" or (text[0] in "+-" and not _PHONE_LIKE.match(text))):
        return "'" + text
    return text


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_safe(v) for v in values])
    return buffer.getvalue()


EXPORT_COLUMNS = ["id", "firstName", "lastName", "email", "phone", "profileUrl", "title",
                  "company", "location", "timeZone", "source", "tags", "ownerEmail",
                  "createdAt", "updatedAt", "archivedAt", "lastActivityAt"]


async def export_csv(scope: Scope, path: Path,
                     global_id: Callable[[UUID], str] = str) -> AsyncIterator[bytes]:
    """The selection as UTF-8 CSV (with a BOM, for spreadsheets), a page of EXPORT_PAGE
    prospects per transaction. Headers are the import's field names, so a file exported
    here imports back with each column mapped to its own name. Prospects merged away or
    deleted since the export was made are left out."""
    scope.require("prospects:read")
    async with db.tenant_tx(scope):
        definitions = sorted((await _custom_definitions(scope)).values(), key=lambda d: d.key)
    keys = [d.key for d in definitions]
    yield ("\ufeff" + _csv_line(EXPORT_COLUMNS + [CUSTOM_PREFIX + k for k in keys])).encode()
    with path.open() as file:
        file.readline()  # the actor
        while True:
            ids = [UUID(line.strip()) for _, line in zip(range(EXPORT_PAGE), file, strict=False)]
            if not ids:
                return
            yield await _export_page(scope, ids, keys, global_id)


async def _export_page(scope: Scope, ids: list[UUID], keys: list[str],
                       global_id: Callable[[UUID], str]) -> bytes:
    prospects = await service.prospects_by_ids(scope, ids)
    found = [prospects[i] for i in ids if i in prospects]
    pids = [p.id for p in found]
    emails = await service.emails_by_prospect(scope, pids)
    profiles = await service.profiles_by_prospect(scope, pids)
    tags = await service.tags_by_prospect(scope, pids)
    owners = await tenancy.users_by_ids(scope, list({p.owner_id for p in found if p.owner_id}))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for p in found:
        custom = p.custom_fields or {}
        owner = owners.get(p.owner_id) if p.owner_id else None
        writer.writerow([_safe(v) for v in [
            global_id(p.id), p.first_name, p.last_name,
            "; ".join(e.email for e in emails.get(p.id, [])), p.phone,
            "; ".join(u.url for u in profiles.get(p.id, [])), p.title, p.company, p.location,
            p.time_zone, p.source, "; ".join(t.tag for t in tags.get(p.id, [])),
            owner.email if owner else "", _stamp(p.created_at), _stamp(p.updated_at),
            _stamp(p.archived_at), _stamp(p.last_activity_at),
            *[_custom_cell(custom.get(k)) for k in keys]]])
    return buffer.getvalue().encode()


def _custom_cell(value: Any) -> Any:
    return "; ".join(map(str, value)) if isinstance(value, list) else value


def _stamp(value: datetime | None) -> str:
    return value.isoformat() if value else ""

