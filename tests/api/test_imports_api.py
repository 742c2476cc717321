"""CSV import and export over HTTP: the upload route, startProspectImport, the import as a
node and in prospectImports with its per-line rows and progress, cancelProspectImport,
exportProspects and the download route; typed user errors; and another tenant's IDs behaving
exactly like unknown ones in every query and mutation."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.relay import to_global_id
from domain.core import jobs
from domain.core.ids import uuid7
from domain.prospects import imports, service
from domain.prospects.rules import ProspectData
from tests.conftest import World
from workers.queue import InProcessQueue

ERRORS = "errors { field code message }"
IMPORT_FIELDS = """id status fileName skipDuplicates totalBytes processedBytes progress
    processedRows createdCount mergedCount skippedCount errorCount errorMessage
    createdAt startedAt finishedAt createdBy { id } mapping { column field }"""
START = f"""mutation($input: StartProspectImportInput!) {{
  startProspectImport(input: $input) {{ prospectImport {{ {IMPORT_FIELDS} }} {ERRORS} }} }}"""
CANCEL = f"""mutation($input: CancelProspectImportInput!) {{
  cancelProspectImport(input: $input) {{ prospectImport {{ id status }} {ERRORS} }} }}"""
EXPORT = f"""mutation($input: ExportProspectsInput!) {{
  exportProspects(input: $input) {{ export {{ url expiresAt prospectCount }} {ERRORS} }} }}"""
NODE = f"""query($id: ID!, $outcome: ImportRowOutcome, $after: String) {{
  node(id: $id) {{ __typename ... on ProspectImport {{ {IMPORT_FIELDS}
    rows(first: 2, after: $after, outcome: $outcome) {{
      edges {{ cursor node {{ line outcome message prospect {{ id firstName }} }} }}
      pageInfo {{ hasNextPage endCursor }} }} }} }} }}"""
LIST = "query { prospectImports(first: 10) { nodes { id status } } }"

CSV_TEXT = ("First,E-mail,Company\n"
            "Ada,ada@example.com,Analytical\n"
            "Bob,bob@,Nowhere\n"
            "Ada again,ADA@example.com,\n")
MAPPING = [{"column": "First", "field": "firstName"}, {"column": "E-mail", "field": "email"},
           {"column": "Company", "field": "company"}]


class ParkedQueue:
    """Accepts jobs and runs none, so a test can look at an import before and between runs."""

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None,
                      defer_seconds: float | None = None) -> None:
        return None


@pytest.fixture
async def parked(settings: Any) -> AsyncIterator[None]:
    previous = jobs.install(ParkedQueue())
    yield
    jobs.install(previous)


async def put(client: httpx.AsyncClient, body: bytes | str, token: str | None,
              **headers: str) -> httpx.Response:
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await client.put("/uploads/prospect-imports",
                            content=body.encode() if isinstance(body, str) else body,
                            headers={"content-type": "text/csv", **headers})


async def upload(client: httpx.AsyncClient, body: str, token: str) -> str:
    response = await put(client, body, token)
    assert response.status_code == 201, response.text
    assert response.json()["bytes"] == len(body.encode())
    return str(response.json()["uploadId"])


async def start(gql: Any, token: str, upload_id: str, mapping: list[dict[str, str]],
                **extra: Any) -> dict[str, Any]:
    body = await gql(START, {"input": {"uploadId": upload_id, "mapping": mapping, **extra}},
                     token=token)
    return body["data"]["startProspectImport"]  # type: ignore[no-any-return]


async def node(gql: Any, token: str, global_id: str, **variables: Any) -> Any:
    return (await gql(NODE, {"id": global_id, **variables}, token=token))["data"]["node"]


async def test_upload_start_and_follow_an_import_to_its_per_line_results(
        gql: Any, client: httpx.AsyncClient, world: World, queue: InProcessQueue) -> None:
    token = world.members["recruiter"].token
    upload_id = await upload(client, CSV_TEXT, token)
    started = await start(gql, token, upload_id, MAPPING, fileName="people.csv",
                          options={"defaultTags": ["Imported"]})
    assert started["errors"] == []
    imp = started["prospectImport"]
    assert (imp["status"], imp["fileName"], imp["totalBytes"], imp["processedRows"]) == (
        "QUEUED", "people.csv", len(CSV_TEXT.encode()), 0)
    assert imp["createdBy"] == {"id": to_global_id("User", world.members["recruiter"].user_id)}
    assert imp["mapping"] == MAPPING
    await queue.drain()

    done = await node(gql, token, imp["id"])
    assert {k: done[k] for k in ("__typename", "status", "progress", "processedRows",
                                 "createdCount", "mergedCount", "skippedCount", "errorCount",
                                 "errorMessage")} == {
        "__typename": "ProspectImport", "status": "COMPLETED", "progress": 1.0,
        "processedRows": 3, "createdCount": 1, "mergedCount": 1, "skippedCount": 0,
        "errorCount": 1, "errorMessage": None}
    assert done["processedBytes"] == done["totalBytes"]
    assert done["startedAt"] and done["finishedAt"]
    rows = done["rows"]
    ada = rows["edges"][0]["node"]["prospect"]
    assert [e["node"] for e in rows["edges"]] == [
        {"line": 2, "outcome": "CREATED", "message": "", "prospect": ada},
        {"line": 3, "outcome": "ERROR",
         "message": "Column 'E-mail': 'bob@' is not a valid email address.", "prospect": None}]
    assert ada["firstName"] == "Ada" and rows["pageInfo"]["hasNextPage"]
    rest = await node(gql, token, imp["id"], after=rows["pageInfo"]["endCursor"])
    assert [e["node"] for e in rest["rows"]["edges"]] == [
        {"line": 4, "outcome": "MERGED",
         "message": "Merged into the prospect of line 2: it has the same email ada@example.com.",
         "prospect": ada}]
    errors = await node(gql, token, imp["id"], outcome="ERROR")
    assert [e["node"]["line"] for e in errors["rows"]["edges"]] == [3]

    listed = (await gql(LIST, token=world.members["viewer"].token))["data"]["prospectImports"]
    assert listed["nodes"] == [{"id": imp["id"], "status": "COMPLETED"}]


async def test_progress_shows_while_an_import_has_rows_left(
        gql: Any, client: httpx.AsyncClient, world: World, parked: None) -> None:
    token = world.admin.token
    text = "name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(6))
    imp = (await start(gql, token, await upload(client, text, token),
                       [{"column": "name", "field": "firstName"},
                        {"column": "email", "field": "email"}]))["prospectImport"]
    assert imp["progress"] == 0.0

    async def crash(first_line: int) -> None:
        if first_line == 4:
            raise KeyboardInterruptLike()

    imports._batch_hook = crash
    try:
        with pytest.raises(KeyboardInterruptLike):
            await imports.run_import(tenant_id=str(world.tenant.id),
                                     import_id=str(_raw(imp["id"])), batch_size=2)
    finally:
        imports._batch_hook = None
    midway = await node(gql, token, imp["id"])
    assert (midway["status"], midway["processedRows"], midway["createdCount"]) == (
        "RUNNING", 2, 2)
    assert 0 < midway["progress"] < 1
    assert midway["progress"] == pytest.approx(midway["processedBytes"] / midway["totalBytes"])


class KeyboardInterruptLike(BaseException):
    """Stands for the process dying mid-batch."""


def _raw(global_id: str) -> Any:
    from api.relay import from_global_id

    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


# --- the upload route --------------------------------------------------------------------------

async def test_uploads_need_a_bearer_token_with_write_permission(
        client: httpx.AsyncClient, world: World) -> None:
    missing = await put(client, "name\nAda\n", None)
    assert (missing.status_code, missing.json()["errors"][0]["extensions"]["code"]) == (
        401, "UNAUTHENTICATED")
    bad = await put(client, "name\nAda\n", "not-a-token")
    assert bad.status_code == 401
    viewer = await put(client, "name\nAda\n", world.members["viewer"].token)
    assert (viewer.status_code, viewer.json()["errors"][0]["extensions"]["code"]) == (
        403, "FORBIDDEN")


async def test_an_oversized_upload_is_a_413_and_nothing_is_kept(
        client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "MAX_UPLOAD_BYTES", 64)
    folder = imports._tenant_dir("uploads", world.tenant.id)
    before = sorted(folder.iterdir()) if folder.exists() else []
    response = await put(client, "name\n" + "Ada Lovelace\n" * 10, world.admin.token)
    assert response.status_code == 413
    assert response.json() == {"errors": [{
        "message": "The file is over the 64 bytes limit; split it.",
        "extensions": {"code": "TOO_LARGE"}}]}

    async def stream() -> AsyncIterator[bytes]:  # no Content-Length: refused while streaming
        for _ in range(10):
            yield b"Ada Lovelace\n"

    chunked = await client.put("/uploads/prospect-imports", content=stream(),
                               headers={"authorization": f"Bearer {world.admin.token}"})
    assert chunked.status_code == 413
    assert (sorted(folder.iterdir()) if folder.exists() else []) == before


async def test_an_upload_that_is_not_utf8_is_a_422_naming_the_line(
        client: httpx.AsyncClient, world: World) -> None:
    response = await put(client, b"name\nAda\n" + "Zoë\n".encode("cp1252"),
                         world.admin.token)
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "message": "The file is not UTF-8 text (line 3 has a byte that is not valid UTF-8); "
                   "save it as CSV UTF-8 and upload it again.",
        "extensions": {"code": "INVALID"}}


# --- startProspectImport: errors ---------------------------------------------------------------

async def test_start_reports_mapping_errors_by_field_and_writes_nothing(
        gql: Any, client: httpx.AsyncClient, world: World, parked: None) -> None:
    token = world.admin.token
    upload_id = await upload(client, CSV_TEXT, token)
    result = await start(gql, token, upload_id, [
        {"column": "First", "field": "firstName"}, {"column": "Mail", "field": "email"},
        {"column": "Company", "field": "custom.size"}])
    assert result == {"prospectImport": None, "errors": [
        {"field": ["input", "mapping", "2", "field"], "code": "NOT_FOUND",
         "message": "Unknown custom field 'size'."}]}
    result = await start(gql, token, upload_id, [
        {"column": "First", "field": "firstName"}, {"column": "Mail", "field": "email"}])
    assert result == {"prospectImport": None, "errors": [
        {"field": ["input", "mapping", "1", "column"], "code": "NOT_FOUND",
         "message": "The file has no column 'Mail' (its columns: 'First', 'E-mail', "
                    "'Company')."}]}
    result = await start(gql, token, upload_id, MAPPING, options={"ownerId": "nope"})
    assert result["errors"] == [{"field": ["input", "options", "ownerId"], "code": "NOT_FOUND",
                                 "message": "No such User."}]
    listed = (await gql(LIST, token=token))["data"]["prospectImports"]
    assert listed["nodes"] == []
    assert (await start(gql, token, upload_id, MAPPING))["errors"] == []  # still usable


async def test_start_needs_write_permission(gql: Any, client: httpx.AsyncClient, world: World,
                                            parked: None) -> None:
    upload_id = await upload(client, CSV_TEXT, world.admin.token)
    body = await gql(START, {"input": {"uploadId": upload_id, "mapping": MAPPING}},
                     token=world.members["viewer"].token, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


# --- cross-tenant: another tenant's IDs are unknown IDs ----------------------------------------

async def test_another_tenants_upload_is_not_found(gql: Any, client: httpx.AsyncClient,
                                                   world: World, other_world: World,
                                                   parked: None) -> None:
    theirs = await upload(client, CSV_TEXT, other_world.admin.token)
    unknown = to_global_id("Upload", uuid7())
    for upload_id in (theirs, unknown, "garbage"):
        result = await start(gql, world.admin.token, upload_id, MAPPING)
        assert result == {"prospectImport": None, "errors": [
            {"field": ["input", "uploadId"], "code": "NOT_FOUND",
             "message": "No such upload (each upload is imported once)." if upload_id != "garbage"
             else "No such Upload."}]}
    assert (await start(gql, other_world.admin.token, theirs, MAPPING))["errors"] == []


async def test_another_tenants_import_is_not_found_anywhere(
        gql: Any, client: httpx.AsyncClient, world: World, other_world: World,
        parked: None) -> None:
    their_token = other_world.admin.token
    theirs = (await start(gql, their_token, await upload(client, CSV_TEXT, their_token),
                          MAPPING))["prospectImport"]["id"]
    unknown = to_global_id("ProspectImport", uuid7())
    for import_id in (theirs, unknown):
        assert await node(gql, world.admin.token, import_id) is None
        result = (await gql(CANCEL, {"input": {"importId": import_id}},
                            token=world.admin.token))["data"]["cancelProspectImport"]
        assert result == {"prospectImport": None, "errors": [
            {"field": ["input", "importId"], "code": "NOT_FOUND", "message": "No such import."}]}
    assert (await gql(LIST, token=world.admin.token))["data"]["prospectImports"]["nodes"] == []
    still = await node(gql, their_token, theirs)
    assert still["status"] == "QUEUED"


async def test_cancel_an_import(gql: Any, client: httpx.AsyncClient, world: World,
                                parked: None) -> None:
    token = world.admin.token
    imp = (await start(gql, token, await upload(client, CSV_TEXT, token), MAPPING)
           )["prospectImport"]["id"]
    result = (await gql(CANCEL, {"input": {"importId": imp}}, token=token)
              )["data"]["cancelProspectImport"]
    assert result == {"prospectImport": {"id": imp, "status": "CANCELLED"}, "errors": []}
    again = (await gql(CANCEL, {"input": {"importId": imp}}, token=token)
             )["data"]["cancelProspectImport"]
    assert again["errors"] == [{"field": ["input", "importId"], "code": "INVALID",
                                "message": "The import has cancelled already."}]


# --- export ------------------------------------------------------------------------------------

async def get_csv(client: httpx.AsyncClient, url: str) -> list[dict[str, str]]:
    parts = urlsplit(url)
    response = await client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="prospects-')
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_export_by_ids_and_by_filter_downloads_csv(gql: Any, client: httpx.AsyncClient,
                                                         world: World) -> None:
    scope = await world.scope()
    ada, _ = await service.save_prospect(scope, ProspectData(
        first_name="Ada", emails=["ada@example.com"], tags=["math"]))
    grace, _ = await service.save_prospect(scope, ProspectData(first_name="Grace"))
    by_ids = (await gql(EXPORT, {"input": {"prospectIds": [to_global_id("Prospect", grace.id),
                                                           to_global_id("Prospect", ada.id)]}},
                        token=world.members["viewer"].token))["data"]["exportProspects"]
    assert by_ids["errors"] == [] and by_ids["export"]["prospectCount"] == 2
    assert by_ids["export"]["url"].startswith("http://127.0.0.1:8000/exports/prospects.csv?")
    rows = await get_csv(client, by_ids["export"]["url"])
    assert [(r["id"], r["firstName"], r["email"], r["tags"]) for r in rows] == [
        (to_global_id("Prospect", grace.id), "Grace", "", ""),
        (to_global_id("Prospect", ada.id), "Ada", "ada@example.com", "math")]

    by_filter = (await gql(EXPORT, {"input": {"filter": {"tagsAny": ["math"]}}},
                           token=world.admin.token))["data"]["exportProspects"]
    assert [r["firstName"] for r in await get_csv(client, by_filter["export"]["url"])] == ["Ada"]


async def test_export_errors_and_another_tenants_prospects(gql: Any, client: httpx.AsyncClient,
                                                          world: World,
                                                          other_world: World) -> None:
    theirs, _ = await service.save_prospect(await other_world.scope(),
                                            ProspectData(first_name="Theirs"))
    mine, _ = await service.save_prospect(await world.scope(), ProspectData(first_name="Mine"))
    for their_id in (to_global_id("Prospect", theirs.id), to_global_id("Prospect", uuid7())):
        result = (await gql(EXPORT, {"input": {"prospectIds": [
            to_global_id("Prospect", mine.id), their_id]}}, token=world.admin.token)
                  )["data"]["exportProspects"]
        assert result == {"export": None, "errors": [
            {"field": ["input", "prospectIds", "1"], "code": "NOT_FOUND",
             "message": "No such prospect."}]}
    neither = (await gql(EXPORT, {"input": {}}, token=world.admin.token))["data"]
    assert neither["exportProspects"]["errors"][0]["field"] == ["input", "prospectIds"]
    # A download link is for its tenant only: editing the tenant in it breaks the signature.
    ok = (await gql(EXPORT, {"input": {"prospectIds": [to_global_id("Prospect", theirs.id)]}},
                    token=other_world.admin.token))["data"]["exportProspects"]["export"]["url"]
    token = ok.split("token=")[1]
    forged = token.replace(str(other_world.tenant.id), str(world.tenant.id))
    for bad in (forged, "nope", ""):
        response = await client.get(f"/exports/prospects.csv?token={bad}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert [r["firstName"] for r in await get_csv(client, ok)] == ["Theirs"]
