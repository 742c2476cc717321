"""ATS sync over GraphQL with a partner API key: scope ats:write, idempotent upserts, out-of-order
moves, typed errors for missing fields and unknown external ids, tenancy."""

from __future__ import annotations

from typing import Any

from tests.conftest import World

E = "errors { field code message }"
JOB = f"""mutation($input: UpsertAtsJobInput!) {{ upsertAtsJob(input: $input) {{
    job {{ id title status externalId stages {{ externalId name kind position }} }} {E} }} }}"""
CANDIDATE = f"""mutation($input: UpsertAtsCandidateInput!) {{ upsertAtsCandidate(input: $input) {{
    application {{ id externalId source stage {{ externalId }} prospect {{ id name primaryEmail }}
                  version }} {E} }} }}"""
MOVE = f"""mutation($input: RecordAtsStageMoveInput!) {{ recordAtsStageMove(input: $input) {{
    application {{ id version stage {{ externalId }} stageEnteredAt
                  history {{ stage {{ externalId }} enteredAt exitedAt source actor {{ id }} }} }}
    current {E} }} }}"""
KEY = """mutation($scopes: [String!]!) { createApiKey(input: {name: "ATS", scopes: $scopes}) {
    secret errors { field code } } }"""
# What a partner's key holds: the sync grant, and reads to see what it synced.
SYNC = ["ats:write", "pipeline:read", "prospects:read"]
STAGES = [{"externalId": "s1", "name": "New", "kind": "APPLICATION_REVIEW"},
          {"externalId": "s2", "name": "Screen", "kind": "SCREEN"},
          {"externalId": "s3", "name": "Onsite", "kind": "INTERVIEW"}]


async def key(gql: Any, world: World, scopes: list[str]) -> str:
    body = await gql(KEY, {"scopes": scopes}, token=world.admin.token)
    return body["data"]["createApiKey"]["secret"]  # type: ignore[no-any-return]


async def call(gql: Any, token: str, query: str, name: str, input: dict[str, Any]
               ) -> dict[str, Any]:
    body = await gql(query, {"input": input}, token=token)
    return body["data"][name]  # type: ignore[no-any-return]


def codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def seed(gql: Any, token: str) -> dict[str, Any]:
    job = await call(gql, token, JOB, "upsertAtsJob", {"externalId": "J1", "title": "SRE",
                                                       "stages": STAGES})
    app = await call(gql, token, CANDIDATE, "upsertAtsCandidate", {
        "jobExternalId": "J1", "applicationExternalId": "A1", "firstName": "Kim",
        "lastName": "Lee", "emails": ["kim@lee.dev"], "appliedAt": "2026-03-01T09:00:00Z"})
    return {"job": job, "app": app}


async def test_sync_is_idempotent_and_keeps_the_order_of_time(gql, world):
    token = await key(gql, world, SYNC)
    first = await seed(gql, token)
    assert first["job"]["errors"] == [] and first["app"]["errors"] == []
    assert [(s["externalId"], s["position"]) for s in first["job"]["job"]["stages"]] == [
        ("s1", 1), ("s2", 2), ("s3", 3)]
    app = first["app"]["application"]
    assert (app["externalId"], app["source"], app["stage"]["externalId"],
            app["prospect"]["primaryEmail"]) == ("A1", "ats", "s1", "kim@lee.dev")
    again = await seed(gql, token)
    assert again == first  # the same result, nothing changed (version included)
    move = {"applicationExternalId": "A1", "stageExternalId": "s3",
            "occurredAt": "2026-03-10T09:00:00Z", "moveExternalId": "M2"}
    moved = await call(gql, token, MOVE, "recordAtsStageMove", move)
    assert moved["current"] is True and moved["application"]["stage"]["externalId"] == "s3"
    assert await call(gql, token, MOVE, "recordAtsStageMove", move) == moved
    late = await call(gql, token, MOVE, "recordAtsStageMove", {
        "applicationExternalId": "A1", "stageExternalId": "s2",
        "occurredAt": "2026-03-05T09:00:00Z", "moveExternalId": "M1"})
    a = late["application"]
    assert late["current"] is False and a["stage"]["externalId"] == "s3"
    assert a["stageEnteredAt"] == "2026-03-10T09:00:00+00:00"
    assert [(h["stage"]["externalId"], h["enteredAt"][:10], h["exitedAt"] and h["exitedAt"][:10],
             h["source"], h["actor"]) for h in a["history"]] == [
        ("s1", "2026-03-01", "2026-03-05", "ats", None),
        ("s2", "2026-03-05", "2026-03-10", "ats", None),
        ("s3", "2026-03-10", None, "ats", None)]


async def test_missing_fields_and_unknown_ids_are_typed_errors(gql, world):
    token = await key(gql, world, SYNC)
    await seed(gql, token)
    job_errors = [
        ({"title": "X", "stages": STAGES}, [(["input", "externalId"], "REQUIRED")]),
        ({"externalId": "J2", "stages": STAGES}, [(["input", "title"], "REQUIRED")]),
        ({"externalId": "J2", "title": "X"}, [(["input", "stages"], "REQUIRED")]),
        ({"externalId": "J2", "title": "X", "stages": [{"externalId": "a", "name": "A"}]},
         [(["input", "stages", "0", "kind"], "INVALID")]),
    ]
    for input, expected in job_errors:
        payload = await call(gql, token, JOB, "upsertAtsJob", input)
        assert (payload["job"], codes(payload)) == (None, expected), input
    candidate_errors = [
        ({"applicationExternalId": "A2", "emails": ["x@y.dev"]},
         [(["input", "jobExternalId"], "REQUIRED")]),
        ({"jobExternalId": "nope", "applicationExternalId": "A2", "emails": ["x@y.dev"]},
         [(["input", "jobExternalId"], "NOT_FOUND")]),
        ({"jobExternalId": "J1", "emails": ["x@y.dev"]},
         [(["input", "applicationExternalId"], "REQUIRED")]),
        ({"jobExternalId": "J1", "applicationExternalId": "A2"}, [(["input", "emails"],
                                                                    "REQUIRED")]),
        ({"jobExternalId": "J1", "applicationExternalId": "A2", "emails": ["x@y.dev"],
          "stageExternalId": "s9"}, [(["input", "stageExternalId"], "NOT_FOUND")]),
    ]
    for input, expected in candidate_errors:
        payload = await call(gql, token, CANDIDATE, "upsertAtsCandidate", input)
        assert (payload["application"], codes(payload)) == (None, expected), input
    base = {"applicationExternalId": "A1", "stageExternalId": "s2",
            "occurredAt": "2026-03-02T09:00:00Z", "moveExternalId": "M9"}
    for drop in ("applicationExternalId", "stageExternalId", "occurredAt", "moveExternalId"):
        payload = await call(gql, token, MOVE, "recordAtsStageMove",
                             {k: v for k, v in base.items() if k != drop})
        assert codes(payload) == [(["input", drop], "REQUIRED")]
    for change, field in (({"applicationExternalId": "A9"}, "applicationExternalId"),
                          ({"stageExternalId": "s9"}, "stageExternalId")):
        payload = await call(gql, token, MOVE, "recordAtsStageMove", {**base, **change})
        assert codes(payload) == [(["input", field], "NOT_FOUND")]
    after = await seed(gql, token)  # nothing was half-written: still version 1, stage s1
    assert (after["app"]["application"]["version"],
            after["app"]["application"]["stage"]["externalId"]) == (1, "s1")
    body = await gql("{ jobs(first: 10) { nodes { externalId } } }", token=world.admin.token)
    assert [j["externalId"] for j in body["data"]["jobs"]["nodes"]] == ["J1"]


async def test_the_ats_scope_is_required(gql, world):
    for scopes in (["pipeline:write", "prospects:write"], ["pipeline:read"]):
        token = await key(gql, world, scopes)
        body = await gql(JOB, {"input": {"externalId": "J1", "title": "SRE", "stages": STAGES}},
                         token=token, expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    alone = await key(gql, world, ["ats:write"])  # enough to sync; reading back needs reads
    synced = await call(gql, alone, JOB, "upsertAtsJob", {"externalId": "J1", "title": "SRE",
                                                          "stages": STAGES})
    assert synced["errors"] == [] and synced["job"]["stages"] == []
    member = await gql(JOB, {"input": {"externalId": "J1", "title": "SRE", "stages": STAGES}},
                       token=world.members["recruiter"].token, expect_errors=True)
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_another_tenants_external_ids_are_unknown(gql, world, other_world):
    mine = await key(gql, world, SYNC)
    theirs = await key(gql, other_world, SYNC)
    await seed(gql, theirs)
    payload = await call(gql, mine, CANDIDATE, "upsertAtsCandidate", {
        "jobExternalId": "J1", "applicationExternalId": "A1", "emails": ["kim@lee.dev"]})
    assert codes(payload) == [(["input", "jobExternalId"], "NOT_FOUND")]
    payload = await call(gql, mine, MOVE, "recordAtsStageMove", {
        "applicationExternalId": "A1", "stageExternalId": "s2",
        "occurredAt": "2026-03-02T09:00:00Z", "moveExternalId": "M1"})
    assert codes(payload) == [(["input", "applicationExternalId"], "NOT_FOUND")]
    own = await call(gql, mine, JOB, "upsertAtsJob", {"externalId": "J1", "title": "Mine",
                                                      "stages": STAGES})
    assert own["errors"] == [] and own["job"]["title"] == "Mine"
    body = await gql("{ jobs(first: 10) { nodes { title } } }",
                     token=other_world.admin.token)
    assert [j["title"] for j in body["data"]["jobs"]["nodes"]] == ["SRE"]
