"""Prospects over GraphQL: create and dedupe, update, archive, merge, notes and mentions,
calls, custom fields, demographics, the activity feed, rules of engagement, tenancy."""

from __future__ import annotations

from typing import Any

import pytest

from api.relay import to_global_id
from domain.prospects import service
from tests.conftest import World

FIELDS = """id name firstName lastName title company location source primaryEmail
            emails { email primary } profileUrls { kind url } tags owner { id }
            customFields { key value } archivedAt lastActivityAt"""
CREATE = f"""mutation($input: CreateProspectInput!) {{ createProspect(input: $input) {{
    prospect {{ {FIELDS} }} merged errors {{ field code message }} }} }}"""
UPDATE = f"""mutation($input: UpdateProspectInput!) {{ updateProspect(input: $input) {{
    prospect {{ {FIELDS} }} errors {{ field code message }} }} }}"""
MERGE = f"""mutation($input: MergeProspectsInput!) {{ mergeProspects(input: $input) {{
    prospect {{ {FIELDS} }} errors {{ field code message }} }} }}"""
ARCHIVE = f"""mutation($input: ArchiveProspectInput!) {{ archiveProspect(input: $input) {{
    prospect {{ {FIELDS} }} errors {{ field code message }} }} }}"""
NOTE = """mutation($input: AddNoteInput!) { addNote(input: $input) {
    noteId errors { field code message } } }"""
CALL = """mutation($input: LogCallInput!) { logCall(input: $input) {
    prospect { id } errors { field code message } } }"""
NODE = f"""query($id: ID!) {{ node(id: $id) {{ ... on Prospect {{ {FIELDS}
    activities {{ edges {{ node {{ kind details actor {{ id }} }} }} }} }} }} }}"""


async def create(gql, token: str, **fields: Any) -> dict[str, Any]:
    body = await gql(CREATE, {"input": {"prospect": fields}}, token=token)
    return body["data"]["createProspect"]  # type: ignore[no-any-return]


async def count_prospects(scope: Any) -> int:
    from domain.core import db

    async with db.tenant_tx(scope):
        return int(await service.visible(scope).count())


def errors(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def test_create_normalises_and_returns_the_prospect(gql, world: World):
    payload = await create(gql, world.members["recruiter"].token, firstName="Ada",
                           lastName="Lovelace", emails=["Ada@Example.COM", "ada2@example.com"],
                           profileUrls=["http://www.LinkedIn.com/in/AdaL/?trk=x"],
                           tags=["Python", "python", "ML"], title="Engineer", company="Analytical")
    assert payload["errors"] == [] and payload["merged"] is False
    prospect = payload["prospect"]
    assert prospect["name"] == "Ada Lovelace"
    assert prospect["emails"] == [{"email": "ada@example.com", "primary": True},
                                  {"email": "ada2@example.com", "primary": False}]
    assert prospect["primaryEmail"] == "ada@example.com"
    assert prospect["profileUrls"] == [{"kind": "linkedin", "url": "https://linkedin.com/in/adal"}]
    assert prospect["tags"] == ["ml", "python"]
    assert prospect["owner"]["id"] == to_global_id("User", world.members["recruiter"].user_id)


async def test_same_email_or_url_merges_instead_of_duplicating(gql, world: World):
    token = world.members["recruiter"].token
    first = (await create(gql, token, firstName="Grace", emails=["grace@navy.mil"]))["prospect"]
    again = await create(gql, token, firstName="G.", lastName="Hopper", emails=["GRACE@navy.mil"],
                         profileUrls=["github.com/grace"], tags=["cobol"])
    assert again["merged"] is True
    assert again["prospect"]["id"] == first["id"]
    assert again["prospect"]["firstName"] == "Grace"  # existing values are never overwritten
    assert again["prospect"]["lastName"] == "Hopper"  # missing ones are filled
    by_url = await create(gql, token, firstName="X", profileUrls=["https://GitHub.com/Grace/"])
    assert by_url["merged"] is True and by_url["prospect"]["id"] == first["id"]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"firstName": "A", "emails": ["not-an-email"]}, [(["input", "prospect", "emails"], "INVALID_EMAIL")]),
    ({"firstName": "A", "profileUrls": ["ftp://x"]}, [(["input", "prospect", "profileUrls"], "INVALID_URL")]),
    ({}, [(["input", "prospect", "firstName"], "REQUIRED")]),
    ({"firstName": "A", "customFields": [{"key": "nope", "value": 1}]},
     [(["input", "prospect", "customFields", "nope"], "NOT_FOUND")]),
    ({"firstName": "A", "tags": ["!bad"]}, [(["input", "prospect", "tags"], "INVALID")]),
    # each scalar is held to its column's length (PostgreSQL would refuse a longer one)
    ({"firstName": "A", "phone": "1" * 41}, [(["input", "prospect", "phone"], "OUT_OF_RANGE")]),
    ({"firstName": "A" * 101}, [(["input", "prospect", "firstName"], "OUT_OF_RANGE")]),
    ({"firstName": "A", "timeZone": "x" * 65}, [(["input", "prospect", "timeZone"], "OUT_OF_RANGE")]),
])
async def test_bad_input_is_a_user_error_and_writes_nothing(gql, world: World, fields, expected):
    scope = await world.scope()
    before = await count_prospects(scope)
    payload = await create(gql, world.admin.token, **fields)
    assert payload["prospect"] is None
    assert errors(payload) == expected
    assert await count_prospects(scope) == before


async def test_custom_fields_are_typed(gql, world: World):
    admin = world.admin.token
    defined = await gql("""mutation { defineCustomField(input: {key: "seniority", label: "Seniority",
        type: SINGLE_SELECT, options: ["junior", "senior"]}) { customField { key type options }
        errors { code } } }""", token=admin)
    assert defined["data"]["defineCustomField"]["customField"] == {
        "key": "seniority", "type": "SINGLE_SELECT", "options": ["junior", "senior"]}
    ok = await create(gql, admin, firstName="C", customFields=[{"key": "seniority", "value": "senior"}])
    assert ok["prospect"]["customFields"] == [{"key": "seniority", "value": "senior"}]
    bad = await create(gql, admin, firstName="D", customFields=[{"key": "seniority", "value": "cto"}])
    assert errors(bad) == [(["input", "prospect", "customFields", "seniority"], "INVALID")]


async def test_update_archive_and_merge(gql, world: World, queue):
    token = world.members["recruiter"].token
    a = (await create(gql, token, firstName="Alan", emails=["alan@x.org"], tags=["math"]))["prospect"]
    b = (await create(gql, token, firstName="A. M.", lastName="Turing", emails=["turing@x.org"],
                      tags=["crypto", "math"]))["prospect"]
    updated = (await gql(UPDATE, {"input": {"prospectId": a["id"], "prospect": {
        "title": "Mathematician", "tags": ["logic"]}}}, token=token))["data"]["updateProspect"]
    assert updated["prospect"]["title"] == "Mathematician"
    assert updated["prospect"]["tags"] == ["logic", "math"]
    clash = (await gql(UPDATE, {"input": {"prospectId": a["id"], "prospect": {
        "emails": ["turing@x.org"]}}}, token=token))["data"]["updateProspect"]
    assert errors(clash) == [(["input", "prospect", "emails"], "DUPLICATE")]

    merged = (await gql(MERGE, {"input": {"targetId": a["id"], "sourceId": b["id"]}},
                        token=token))["data"]["mergeProspects"]
    assert merged["errors"] == []
    assert sorted(e["email"] for e in merged["prospect"]["emails"]) == ["alan@x.org", "turing@x.org"]
    assert merged["prospect"]["tags"] == ["crypto", "logic", "math"]
    assert merged["prospect"]["lastName"] == "Turing"
    gone = await gql(NODE, {"id": b["id"]}, token=token)
    assert gone["data"]["node"] is None
    await queue.drain()
    feed = (await gql(NODE, {"id": a["id"]}, token=token))["data"]["node"]["activities"]
    kinds = [e["node"]["kind"] for e in feed["edges"]]
    assert kinds[0] == "MERGED" and "CREATED" in kinds

    archived = (await gql(ARCHIVE, {"input": {"prospectId": a["id"]}},
                          token=token))["data"]["archiveProspect"]
    assert archived["prospect"]["archivedAt"] is not None


async def test_notes_mention_members_and_land_in_the_feed(gql, world: World, queue):
    token = world.members["recruiter"].token
    p = (await create(gql, token, firstName="Hedy"))["prospect"]
    hm = world.members["hiring_manager"]
    note = (await gql(NOTE, {"input": {"prospectId": p["id"], "body": "Great fit @hank",
                                       "mentionIds": [to_global_id("User", hm.user_id)]}},
                      token=token))["data"]["addNote"]
    assert note["errors"] == []
    await gql(CALL, {"input": {"prospectId": p["id"], "summary": "Intro call"}}, token=token)
    await queue.drain()
    feed = (await gql(NODE, {"id": p["id"]}, token=token))["data"]["node"]["activities"]["edges"]
    assert [e["node"]["kind"] for e in feed] == ["CALL_LOGGED", "NOTE", "CREATED"]
    assert feed[1]["node"]["details"]["body"] == "Great fit @hank"
    assert feed[1]["node"]["actor"]["id"] == to_global_id("User", world.members["recruiter"].user_id)
    inbox = await gql("{ notifications { edges { node { kind payload } } } }", token=hm.token)
    [mention] = inbox["data"]["notifications"]["edges"]
    assert mention["node"]["kind"] == "mention"
    assert mention["node"]["payload"]["prospectId"]

    too_long = (await gql(NOTE, {"input": {"prospectId": p["id"], "body": "x" * 10_001}},
                          token=token))["data"]["addNote"]
    assert errors(too_long) == [(["input", "body"], "OUT_OF_RANGE")]


async def test_demographics_are_for_admins_only(gql, world: World):
    p = (await create(gql, world.admin.token, firstName="Kat"))["prospect"]
    await gql("""mutation($id: ID!) { setProspectDemographics(input: {prospectId: $id,
        demographics: {gender: "woman"}}) { errors { code } } }""", {"id": p["id"]},
              token=world.members["recruiter"].token)
    query = 'query($id: ID!) { node(id: $id) { ... on Prospect { demographics } } }'
    as_admin = await gql(query, {"id": p["id"]}, token=world.admin.token)
    as_recruiter = await gql(query, {"id": p["id"]}, token=world.members["recruiter"].token)
    assert as_admin["data"]["node"]["demographics"] == {"gender": "woman"}
    assert as_recruiter["data"]["node"]["demographics"] is None


async def test_rules_of_engagement_warn_or_block(gql, world: World):
    rec, hm = world.members["recruiter"], world.members["hiring_manager"]
    p = (await create(gql, rec.token, firstName="Owned"))["prospect"]
    scope = await world.scope("recruiter")
    from api.relay import expect_id

    await service.claim_engagement(scope, prospect_id=expect_id(p["id"], "Prospect"),
                                   owner_id=rec.user_id, reason="sequence")
    query = """query($id: ID!) { engagementCheck(prospectId: $id) { allowed warning reason
        owner { id } } }"""
    mine = (await gql(query, {"id": p["id"]}, token=rec.token))["data"]["engagementCheck"]
    assert mine["allowed"] is True and mine["warning"] is None
    theirs = (await gql(query, {"id": p["id"]}, token=hm.token))["data"]["engagementCheck"]
    assert theirs["allowed"] is True and "owns this relationship" in theirs["warning"]
    assert theirs["owner"]["id"] == to_global_id("User", rec.user_id)
    assert theirs["reason"] == "sequence"
    await gql('mutation { updateTenant(input: {settings: {engagementPolicy: BLOCK}}) { errors { code } } }',
              token=world.admin.token)
    blocked = (await gql(query, {"id": p["id"]}, token=hm.token))["data"]["engagementCheck"]
    assert blocked["allowed"] is False


async def test_viewers_cannot_write(gql, world: World):
    body = await gql(CREATE, {"input": {"prospect": {"firstName": "V"}}},
                     token=world.members["viewer"].token, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_another_tenants_prospects_are_not_found(gql, world: World, other_world: World):
    theirs = (await create(gql, other_world.admin.token, firstName="Secret",
                           emails=["secret@other.org"]))["prospect"]
    token = world.admin.token
    assert (await gql(NODE, {"id": theirs["id"]}, token=token))["data"]["node"] is None
    for mutation, key, variables in [
        (UPDATE, "updateProspect", {"prospectId": theirs["id"], "prospect": {"title": "x"}}),
        (ARCHIVE, "archiveProspect", {"prospectId": theirs["id"]}),
        (NOTE, "addNote", {"prospectId": theirs["id"], "body": "hi"}),
        (CALL, "logCall", {"prospectId": theirs["id"], "summary": "hi"}),
    ]:
        payload = (await gql(mutation, {"input": variables}, token=token))["data"][key]
        assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"], key
    mine = (await create(gql, token, firstName="Mine"))["prospect"]
    merge = (await gql(MERGE, {"input": {"targetId": mine["id"], "sourceId": theirs["id"]}},
                       token=token))["data"]["mergeProspects"]
    assert errors(merge) == [(["input", "sourceId"], "NOT_FOUND")]
    # the same email in my tenant is a new prospect, not a merge into theirs
    same = await create(gql, token, firstName="Other", emails=["secret@other.org"])
    assert same["merged"] is False
    check = await gql('query($id: ID!) { engagementCheck(prospectId: $id) { allowed } }',
                      {"id": theirs["id"]}, token=token)
    assert check["data"]["engagementCheck"] is None
    theirs_after = await gql(NODE, {"id": theirs["id"]}, token=other_world.admin.token)
    assert theirs_after["data"]["node"]["title"] == ""
