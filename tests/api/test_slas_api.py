"""SLA policies over GraphQL: setSlaPolicy, setJobSlaOverride, removeJobSlaOverride and
slaPolicies; typed errors naming the field with nothing written; another tenant's job ids
behave as unknown ones; who may change what."""

from __future__ import annotations

from typing import Any

from api.relay import to_global_id
from domain.core import db
from domain.slas.models import JobSlaOverride, SlaPolicy
from tests.integration.test_slas import make_job

FIELDS = "stageKind yellowHours redHours action ownerRole source"
POLICIES = "query($jobId: ID) { slaPolicies(jobId: $jobId) { %s } }".replace("%s", FIELDS)
SET = """mutation($input: SetSlaPolicyInput!) { setSlaPolicy(input: $input) {
  policy { %s } errors { field code message } } }""".replace("%s", FIELDS)
OVERRIDE = """mutation($input: SetJobSlaOverrideInput!) { setJobSlaOverride(input: $input) {
  policy { %s } errors { field code message } } }""".replace("%s", FIELDS)
REMOVE = """mutation($input: RemoveJobSlaOverrideInput!) { removeJobSlaOverride(input: $input) {
  policy { %s } errors { field code message } } }""".replace("%s", FIELDS)
SCREEN = {"stageKind": "SCREEN", "yellowHours": 10, "redHours": 20, "action": "NEEDS_ATTENTION",
          "ownerRole": "HIRING_MANAGER"}


async def rows(world: Any) -> tuple[int, int]:
    async with db.system_tenant_tx(str(world.tenant.id)):
        return (await SlaPolicy.filter(tenant_id=world.tenant.id).count(),
                await JobSlaOverride.filter(tenant_id=world.tenant.id).count())


async def test_policies_round_trip(gql, world):
    _, job, _ = await make_job(world)
    job_id = to_global_id("Job", job.id)
    admin, recruiter = world.admin.token, world.members["recruiter"].token
    body = await gql(POLICIES, {}, token=recruiter)
    assert body["data"]["slaPolicies"][0] == {
        "stageKind": "APPLICATION_REVIEW", "yellowHours": 48, "redHours": 96,
        "action": "NEEDS_DECISION", "ownerRole": "RECRUITER", "source": "DEFAULT"}
    assert len(body["data"]["slaPolicies"]) == 6

    body = await gql(SET, {"input": SCREEN}, token=admin)
    assert body["data"]["setSlaPolicy"] == {"policy": {**SCREEN, "source": "TENANT"},
                                            "errors": []}
    override = {**SCREEN, "jobId": job_id, "yellowHours": 1, "redHours": 2,
                "ownerRole": "RECRUITER"}
    body = await gql(OVERRIDE, {"input": override}, token=recruiter)
    expected = {k: v for k, v in override.items() if k != "jobId"}
    assert body["data"]["setJobSlaOverride"] == {"policy": {**expected, "source": "JOB"},
                                                 "errors": []}
    body = await gql(POLICIES, {"jobId": job_id}, token=recruiter)
    assert body["data"]["slaPolicies"][1] == {**expected, "source": "JOB"}
    body = await gql(POLICIES, {}, token=recruiter)
    assert body["data"]["slaPolicies"][1] == {**SCREEN, "source": "TENANT"}

    body = await gql(REMOVE, {"input": {"jobId": job_id, "stageKind": "SCREEN"}}, token=recruiter)
    assert body["data"]["removeJobSlaOverride"] == {"policy": {**SCREEN, "source": "TENANT"},
                                                    "errors": []}
    assert await rows(world) == (1, 0)


async def test_bad_input_names_the_field_and_writes_nothing(gql, world):
    _, job, _ = await make_job(world)
    job_id = to_global_id("Job", job.id)
    cases = [
        ({"yellowHours": 0}, [(["input", "yellowHours"], "OUT_OF_RANGE")]),
        ({"redHours": 10}, [(["input", "redHours"], "OUT_OF_RANGE")]),
        ({"redHours": 5}, [(["input", "redHours"], "OUT_OF_RANGE")]),
        ({"yellowHours": -1, "redHours": 99999}, [(["input", "yellowHours"], "OUT_OF_RANGE"),
                                                  (["input", "redHours"], "OUT_OF_RANGE")]),
    ]
    for change, errors in cases:
        body = await gql(SET, {"input": {**SCREEN, **change}}, token=world.admin.token)
        payload = body["data"]["setSlaPolicy"]
        assert payload["policy"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == errors
        body = await gql(OVERRIDE, {"input": {**SCREEN, **change, "jobId": job_id}},
                         token=world.admin.token)
        assert [(e["field"], e["code"]) for e in body["data"]["setJobSlaOverride"]["errors"]
                ] == errors
    # an unknown enum value is refused by the schema itself
    body = await gql(SET, {"input": {**SCREEN, "action": "PANIC"}}, token=world.admin.token,
                     expect_errors=True)
    assert "PANIC" in body["errors"][0]["message"]
    assert await rows(world) == (0, 0)


async def test_another_tenants_job_is_not_found(gql, world, other_world):
    _, theirs, _ = await make_job(other_world)
    job_id = to_global_id("Job", theirs.id)
    token = world.admin.token
    body = await gql(POLICIES, {"jobId": job_id}, token=token)
    assert body["data"]["slaPolicies"] == []
    for jid in (job_id, "garbage", to_global_id("Prospect", theirs.id)):
        body = await gql(OVERRIDE, {"input": {**SCREEN, "jobId": jid}}, token=token)
        assert body["data"]["setJobSlaOverride"]["errors"] == [
            {"field": ["input", "jobId"], "code": "NOT_FOUND", "message": "No such job."}]
        body = await gql(REMOVE, {"input": {"jobId": jid, "stageKind": "SCREEN"}}, token=token)
        assert body["data"]["removeJobSlaOverride"]["errors"][0]["code"] == "NOT_FOUND"
    assert await rows(world) == (0, 0)
    assert await rows(other_world) == (0, 0)


async def test_who_may_change_policies(gql, world):
    _, job, _ = await make_job(world)
    for role in ("recruiter", "hiring_manager", "viewer"):
        body = await gql(SET, {"input": SCREEN}, token=world.members[role].token,
                         expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for role in ("hiring_manager", "viewer"):
        body = await gql(OVERRIDE, {"input": {**SCREEN, "jobId": to_global_id("Job", job.id)}},
                         token=world.members[role].token, expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await rows(world) == (0, 0)
