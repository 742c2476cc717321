"""CSV import and export on a real database: uploads, the mapping and header checks at start,
per-line outcomes, merging, batches that commit whole, resuming after a crash, the sweep, and
the export's content. Jobs are run by the tests (a parked queue) unless a test says otherwise."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.core import clock, db, jobs
from domain.core.clock import FrozenClock, use_clock
from domain.core.errors import DomainError, NotFound, ValidationFailed
from domain.core.scope import Scope
from domain.prospects import imports, service
from domain.prospects.imports import ColumnMapping, ImportOptions
from domain.prospects.models import (
    Activity,
    Prospect,
    ProspectEmail,
    ProspectImport,
    ProspectImportRow,
    ProspectProfile,
)
from domain.prospects.rules import ProspectData
from domain.prospects.search import ProspectFilter
from tests.conftest import World
from workers.queue import InProcessQueue


class ParkedQueue:
    """Accepts jobs and runs none, so that a test runs the import itself, step by step."""

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, tuple[Any, ...], str | None]] = []

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        self.enqueued.append((name, args, job_id))


@pytest.fixture
async def parked(settings: Any) -> AsyncIterator[ParkedQueue]:
    queue = ParkedQueue()
    previous = jobs.install(queue)
    yield queue
    jobs.install(previous)


@pytest.fixture
def hook() -> Iterator[None]:
    yield
    imports._batch_hook = None


class Crash(BaseException):
    """Like the process dying: no except-Exception path in the run sees it."""


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def upload(scope: Scope, content: str | bytes, **kwargs: Any) -> UUID:
    data = content.encode() if isinstance(content, str) else content
    return (await imports.store_upload(scope, chunks(data), **kwargs)).id


def mapping(**columns: str) -> list[ColumnMapping]:
    """field=column pairs, e.g. mapping(email="E-mail"); custom fields as custom__key."""
    return [ColumnMapping(column=c, field=f.replace("__", ".")) for f, c in columns.items()]


async def start(scope: Scope, content: str | bytes, columns: list[ColumnMapping],
                **options: Any) -> ProspectImport:
    upload_id = await upload(scope, content)
    return await imports.start_import(scope, upload_id=upload_id, mapping=columns,
                                      options=ImportOptions(**options))


async def run(imp: ProspectImport, **kwargs: Any) -> str:
    return await imports.run_import(tenant_id=str(imp.tenant_id), import_id=str(imp.id),
                                    **kwargs)


async def reload(scope: Scope, imp: ProspectImport) -> ProspectImport:
    return (await imports.imports_by_ids(scope, [imp.id]))[imp.id]


async def results(scope: Scope, imp: ProspectImport) -> list[tuple[int, str, str]]:
    async with db.tenant_tx(scope):
        rows = await ProspectImportRow.filter(tenant_id=scope.tenant_id, import_id=imp.id
                                              ).order_by("line")
    return [(r.line, r.outcome, r.message) for r in rows]


async def prospects(scope: Scope) -> list[Prospect]:
    async with db.tenant_tx(scope):
        return list(await Prospect.filter(tenant_id=scope.tenant_id).order_by("created_at",
                                                                                "first_name"))


async def emails_of(scope: Scope, prospect_id: UUID) -> list[tuple[str, bool]]:
    rows = (await service.emails_by_prospect(scope, [prospect_id])).get(prospect_id, [])
    return sorted((r.email, r.is_primary) for r in rows)


async def count(scope: Scope, model: Any) -> int:
    async with db.tenant_tx(scope):
        return int(await model.filter(tenant_id=scope.tenant_id).count())


def uploads_dir(scope: Scope) -> Path:
    return imports._tenant_dir("uploads", scope.tenant_id)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


PEOPLE = (
    "First,Last,E-mail,LinkedIn,Company,Tags,Notes\n"
    "Ada,Lovelace,ada@example.com,https://www.linkedin.com/in/Ada/,Analytical,math;engines,x\n"
    "Grace,Hopper,GRACE@Example.com,,Navy,,y\n"
    "Linus,,,github.com/torvalds,,kernel,\n"
)
PEOPLE_MAPPING = mapping(firstName="First", lastName="Last", email="E-mail",
                         profileUrl="LinkedIn", company="Company", tags="Tags")


# --- the happy path ----------------------------------------------------------------------------

async def test_an_import_creates_prospects_with_per_line_results(world: World,
                                                                 parked: ParkedQueue) -> None:
    scope = await world.scope("recruiter")
    imp = await start(scope, PEOPLE, PEOPLE_MAPPING, default_tags=("Imported",),
                      default_source="conference", file_name="people.csv")
    assert imp.status == "queued" and imp.total_bytes == len(PEOPLE.encode())
    assert parked.enqueued == [("run_prospect_import", (str(scope.tenant_id), str(imp.id)),
                                f"import:{imp.id}")]
    assert files_in(uploads_dir(scope)) == []  # the upload was claimed

    assert await run(imp) == "completed"

    done = await reload(scope, imp)
    assert (done.status, done.processed_rows, done.created_count, done.merged_count,
            done.skipped_count, done.error_count) == ("completed", 3, 3, 0, 0, 0)
    assert done.processed_bytes == done.total_bytes and done.finished_at is not None
    assert done.error_message is None
    assert [(line, outcome) for line, outcome, _ in await results(scope, imp)] == [
        (2, "created"), (3, "created"), (4, "created")]
    ada, grace, linus = await prospects(scope)
    assert (ada.first_name, ada.last_name, ada.company, ada.source, ada.owner_id,
            ada.created_by_id) == ("Ada", "Lovelace", "Analytical", "conference", scope.user_id,
                                   scope.user_id)
    assert ada.search_text == "ada lovelace analytical"
    assert await emails_of(scope, ada.id) == [("ada@example.com", True)]
    assert await emails_of(scope, grace.id) == [("grace@example.com", True)]
    profiles = await service.profiles_by_prospect(scope, [ada.id, linus.id])
    assert [(p.kind, p.url) for p in profiles[ada.id]] == [("linkedin",
                                                            "https://linkedin.com/in/ada")]
    assert [(p.kind, p.url) for p in profiles[linus.id]] == [("github",
                                                              "https://github.com/torvalds")]
    tags = await service.tags_by_prospect(scope, [ada.id, grace.id, linus.id])
    assert [t.tag for t in tags[ada.id]] == ["engines", "imported", "math"]
    assert [t.tag for t in tags[grace.id]] == ["imported"]
    assert [t.tag for t in tags[linus.id]] == ["imported", "kernel"]
    async with db.tenant_tx(scope):
        feed = await Activity.filter(tenant_id=scope.tenant_id, kind="created").values_list(
            "prospect_id", "payload")
    assert sorted(pid for pid, _ in feed) == sorted([ada.id, grace.id, linus.id])
    assert all(payload == {"source": "import", "importId": str(imp.id)} for _, payload in feed)
    assert not (settings_dir() / imp.file_path).exists()  # the file goes when it is done
    assert await run(imp) == "skipped"  # a finished import is never run again


def settings_dir() -> Path:
    from domain.core.config import settings

    return settings().data_dir


async def test_the_header_is_matched_trimmed_and_case_insensitively_and_a_bom_is_fine(
        world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    content = "\ufeff Name ;EMAIL\r\nAda Lovelace;ada@example.com\r\n".replace(";", ",")
    imp = await start(scope, content, mapping(fullName="name", email="Email"))
    assert await run(imp) == "completed"
    (ada,) = await prospects(scope)
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")


async def test_a_row_that_matches_an_existing_prospect_is_merged_into_it(
        world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    await service.define_custom_field(scope, key="years", label="Years", kind="number",
                                      options=[])
    await service.define_custom_field(scope, key="level", label="Level", kind="single_select",
                                      options=["Junior", "Senior"])
    existing, _ = await service.save_prospect(scope, ProspectData(
        first_name="Ada", title="Countess", emails=["ada@example.com"],
        custom_fields={"years": 3}))
    imp = await start(scope, "email,first,title,company,tags,years,level\n"
                             "ADA@example.com,Augusta,Mathematician,Analytical,vip,5,senior\n",
                      mapping(email="email", firstName="first", title="title",
                              company="company", tags="tags", custom__years="years",
                              custom__level="level"))
    assert await run(imp) == "completed"
    assert await results(scope, imp) == [
        (2, "merged", "Merged into an existing prospect: it has the same email "
                      "ada@example.com.")]
    (only,) = await prospects(scope)
    assert only.id == existing.id
    # Filled what was missing, overwrote nothing: as save_prospect merges.
    assert (only.first_name, only.title, only.company) == ("Ada", "Countess", "Analytical")
    assert only.custom_fields == {"years": 3, "level": "Senior"}
    assert "analytical" in only.search_text
    assert [t.tag for t in (await service.tags_by_prospect(scope, [only.id]))[only.id]] == [
        "vip"]
    done = await reload(scope, imp)
    assert (done.created_count, done.merged_count) == (0, 1)
    async with db.tenant_tx(scope):  # a merge is no "created" (save_prospect's is parked)
        assert await Activity.filter(tenant_id=scope.tenant_id, kind="created").count() == 0


@pytest.mark.parametrize("batch_size", [500, 2])
async def test_duplicate_rows_within_the_file_merge_into_the_first(
        world: World, parked: ParkedQueue, batch_size: int) -> None:
    scope = await world.scope()
    content = ("name,email,url,title\n"
               "Ada Lovelace,ada@example.com,,\n"
               "Grace Hopper,grace@example.com,,\n"
               "A. Lovelace,ADA@example.com,linkedin.com/in/ada,Countess\n"
               "Ada L,,https://linkedin.com/in/ada/,Ignored\n")
    imp = await start(scope, content, mapping(fullName="name", email="email",
                                              profileUrl="url", title="title"))
    assert await run(imp, batch_size=batch_size) == "completed"
    where = "an existing prospect" if batch_size == 2 else "the prospect of line 2"
    assert await results(scope, imp) == [
        (2, "created", ""), (3, "created", ""),
        (4, "merged", f"Merged into {where}: it has the same email ada@example.com."),
        (5, "merged", "Merged into " + ("an existing prospect" if batch_size == 2 else
                                        "the prospect of line 2")
         + ": it has the same profile URL https://linkedin.com/in/ada.")]
    ada, _grace = await prospects(scope)
    assert (ada.first_name, ada.last_name, ada.title) == ("Ada", "Lovelace", "Countess")
    assert await emails_of(scope, ada.id) == [("ada@example.com", True)]
    assert await count(scope, ProspectProfile) == 1
    async with db.tenant_tx(scope):
        rows = await ProspectImportRow.filter(import_id=imp.id, outcome="merged").values_list(
            "prospect_id", flat=True)
    assert list(rows) == [ada.id, ada.id]
    done = await reload(scope, imp)
    assert (done.created_count, done.merged_count, done.error_count) == (2, 2, 0)


async def test_skip_duplicates_leaves_matching_prospects_alone(world: World,
                                                               parked: ParkedQueue) -> None:
    scope = await world.scope()
    existing, _ = await service.save_prospect(scope, ProspectData(emails=["ada@example.com"],
                                                                  first_name="Ada"))
    imp = await start(scope, "email,company\nada@example.com,Analytical\n"
                             "new@example.com,New\nnew@example.com,Again\n",
                      mapping(email="email", company="company"), skip_duplicates=True)
    assert await run(imp) == "completed"
    assert await results(scope, imp) == [
        (2, "skipped", "Skipped: an existing prospect has the same email ada@example.com."),
        (3, "created", ""),
        (4, "skipped", "Skipped: the prospect of line 3 has the same email new@example.com.")]
    async with db.tenant_tx(scope):
        assert (await Prospect.get(id=existing.id)).company == ""
    assert (await reload(scope, imp)).skipped_count == 2


# --- bad rows ----------------------------------------------------------------------------------

async def test_bad_values_are_error_rows_naming_the_column_and_the_rest_imports(
        world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    await service.define_custom_field(scope, key="years", label="Years", kind="number",
                                      options=[])
    await service.define_custom_field(scope, key="level", label="Level", kind="single_select",
                                      options=["Junior", "Senior"])
    content = ("first,email,url,years,level,tag\n"
               "Ok,ok@example.com,,3,senior,\n"
               "BadEmail,bob@,,,,\n"
               "BadUrl,,ftp://example.com/x,,,\n"
               "BadNumber,n@example.com,,three,,\n"
               "BadOption,o@example.com,,,Principal,\n"
               "BadTag,t@example.com,,,,!!\n"
               ",,,,,\n"
               ",,,4,,\n"
               "Short,s@example.com\n"
               "Long,l@example.com,,,,,extra\n"
               "Two,x@example.com,,1.5,Junior,\n"
               + "Toolong" + "x" * 120 + ",tl@example.com,,,,\n")
    imp = await start(scope, content, mapping(firstName="first", email="email",
                                              profileUrl="url", custom__years="years",
                                              custom__level="level", tags="tag"))
    assert await run(imp) == "completed"
    assert await results(scope, imp) == [
        (2, "created", ""),
        (3, "error", "Column 'email': 'bob@' is not a valid email address."),
        (4, "error", "Column 'url': 'ftp://example.com/x' is not a valid http(s) URL."),
        (5, "error", "Column 'years': expected a number."),
        (6, "error", "Column 'level': expected one of: Junior, Senior."),
        (7, "error", "Column 'tag': '!!' is not a valid tag (1-64 letters, digits, spaces, "
                     ".&+#/-)."),
        # line 8 is blank: no result
        (9, "error", "The row has no name, email or profile URL."),
        (10, "error", "The row has 2 values but the header has 6 columns (a missing or extra "
                      "separator?)."),
        (11, "error", "The row has 7 values but the header has 6 columns (a missing or extra "
                      "separator?)."),
        (12, "created", ""),
        (13, "error", "Column 'first': at most 100 characters (this one has 127)."),
    ]
    done = await reload(scope, imp)
    assert (done.processed_rows, done.created_count, done.error_count) == (11, 2, 9)
    ok, two = await prospects(scope)
    assert ok.custom_fields == {"years": 3, "level": "Senior"}
    assert two.custom_fields == {"years": 1.5, "level": "Junior"}
    assert await count(scope, ProspectEmail) == 2


async def test_every_problem_of_a_row_is_reported(world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    imp = await start(scope, "a,b\nbob@,not a url\n", mapping(email="a", profileUrl="b"))
    await run(imp)
    assert await results(scope, imp) == [
        (2, "error", "Column 'a': 'bob@' is not a valid email address. Column 'b': 'not' is "
                     "not a valid http(s) URL.")]


async def test_a_line_that_is_not_utf8_is_an_error_row_and_the_rest_imports(
        world: World, parked: ParkedQueue) -> None:
    """Uploads are checked, but a file can still hold bad bytes (written some other way)."""
    scope = await world.scope()
    imp = await start(scope, "name,email\nAda,ada@example.com\nGrace,g@example.com\n",
                      mapping(firstName="name", email="email"))
    path = settings_dir() / imp.file_path
    path.write_bytes(b"name,email\n" + b"Jos\xe9,jose@example.com\n"
                     + b"Ada,ada@example.com\n")
    assert await run(imp) == "completed"
    assert await results(scope, imp) == [
        (2, "error", "Line 2 is not UTF-8 text (byte 0xe9 at position 4); save the file as "
                     "CSV UTF-8."),
        (3, "created", "")]


async def test_a_quoted_field_may_span_lines_and_results_name_its_first_line(
        world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    content = 'name,title\n"Ada","Count-\ness"\nGrace,"Rear\n\nAdmiral"\nLinus,x\n'
    imp = await start(scope, content, mapping(firstName="name", title="title"))
    await run(imp)
    assert [(line, outcome) for line, outcome, _ in await results(scope, imp)] == [
        (2, "created"), (4, "created"), (7, "created")]


async def test_an_overlong_line_and_an_unclosed_quote_are_error_rows_never_a_stuck_import(
        world: World, parked: ParkedQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    scope = await world.scope()
    monkeypatch.setattr(imports, "MAX_LINE_BYTES", 64)
    limit = csv.field_size_limit(100)  # the reader's own guard, small for the test
    content = ("name,title\n"
               "Ada,ok\n"
               "Long," + "x" * 200 + "\n"
               "Grace,ok\n"
               'Linus,"never closed\n' + "".join(f"P{i},x\n" for i in range(30)))
    imp = await start(scope, content, mapping(firstName="name", title="title"))
    try:
        assert await run(imp) == "completed"
    finally:
        csv.field_size_limit(limit)
    found = await results(scope, imp)
    assert found[:3] == [(2, "created", ""), (3, "error", "Line 3 is longer than 64 bytes."),
                         (4, "created", "")]
    assert found[3][:2] == (5, "error")
    assert found[3][2].startswith("Lines 5 to ") and found[3][2].endswith("an unclosed quote?")
    done = await reload(scope, imp)
    assert done.status == "completed" and done.processed_bytes == done.total_bytes


# --- checked at start: nothing is written ----------------------------------------------------

async def test_an_unknown_custom_field_or_field_in_the_mapping_is_refused_at_start(
        world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    upload_id = await upload(scope, "name,color\nAda,red\n")
    with pytest.raises(ValidationFailed) as caught:
        await imports.start_import(
            scope, upload_id=upload_id,
            mapping=[*mapping(firstName="name", custom__color="color"),
                     ColumnMapping(column="name", field="nickname")],
            options=ImportOptions())
    assert [(e.field, e.code, e.message) for e in caught.value.errors] == [
        (["mapping", "1", "field"], "NOT_FOUND", "Unknown custom field 'color'."),
        (["mapping", "2", "field"], "INVALID",
         "Unknown field 'nickname'. Use one of: " + ", ".join(imports.known_fields()) + ".")]
    assert await count(scope, ProspectImport) == 0
    assert files_in(uploads_dir(scope)) == [f"{upload_id}.csv"]  # still there to retry


async def test_a_mapped_column_missing_from_the_header_is_refused_at_start(
        world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    upload_id = await upload(scope, "name,mail\nAda,ada@example.com\n")
    with pytest.raises(ValidationFailed) as caught:
        await imports.start_import(scope, upload_id=upload_id,
                                   mapping=mapping(firstName="Name", email="Email"),
                                   options=ImportOptions())
    assert [(e.field, e.code, e.message) for e in caught.value.errors] == [
        (["mapping", "1", "column"], "NOT_FOUND",
         "The file has no column 'Email' (its columns: 'name', 'mail').")]
    assert await count(scope, ProspectImport) == 0


@pytest.mark.parametrize(("columns", "error"), [
    ([], (["mapping"], "REQUIRED")),
    (mapping(title="name"), (["mapping"], "REQUIRED")),
    ([ColumnMapping("name", "firstName"), ColumnMapping("mail", "firstName")],
     (["mapping", "1", "field"], "DUPLICATE")),
])
async def test_mapping_rules(world: World, parked: ParkedQueue, columns: list[ColumnMapping],
                             error: tuple[list[str], str]) -> None:
    scope = await world.scope()
    upload_id = await upload(scope, "name,mail\nAda,a@example.com\n")
    with pytest.raises(DomainError) as caught:
        await imports.start_import(scope, upload_id=upload_id, mapping=columns,
                                   options=ImportOptions())
    found = caught.value.errors if isinstance(caught.value, ValidationFailed) else [caught.value]
    assert [(e.field, e.code) for e in found] == [error]


async def test_a_header_with_duplicate_names_is_refused_only_when_they_are_mapped(
        world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    content = "name,x,x\nAda,1,2\n"
    with pytest.raises(ValidationFailed) as caught:
        await start(scope, content, mapping(firstName="name", title="x"))
    assert caught.value.errors[0].code == "DUPLICATE"
    imp = await start(scope, content, mapping(firstName="name"))
    assert await run(imp) == "completed"


async def test_an_upload_that_is_not_utf8_is_refused_and_nothing_is_kept(
        world: World) -> None:
    scope = await world.scope()
    data = b"name\nAda\n" + "José\n".encode("latin-1")
    with pytest.raises(DomainError) as caught:
        await upload(scope, data)
    assert caught.value.message == ("The file is not UTF-8 text (line 3 has a byte that is not "
                                    "valid UTF-8); save it as CSV UTF-8 and upload it again.")
    assert files_in(uploads_dir(scope)) == []


async def test_an_oversized_upload_is_refused_while_streaming_and_nothing_is_kept(
        world: World) -> None:
    scope = await world.scope()
    with pytest.raises(imports.UploadTooLarge):
        await upload(scope, "name\n" + "Ada\n" * 100, max_bytes=100)
    with pytest.raises(imports.UploadTooLarge):  # refused from the declared size, unread
        await upload(scope, "name\n", max_bytes=100, declared_size=101)
    assert files_in(uploads_dir(scope)) == []
    assert (await imports.store_upload(scope, chunks(b"n\n" * 50), max_bytes=100)).size == 100


async def test_an_empty_upload_or_one_without_header_is_refused(world: World,
                                                                parked: ParkedQueue) -> None:
    scope = await world.scope()
    with pytest.raises(DomainError, match=r"The file is empty\."):
        await upload(scope, b"")
    with pytest.raises(DomainError, match="name the columns"):
        await start(scope, "\n\nAda\n", mapping(firstName="name"))


async def test_a_member_without_write_permission_cannot_upload_or_start(
        world: World, parked: ParkedQueue) -> None:
    from domain.core.errors import Forbidden

    viewer = await world.scope("viewer")
    with pytest.raises(Forbidden):
        await upload(viewer, "name\nAda\n")
    upload_id = await upload(await world.scope(), "name\nAda\n")
    with pytest.raises(Forbidden):
        await imports.start_import(viewer, upload_id=upload_id, mapping=mapping(firstName="name"),
                                   options=ImportOptions())


async def test_an_upload_is_imported_once(world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    upload_id = await upload(scope, "name\nAda\n")
    await imports.start_import(scope, upload_id=upload_id, mapping=mapping(firstName="name"),
                               options=ImportOptions())
    with pytest.raises(NotFound) as caught:
        await imports.start_import(scope, upload_id=upload_id,
                                   mapping=mapping(firstName="name"), options=ImportOptions())
    assert caught.value.field == ["uploadId"]
    assert await count(scope, ProspectImport) == 1


# --- crash, resume, sweep ----------------------------------------------------------------------

def numbered(n: int) -> str:
    return "name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(n))


async def assert_imported_once(scope: Scope, imp: ProspectImport, n: int) -> None:
    done = await reload(scope, imp)
    assert (done.status, done.processed_rows, done.created_count, done.error_count) == (
        "completed", n, n, 0)
    assert [line for line, _, _ in await results(scope, imp)] == list(range(2, n + 2))
    assert await count(scope, Prospect) == n
    assert await count(scope, ProspectEmail) == n
    async with db.tenant_tx(scope):
        assert await Activity.filter(tenant_id=scope.tenant_id, kind="created").count() == n


async def test_a_failing_batch_rolls_back_whole_and_the_rerun_resumes_after_the_last_commit(
        world: World, parked: ParkedQueue, hook: None) -> None:
    scope = await world.scope()
    imp = await start(scope, numbered(7), mapping(firstName="name", email="email"))
    calls: list[int] = []

    async def fail_once_at_line_4(first_line: int) -> None:
        calls.append(first_line)
        if first_line == 4 and calls.count(4) == 1:
            raise RuntimeError("database went away")

    imports._batch_hook = fail_once_at_line_4
    with pytest.raises(imports.ImportInterrupted):
        await run(imp, batch_size=2)
    stopped = await reload(scope, imp)
    assert (stopped.status, stopped.processed_rows, stopped.resume_line) == ("queued", 2, 3)
    assert stopped.error_message == ("Attempt 1 stopped at line 4: an unexpected error "
                                     "(RuntimeError); it will resume there.")
    assert 0 < stopped.processed_bytes < stopped.total_bytes
    assert await count(scope, Prospect) == 2  # the failed batch left nothing behind
    assert await count(scope, ProspectImportRow) == 2

    assert await run(imp, batch_size=2) == "completed"
    assert calls == [2, 4, 4, 6, 8]
    await assert_imported_once(scope, imp, 7)


async def test_a_dead_run_is_found_by_the_sweep_and_resumed_without_duplicates(
        world: World, parked: ParkedQueue, hook: None) -> None:
    scope = await world.scope()
    imp = await start(scope, numbered(5), mapping(firstName="name", email="email"))

    async def die_at_line_4(first_line: int) -> None:
        if first_line == 4:
            raise Crash()

    imports._batch_hook = die_at_line_4
    with pytest.raises(Crash):
        await run(imp, batch_size=2)
    imports._batch_hook = None
    dead = await reload(scope, imp)
    assert (dead.status, dead.processed_rows) == ("running", 2)

    # A second job for it while its heartbeat is fresh leaves it to the (maybe live) run.
    assert await run(imp, batch_size=2) == "skipped"
    parked.enqueued.clear()
    await imports.sweep_imports()  # (other tests' tenants may have stale imports of their own)
    assert [job for job in parked.enqueued if job[1][1] == str(imp.id)] == []

    frozen = FrozenClock(datetime.now(UTC) + timedelta(seconds=imports.STALE_SECONDS + 1))
    previous = use_clock(frozen)
    try:
        parked.enqueued.clear()
        await imports.sweep_imports()
        minute = int(clock.now().timestamp()) // 60
        assert ("run_prospect_import", (str(scope.tenant_id), str(imp.id)),
                f"import:{imp.id}:sweep:{minute}") in parked.enqueued
        assert await run(imp, batch_size=2) == "completed"
    finally:
        use_clock(previous)
    await assert_imported_once(scope, imp, 5)


async def test_a_second_run_that_loses_the_race_writes_nothing(
        world: World, parked: ParkedQueue, hook: None) -> None:
    """Two runs of one import (a sweep took over a slow, not dead, run): the one whose
    batch commits second finds the import moved on and stops without writing."""
    scope = await world.scope()
    imp = await start(scope, numbered(4), mapping(firstName="name", email="email"))

    async def another_run_overtakes(first_line: int) -> None:
        imports._batch_hook = None
        # Inside this run's first batch: the second run cannot commit before it, so
        # simulate the order "the other committed first" by moving the import here.
        await ProspectImport.filter(id=imp.id).update(resume_line=99)

    imports._batch_hook = another_run_overtakes
    assert await run(imp, batch_size=2) == "skipped"  # its second batch found line 99
    assert await count(scope, Prospect) == 2


async def test_an_import_that_keeps_failing_fails_for_good_with_a_message(
        world: World, parked: ParkedQueue, hook: None) -> None:
    scope = await world.scope()
    imp = await start(scope, numbered(3), mapping(firstName="name", email="email"))

    async def always(first_line: int) -> None:
        raise RuntimeError("no")

    imports._batch_hook = always
    for _ in range(imports.MAX_RUNS - 1):
        with pytest.raises(imports.ImportInterrupted):
            await run(imp)
    assert await run(imp) == "failed"
    failed = await reload(scope, imp)
    assert failed.status == "failed" and failed.finished_at is not None
    assert failed.error_message == (f"Stopped at line 1 after {imports.MAX_RUNS} attempts: an "
                                    "unexpected error (RuntimeError). Lines before it are "
                                    "imported.")
    assert await count(scope, Prospect) == 0
    assert not (settings_dir() / imp.file_path).exists()
    assert await run(imp) == "skipped"


async def test_a_run_whose_file_is_gone_fails_instead_of_staying_running(
        world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    imp = await start(scope, numbered(2), mapping(firstName="name", email="email"))
    (settings_dir() / imp.file_path).unlink()
    assert await run(imp) == "failed"
    failed = await reload(scope, imp)
    assert (failed.status, failed.error_message) == ("failed", "The uploaded file is gone; "
                                                               "upload it again.")


async def test_a_run_out_of_time_continues_in_a_new_job(world: World,
                                                        parked: ParkedQueue) -> None:
    scope = await world.scope()
    imp = await start(scope, numbered(5), mapping(firstName="name", email="email"))
    parked.enqueued.clear()
    assert await run(imp, batch_size=2, time_budget=0) == "queued"
    assert [job for job in parked.enqueued if job[0] == "run_prospect_import"] == [
        ("run_prospect_import", (str(scope.tenant_id), str(imp.id)), f"import:{imp.id}:from:3")]
    assert (await reload(scope, imp)).processed_rows == 2
    assert await run(imp, batch_size=2) == "completed"
    await assert_imported_once(scope, imp, 5)


async def test_the_job_runs_the_import_in_process(world: World, queue: InProcessQueue) -> None:
    scope = await world.scope()
    imp = await start(scope, numbered(3), mapping(firstName="name", email="email"))
    await queue.drain()
    await assert_imported_once(scope, imp, 3)


async def test_a_cancelled_import_stops_and_its_file_goes(world: World,
                                                           parked: ParkedQueue) -> None:
    scope = await world.scope()
    imp = await start(scope, numbered(3), mapping(firstName="name", email="email"))
    cancelled = await imports.cancel_import(scope, import_id=imp.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert not (settings_dir() / imp.file_path).exists()
    assert await run(imp) == "skipped"
    assert await count(scope, Prospect) == 0
    with pytest.raises(DomainError, match="cancelled already"):
        await imports.cancel_import(scope, import_id=imp.id)


async def test_the_sweep_deletes_old_uploads_and_orphan_files(world: World) -> None:
    import os
    import time

    scope = await world.scope()
    old = await upload(scope, "name\nAda\n")
    fresh = await upload(scope, "name\nGrace\n")
    path = uploads_dir(scope) / f"{old}.csv"
    past = time.time() - imports.UPLOAD_TTL_SECONDS - 10
    os.utime(path, (past, past))
    orphan = imports._tenant_dir("imports", scope.tenant_id) / "not-an-import.csv"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_text("x")
    os.utime(orphan, (past, past))
    await imports.sweep_imports()
    assert files_in(uploads_dir(scope)) == [f"{fresh}.csv"]
    assert not orphan.exists()


# --- reading -----------------------------------------------------------------------------------

async def test_rows_page_in_line_order_and_filter_by_outcome(world: World,
                                                              parked: ParkedQueue) -> None:
    from domain.core.pagination import PageArgs

    scope = await world.scope()
    imp = await start(scope, "name,email\n" + "".join(
        f"P{i},{'bad' if i % 3 == 0 else f'p{i}@example.com'}\n" for i in range(10)),
        mapping(firstName="name", email="email"))
    await run(imp, batch_size=4)
    first = await imports.list_import_rows(scope, import_id=imp.id, page=PageArgs(first=4))
    assert [r.line for r in first.items] == [2, 3, 4, 5] and first.has_next_page
    second = await imports.list_import_rows(scope, import_id=imp.id,
                                            page=PageArgs(first=4, after=first.items[-1].id))
    assert [r.line for r in second.items] == [6, 7, 8, 9] and second.has_previous_page
    errors = await imports.list_import_rows(scope, import_id=imp.id, page=PageArgs(first=10),
                                            outcome="error")
    assert [r.line for r in errors.items] == [2, 5, 8, 11] and not errors.has_next_page


# --- tenancy -----------------------------------------------------------------------------------

async def test_another_tenants_upload_and_import_are_not_found(
        world: World, other_world: World, parked: ParkedQueue) -> None:
    from domain.core.pagination import PageArgs

    mine, theirs = await world.scope(), await other_world.scope()
    their_upload = await upload(theirs, "name\nAda\n")
    with pytest.raises(NotFound) as caught:
        await imports.start_import(mine, upload_id=their_upload,
                                   mapping=mapping(firstName="name"), options=ImportOptions())
    assert caught.value.field == ["uploadId"]
    their_import = await start(theirs, "name\nAda\n", mapping(firstName="name"))
    assert await imports.imports_by_ids(mine, [their_import.id]) == {}
    assert (await imports.list_imports(mine, PageArgs(first=10))).items == []
    with pytest.raises(NotFound):
        await imports.cancel_import(mine, import_id=their_import.id)
    assert (await imports.list_import_rows(mine, import_id=their_import.id,
                                           page=PageArgs(first=10))).items == []
    assert (await reload(theirs, their_import)).status == "queued"


async def test_the_owner_option_must_be_a_member_of_the_tenant(
        world: World, other_world: World, parked: ParkedQueue) -> None:
    scope = await world.scope()
    upload_id = await upload(scope, "name\nAda\n")
    with pytest.raises(NotFound) as caught:
        await imports.start_import(scope, upload_id=upload_id, mapping=mapping(firstName="name"),
                                   options=ImportOptions(owner_id=other_world.admin.user_id))
    assert caught.value.field == ["options", "ownerId"]
    imp = await imports.start_import(
        scope, upload_id=upload_id, mapping=mapping(firstName="name"),
        options=ImportOptions(owner_id=world.members["sourcer"].user_id))
    await run(imp)
    (ada,) = await prospects(scope)
    assert ada.owner_id == world.members["sourcer"].user_id


# --- export ------------------------------------------------------------------------------------

async def download(token: str) -> list[dict[str, str]]:
    scope, path = imports.open_export(token)
    data = b"".join([chunk async for chunk in imports.export_csv(scope, path)])
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def test_export_by_ids_writes_the_prospects_as_csv(world: World) -> None:
    scope = await world.scope()
    await service.define_custom_field(scope, key="skills", label="Skills", kind="multi_select",
                                      options=["go", "python"])
    ada, _ = await service.save_prospect(scope, ProspectData(
        first_name="Ada", last_name="Lovelace", emails=["ada@example.com", "a@example.org"],
        profile_urls=["linkedin.com/in/ada"], title="=HYPERLINK(\"x\")", phone="+44 20 1234",
        tags=["math"], custom_fields={"skills": ["python", "go"]}))
    grace, _ = await service.save_prospect(scope, ProspectData(first_name="Grace"))
    ticket = await imports.export_prospects(scope, prospect_ids=[grace.id, ada.id])
    assert ticket.count == 2
    rows = await download(ticket.token)
    assert [r["firstName"] for r in rows] == ["Grace", "Ada"]
    assert rows[1] == {
        "id": str(ada.id), "firstName": "Ada", "lastName": "Lovelace",
        "email": "ada@example.com; a@example.org", "phone": "+44 20 1234",
        "profileUrl": "https://linkedin.com/in/ada", "title": "'=HYPERLINK(\"x\")",
        "company": "", "location": "", "timeZone": "", "source": "", "tags": "math",
        "ownerEmail": world.admin.email, "createdAt": ada.created_at.isoformat(),
        "updatedAt": rows[1]["updatedAt"], "archivedAt": "",
        "lastActivityAt": rows[1]["lastActivityAt"], "custom.skills": "go; python"}


async def test_export_by_filter_and_back_in_again(world: World, other_world: World,
                                                  parked: ParkedQueue) -> None:
    scope = await world.scope()
    for name in ("Ada", "Grace", "Linus"):
        await service.save_prospect(scope, ProspectData(
            first_name=name, emails=[f"{name.lower()}@example.com"],
            tags=["keep"] if name != "Linus" else []))
    ticket = await imports.export_prospects(scope, filter=ProspectFilter(tags_any=["keep"]))
    rows = await download(ticket.token)
    assert sorted(r["firstName"] for r in rows) == ["Ada", "Grace"]

    # The exported file imports into another tenant with each column mapped to its name.
    data = b"".join([c async for c in imports.export_csv(*imports.open_export(ticket.token))])
    theirs = await other_world.scope()
    imp = await start(theirs, data, mapping(firstName="firstName", lastName="lastName",
                                            email="email", tags="tags"))
    assert await run(imp) == "completed"
    assert sorted(p.first_name for p in await prospects(theirs)) == ["Ada", "Grace"]


async def test_export_refuses_other_tenants_ids_and_forged_or_expired_tokens(
        world: World, other_world: World) -> None:
    mine, theirs = await world.scope(), await other_world.scope()
    their, _ = await service.save_prospect(theirs, ProspectData(first_name="Theirs"))
    own, _ = await service.save_prospect(mine, ProspectData(first_name="Mine"))
    with pytest.raises(NotFound) as caught:
        await imports.export_prospects(mine, prospect_ids=[own.id, their.id])
    assert caught.value.field == ["prospectIds", "1"]
    ticket = await imports.export_prospects(theirs, prospect_ids=[their.id])
    tenant, export, expires, signature = ticket.token.split(".")
    for forged in (f"{mine.tenant_id}.{export}.{expires}.{signature}",
                   f"{tenant}.{export}.{int(expires) + 1}.{signature}", "x", ""):
        with pytest.raises(NotFound):
            imports.open_export(forged)
    later = FrozenClock(datetime.now(UTC) + timedelta(seconds=imports.EXPORT_TTL_SECONDS + 5))
    previous = use_clock(later)
    try:
        with pytest.raises(NotFound):
            imports.open_export(ticket.token)
    finally:
        use_clock(previous)
    with pytest.raises(DomainError):
        await imports.export_prospects(mine)
