"""Projects over GraphQL: create, read through node(id:) and projects(...), share and join by
link, add and remove prospects, stats; permissions; typed user errors; and another tenant's
IDs behaving exactly like unknown ones in every query and mutation."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest

from api.relay import to_global_id
from domain.core import clock, db
from domain.core.config import settings
from domain.core.ids import uuid7
from domain.prospects import saved_searches, service
from domain.prospects.models import Prospect
from domain.prospects.rules import ProspectData
from domain.prospects.search import ProspectFilter
from tests.conftest import World
from tests.query_count import counting_selects

ERRORS = "errors { field code message }"
FIELDS = """id name description visibility hasShareLink archivedAt owner { id } members { id }
    viewerCanEdit viewerCanShare
    stats { prospects contacted opened replied contactedRate openRate replyRate }
    prospects(first: 50) { edges { node { id name } } pageInfo { hasNextPage } }"""


def mutation(name: str, selection: str = "") -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ "
            f"project {{ {FIELDS} }} {selection} {ERRORS} }} }}")


CREATE = mutation("createProject", "shareLink")
UPDATE = mutation("updateProject")
ARCHIVE = mutation("archiveProject")
SHARE = mutation("shareProject", "shareLink")
ROTATE = mutation("rotateProjectShareLink", "shareLink")
JOIN = mutation("joinProjectByLink")
ADD = mutation("addProspectsToProject", "addedCount")
REMOVE = mutation("removeProspectsFromProject", "removedCount")
NODE = f"query($id: ID!) {{ node(id: $id) {{ __typename ... on Project {{ {FIELDS} }} }} }}"
LIST = """query($first: Int, $after: String, $archived: Boolean! = false, $prospect: ID) {
    projects(first: $first, after: $after, includeArchived: $archived, prospectId: $prospect) {
      edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }"""


def gid(type_name: str, raw: Any) -> str:
    return to_global_id(type_name, raw)


def user(world: World, role: str) -> str:
    return gid("User", world.members[role].user_id)


def token(world: World, role: str) -> str:
    return world.members[role].token


async def run(gql: Any, document: str, input: dict[str, Any], tok: str) -> dict[str, Any]:
    body = await gql(document, {"input": input}, token=tok)
    return next(iter(body["data"].values()))  # type: ignore[no-any-return]


def errors(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def create(gql: Any, world: World, role: str = "recruiter", **fields: Any
                 ) -> dict[str, Any]:
    payload = await run(gql, CREATE, {"name": "Backend pool", **fields}, token(world, role))
    assert payload["errors"] == [], payload
    return payload


async def prospects(world: World, *names: str) -> list[str]:
    scope = await world.scope("recruiter")
    made = []
    for name in names:
        prospect, _ = await service.save_prospect(scope, ProspectData(first_name=name))
        made.append(gid("Prospect", prospect.id))
    return made


async def node(gql: Any, tok: str, global_id: str) -> Any:
    return (await gql(NODE, {"id": global_id}, token=tok))["data"]["node"]


async def listed(gql: Any, tok: str, **variables: Any) -> list[str]:
    body = await gql(LIST, {"first": 100, **variables}, token=tok)
    return [e["node"]["id"] for e in body["data"]["projects"]["edges"]]


def raw_id(global_id: str) -> UUID:
    import base64

    padded = global_id + "=" * (-len(global_id) % 4)
    return UUID(base64.urlsafe_b64decode(padded).decode().partition(":")[2])


def link_token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def forbidden(body: dict[str, Any]) -> bool:
    return body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == [
        "FORBIDDEN"]


# --- happy paths ---------------------------------------------------------------------------------

async def test_create_and_read_through_node(gql, world):
    payload = await create(gql, world, description="Go and Rust", visibility="MEMBERS",
                           memberIds=[user(world, "sourcer")])
    project = payload["project"]
    assert payload["shareLink"] is None
    assert project == {
        "id": project["id"], "name": "Backend pool", "description": "Go and Rust",
        "visibility": "MEMBERS", "hasShareLink": False, "archivedAt": None,
        "owner": {"id": user(world, "recruiter")}, "members": [{"id": user(world, "sourcer")}],
        "viewerCanEdit": True, "viewerCanShare": True,
        "stats": {"prospects": 0, "contacted": 0, "opened": 0, "replied": 0,
                  "contactedRate": 0.0, "openRate": 0.0, "replyRate": 0.0},
        "prospects": {"edges": [], "pageInfo": {"hasNextPage": False}},
    }
    assert await node(gql, token(world, "recruiter"), project["id"]) == {
        "__typename": "Project", **project}
    as_member = await node(gql, token(world, "sourcer"), project["id"])
    assert (as_member["viewerCanEdit"], as_member["viewerCanShare"]) == (True, False)
    as_admin = await node(gql, token(world, "admin"), project["id"])
    assert (as_admin["viewerCanEdit"], as_admin["viewerCanShare"]) == (True, True)
    assert await node(gql, token(world, "coordinator"), project["id"]) is None


async def test_projects_lists_what_the_caller_sees_newest_first_in_pages(gql, world):
    made = [(await create(gql, world, name=f"P{n}"))["project"]["id"] for n in range(3)]
    public = (await create(gql, world, name="Public", visibility="TENANT"))["project"]["id"]
    assert await listed(gql, token(world, "recruiter")) == [public, *made[::-1]]
    assert await listed(gql, token(world, "admin")) == [public, *made[::-1]]
    assert await listed(gql, token(world, "viewer")) == [public]
    body = await gql(LIST, {"first": 2}, token=token(world, "recruiter"))
    page = body["data"]["projects"]
    assert [e["node"]["id"] for e in page["edges"]] == [public, made[2]]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await listed(gql, token(world, "recruiter"), after=page["pageInfo"]["endCursor"])
    assert rest == made[1::-1]
    bad = await gql(LIST, {"first": 100, "after": "nope"}, token=token(world, "recruiter"),
                    expect_errors=True)
    assert bad["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_update_and_archive(gql, world):
    project = (await create(gql, world))["project"]
    updated = await run(gql, UPDATE, {"projectId": project["id"], "name": " Infra "},
                        token(world, "recruiter"))
    assert (updated["project"]["name"], updated["project"]["description"]) == ("Infra", "")
    archived = await run(gql, ARCHIVE, {"projectId": project["id"]}, token(world, "recruiter"))
    assert archived["project"]["archivedAt"] is not None
    assert archived["project"]["viewerCanEdit"] is False
    assert await listed(gql, token(world, "recruiter")) == []
    assert await listed(gql, token(world, "recruiter"), archived=True) == [project["id"]]
    refused = await run(gql, UPDATE, {"projectId": project["id"], "name": "X"},
                        token(world, "recruiter"))
    assert errors(refused) == [(["input", "projectId"], "INVALID")]
    assert refused["project"] is None


async def test_add_and_remove_prospects_idempotently_with_activity(gql, world, queue):
    project = (await create(gql, world))["project"]["id"]
    a, b, c = await prospects(world, "Ada", "Bob", "Cy")
    tok = token(world, "recruiter")
    added = await run(gql, ADD, {"projectId": project, "prospectIds": [b, a, b]}, tok)
    assert added["addedCount"] == 2 and added["errors"] == []
    again = await run(gql, ADD, {"projectId": project, "prospectIds": [a, b, c]}, tok)
    assert again["addedCount"] == 1
    assert [e["node"]["id"] for e in again["project"]["prospects"]["edges"]] == [b, a, c]
    assert again["project"]["stats"]["prospects"] == 3
    await queue.drain()
    feed = await gql("""query($id: ID!) { node(id: $id) { ... on Prospect {
        activities(kinds: [PROJECT_ADDED]) { nodes { kind details actor { id } } } } } }""",
                     {"id": b}, token=tok)
    assert feed["data"]["node"]["activities"]["nodes"] == [
        {"kind": "PROJECT_ADDED", "details": {"projectId": str(raw_id(project))},
         "actor": {"id": user(world, "recruiter")}}]
    removed = await run(gql, REMOVE, {"projectId": project, "prospectIds": [a, a]}, tok)
    assert removed["removedCount"] == 1
    assert [e["node"]["id"] for e in removed["project"]["prospects"]["edges"]] == [b, c]
    assert (await run(gql, REMOVE, {"projectId": project, "prospectIds": [a]}, tok)
            )["removedCount"] == 0
    assert await listed(gql, tok, prospect=b) == [project]
    assert await listed(gql, tok, prospect=a) == []


async def test_stats(gql, world):
    project = (await create(gql, world))["project"]["id"]
    made = await prospects(world, "A", "B", "C", "D")
    await run(gql, ADD, {"projectId": project, "prospectIds": made}, token(world, "recruiter"))
    scope = await world.scope()
    async with db.tenant_tx(scope):
        await Prospect.filter(id__in=[raw_id(made[0]), raw_id(made[1])]).update(
            last_contacted_at=clock.now())
        await Prospect.filter(id=raw_id(made[0])).update(last_replied_at=clock.now())
    stats = (await node(gql, token(world, "recruiter"), project))["stats"]
    assert stats == {"prospects": 4, "contacted": 2, "opened": 0, "replied": 1,
                     "contactedRate": 0.5, "openRate": 0.0, "replyRate": 0.5}


async def test_share_with_the_tenant_then_join_by_link(gql, world):
    project = (await create(gql, world))["project"]["id"]
    shared = await run(gql, SHARE, {"projectId": project, "visibility": "TENANT"},
                       token(world, "recruiter"))
    link = shared["shareLink"]
    assert link.startswith(f"{settings().public_base_url}/projects/{project}?token=tgp_")
    assert shared["project"]["hasShareLink"] is True
    sourcer = token(world, "sourcer")
    seen = await node(gql, sourcer, project)
    assert (seen["visibility"], seen["viewerCanEdit"]) == ("TENANT", False)
    joined = await run(gql, JOIN, {"token": link_token(link)}, sourcer)
    assert joined["project"]["id"] == project and joined["project"]["viewerCanEdit"] is True
    assert joined["project"]["members"] == [{"id": user(world, "sourcer")}]
    # a member edits, but sharing stays with the owner and admins
    body = await gql(SHARE, {"input": {"projectId": project, "visibility": "PRIVATE"}},
                     token=sourcer, expect_errors=True)
    assert forbidden(body)
    rotated = await run(gql, ROTATE, {"projectId": project}, token(world, "recruiter"))
    assert rotated["shareLink"] != link
    stale = await run(gql, JOIN, {"token": link_token(link)}, token(world, "coordinator"))
    assert errors(stale) == [(["input", "token"], "INVALID_TOKEN")]
    private = await run(gql, SHARE, {"projectId": project, "visibility": "PRIVATE"},
                        token(world, "recruiter"))
    assert (private["project"]["hasShareLink"], private["project"]["members"],
            private["shareLink"]) == (False, [], None)
    assert await node(gql, sourcer, project) is None


# --- permissions and bad input -------------------------------------------------------------------

async def test_viewers_cannot_create_or_edit(gql, world):
    body = await gql(CREATE, {"input": {"name": "Mine"}}, token=token(world, "viewer"),
                     expect_errors=True)
    assert forbidden(body)
    project = (await create(gql, world, visibility="MEMBERS",
                            memberIds=[user(world, "viewer")]))["project"]["id"]
    [ada] = await prospects(world, "Ada")
    seen = await node(gql, token(world, "viewer"), project)
    assert (seen["viewerCanEdit"], seen["viewerCanShare"]) == (False, False)
    for document, input in ((ADD, {"projectId": project, "prospectIds": [ada]}),
                            (UPDATE, {"projectId": project, "name": "Mine"}),
                            (SHARE, {"projectId": project, "visibility": "TENANT"})):
        body = await gql(document, {"input": input}, token=token(world, "viewer"),
                         expect_errors=True)
        assert forbidden(body), body
    after = await node(gql, token(world, "recruiter"), project)
    assert (after["name"], after["visibility"], after["stats"]["prospects"]) == (
        "Backend pool", "MEMBERS", 0)
    assert await listed(gql, token(world, "viewer")) == [project]


async def test_private_projects_do_not_exist_for_others(gql, world):
    project = (await create(gql, world))["project"]["id"]
    [ada] = await prospects(world, "Ada")
    sourcer = token(world, "sourcer")
    assert await node(gql, sourcer, project) is None
    assert await listed(gql, sourcer) == []
    unknown = gid("Project", uuid7())
    for document, input in ((ADD, {"prospectIds": [ada]}), (REMOVE, {"prospectIds": [ada]}),
                            (UPDATE, {"name": "Mine"}), (ARCHIVE, {}), (ROTATE, {}),
                            (SHARE, {"visibility": "TENANT"})):
        hidden = await run(gql, document, {"projectId": project, **input}, sourcer)
        assert hidden == await run(gql, document, {"projectId": unknown, **input}, sourcer)
        assert errors(hidden) == [(["input", "projectId"], "NOT_FOUND")]


async def test_bad_input_is_typed_user_errors_and_writes_nothing(gql, world):
    tok = token(world, "recruiter")
    payload = await run(gql, CREATE, {"name": " ", "description": "d" * 5001}, tok)
    assert errors(payload) == [(["input", "name"], "REQUIRED"),
                               (["input", "description"], "OUT_OF_RANGE")]
    assert (payload["project"], payload["shareLink"]) == (None, None)
    for members in (["garbage"], [gid("User", uuid7())], [gid("Prospect", uuid7())]):
        payload = await run(gql, CREATE, {"name": "P", "visibility": "MEMBERS",
                                          "memberIds": members}, tok)
        assert errors(payload) == [(["input", "memberIds"], "NOT_FOUND")], members
    payload = await run(gql, CREATE, {"name": "P", "memberIds": [user(world, "sourcer")]}, tok)
    assert errors(payload) == [(["input", "memberIds"], "INVALID")]
    assert await listed(gql, tok, archived=True) == []

    project = (await create(gql, world))["project"]["id"]
    [ada] = await prospects(world, "Ada")
    for ids, code in (([], "REQUIRED"), (["garbage"], "NOT_FOUND"),
                      ([ada, gid("Prospect", uuid7())], "NOT_FOUND"),
                      ([gid("Project", raw_id(ada))], "NOT_FOUND")):
        payload = await run(gql, ADD, {"projectId": project, "prospectIds": ids}, tok)
        assert errors(payload) == [(["input", "prospectIds"], code)], ids
        assert (payload["project"], payload["addedCount"]) == (None, None)
    for bad in ("garbage", "", gid("Prospect", raw_id(project))):
        payload = await run(gql, ADD, {"projectId": bad, "prospectIds": [ada]}, tok)
        assert errors(payload) == [(["input", "projectId"], "NOT_FOUND")], bad
    payload = await run(gql, ROTATE, {"projectId": project}, tok)
    assert errors(payload) == [(["input", "projectId"], "INVALID")]
    assert (await node(gql, tok, project))["stats"]["prospects"] == 0


async def test_add_by_saved_search(gql, world, other_world):
    tok = token(world, "recruiter")
    project = (await create(gql, world))["project"]["id"]
    scope = await world.scope("recruiter")
    for name in ("Ada", "Bob"):
        await service.save_prospect(scope, ProspectData(first_name=name, tags=["go"]))
    await prospects(world, "Cy")
    saved = await saved_searches.create_saved_search(scope, name="Gophers",
                                                     filter=ProspectFilter(tags_any=["go"]))
    saved_id = gid("SavedSearch", saved.id)
    added = await run(gql, ADD, {"projectId": project, "savedSearchId": saved_id}, tok)
    assert (added["addedCount"], added["project"]["stats"]["prospects"]) == (2, 2)
    assert sorted(e["node"]["name"] for e in added["project"]["prospects"]["edges"]) == [
        "Ada", "Bob"]
    [cy] = await prospects(world, "Cy2")
    for input in ({}, {"prospectIds": [cy], "savedSearchId": saved_id}):
        payload = await run(gql, ADD, {"projectId": project, **input}, tok)
        assert errors(payload) == [(["input", "prospectIds"], "INVALID")], input
    theirs = await saved_searches.create_saved_search(
        await other_world.scope("recruiter"), name="Theirs", filter=ProspectFilter())
    crossed = await run(gql, ADD, {"projectId": project,
                                   "savedSearchId": gid("SavedSearch", theirs.id)}, tok)
    unknown = await run(gql, ADD, {"projectId": project,
                                   "savedSearchId": gid("SavedSearch", uuid7())}, tok)
    malformed = await run(gql, ADD, {"projectId": project, "savedSearchId": "garbage"}, tok)
    assert errors(crossed) == [(["input", "savedSearchId"], "NOT_FOUND")]
    assert crossed == unknown == malformed
    assert (await node(gql, tok, project))["stats"]["prospects"] == 2


# --- another tenant's IDs --------------------------------------------------------------------------

async def their_world_state(gql: Any, other_world: World, project: str) -> Any:
    return await node(gql, token(other_world, "admin"), project)


PROJECT_MUTATIONS = [
    (UPDATE, {"name": "Mine"}),
    (ARCHIVE, {}),
    (SHARE, {"visibility": "PRIVATE"}),
    (SHARE, {"visibility": "MEMBERS", "memberIds": []}),
    (ROTATE, {}),
    (ADD, {"prospectIds": ["MINE"]}),
    (REMOVE, {"prospectIds": ["MINE"]}),
]


@pytest.mark.parametrize(("document", "input"), PROJECT_MUTATIONS)
async def test_mutations_treat_another_tenants_project_as_unknown(
        gql, world, other_world, document, input):
    theirs = (await create(gql, other_world, visibility="TENANT"))["project"]["id"]
    [their_prospect] = await prospects(other_world, "Theirs")
    await run(gql, ADD, {"projectId": theirs, "prospectIds": [their_prospect]},
              token(other_world, "recruiter"))
    before = await their_world_state(gql, other_world, theirs)
    [mine] = await prospects(world, "Ada")
    input = {k: [mine] if v == ["MINE"] else v for k, v in input.items()}
    tok = token(world, "admin")  # even our admin
    crossed = await run(gql, document, {"projectId": theirs, **input}, tok)
    unknown = await run(gql, document, {"projectId": gid("Project", uuid7()), **input}, tok)
    assert errors(crossed) == [(["input", "projectId"], "NOT_FOUND")]
    assert crossed == unknown  # indistinguishable, message included
    assert await their_world_state(gql, other_world, theirs) == before


async def test_another_tenants_prospects_and_members_are_unknown(gql, world, other_world):
    tok = token(world, "recruiter")
    project = (await create(gql, world, visibility="MEMBERS"))["project"]["id"]
    [mine] = await prospects(world, "Ada")
    [theirs] = await prospects(other_world, "Theirs")
    for document in (ADD, REMOVE):
        crossed = await run(gql, document, {"projectId": project,
                                            "prospectIds": [mine, theirs]}, tok)
        unknown = await run(gql, document, {"projectId": project,
                                            "prospectIds": [mine, gid("Prospect", uuid7())]}, tok)
        assert errors(crossed) == [(["input", "prospectIds"], "NOT_FOUND")]
        assert crossed == unknown
    their_user, nobody = user(other_world, "recruiter"), gid("User", uuid7())
    for document, input in ((CREATE, {"name": "P", "visibility": "MEMBERS"}),
                            (SHARE, {"projectId": project, "visibility": "MEMBERS"})):
        crossed = await run(gql, document, {**input, "memberIds": [their_user]}, tok)
        unknown = await run(gql, document, {**input, "memberIds": [nobody]}, tok)
        assert errors(crossed) == [(["input", "memberIds"], "NOT_FOUND")]
        assert crossed == unknown
    after = await node(gql, tok, project)
    assert (after["members"], after["stats"]["prospects"]) == ([], 0)
    assert await listed(gql, tok) == [project]


async def test_another_tenants_share_link_is_an_invalid_link(gql, world, other_world):
    link = (await create(gql, other_world, visibility="TENANT"))["shareLink"]
    theirs = urlsplit(link).path.rsplit("/", 1)[1]
    tok = token(world, "sourcer")
    crossed = await run(gql, JOIN, {"token": link_token(link)}, tok)
    forged = await run(gql, JOIN, {"token": "tgp_" + "x" * 43}, tok)
    assert errors(crossed) == [(["input", "token"], "INVALID_TOKEN")]
    assert crossed == forged
    assert (await their_world_state(gql, other_world, theirs))["members"] == []


async def test_queries_treat_another_tenants_ids_as_unknown(gql, world, other_world):
    theirs = (await create(gql, other_world, visibility="TENANT"))["project"]["id"]
    [their_prospect] = await prospects(other_world, "Theirs")
    await run(gql, ADD, {"projectId": theirs, "prospectIds": [their_prospect]},
              token(other_world, "recruiter"))
    mine = (await create(gql, world, visibility="TENANT"))["project"]["id"]
    tok = token(world, "admin")
    assert await node(gql, tok, theirs) is None
    assert await node(gql, tok, gid("Project", uuid7())) is None
    body = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                     {"ids": [theirs, mine, "garbage"]}, token=tok)
    assert body["data"]["nodes"] == [None, {"id": mine}, None]
    assert await listed(gql, tok, archived=True) == [mine]
    for prospect in (their_prospect, gid("Prospect", uuid7()), "garbage"):
        assert await listed(gql, tok, prospect=prospect) == [], prospect


WITH_PROSPECTS = """{ projects(first: 20) { nodes { name
    prospects(first: 2) { nodes { name } pageInfo { hasNextPage } } } } }"""


async def test_a_list_of_projects_with_their_prospects_costs_the_same_queries_whatever_its_length(
        gql, world, queue):
    people = await prospects(world, "Ann", "Bo", "Cy")

    async def grow(count: int) -> None:
        for n in range(count):
            project = (await create(gql, world, name=f"Pool {n}"))["project"]["id"]
            payload = await run(gql, ADD, {"projectId": project, "prospectIds": people},
                                token(world, "recruiter"))
            assert payload["errors"] == []

    async def count() -> tuple[int, list[dict[str, Any]]]:
        await queue.drain()  # the adds' events: their dispatch is not the listing's queries
        with counting_selects() as seen:
            body = await gql(WITH_PROSPECTS, token=token(world, "recruiter"))
        return len(seen), body["data"]["projects"]["nodes"]

    await grow(1)
    await count()  # warm: first-use lookups are not the point
    few, nodes = await count()
    await grow(5)
    many, nodes = await count()
    assert len(nodes) == 6 and all(
        [p["name"] for p in n["prospects"]["nodes"]] == ["Ann", "Bo"]
        and n["prospects"]["pageInfo"]["hasNextPage"] for n in nodes)
    assert many == few
