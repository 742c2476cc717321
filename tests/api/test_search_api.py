"""Rediscovery search over GraphQL: prospects(filter:, orderBy:) with cursor pages, saved
searches, bulk actions; typed errors naming the argument or input field; another tenant's IDs
behave as unknown ones; a page costs the same number of SQL queries whatever its size."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from api.relay import to_global_id
from domain.core import db
from domain.pipeline import jobs
from domain.prospects import projects, service
from domain.prospects.models import Prospect
from domain.prospects.rules import ProspectData
from domain.tenancy.sessions import forget_cached_auth
from tests.conftest import World

SEARCH = """
query($filter: ProspectFilterInput, $orderBy: ProspectOrderInput, $first: Int, $after: String,
      $last: Int, $before: String) {
  prospects(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last,
            before: $before) {
    edges { cursor node { id name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
PAGE_WITH_RELATIONS = """
query($first: Int!) {
  prospects(first: $first, orderBy: {field: NAME}) {
    edges { node { id name emails { email primary } tags owner { id name email }
                   lastActivityAt } }
  }
}"""
CREATE_SAVED = """
mutation($input: CreateSavedSearchInput!) { createSavedSearch(input: $input) {
  savedSearch { id name filter orderBy { field direction } } errors { field code message } } }"""
DELETE_SAVED = """
mutation($id: ID!) { deleteSavedSearch(input: {savedSearchId: $id}) {
  deletedSavedSearchId errors { field code message } } }"""
SAVED = "{ savedSearches(first: 10) { edges { node { id name filter } } } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on SavedSearch { name } } }"
BULK_TAG = """
mutation($input: BulkTagProspectsInput!) { bulkTagProspects(input: $input) {
  matchedCount affectedCount errors { field code message } } }"""
BULK_OWNER = """
mutation($input: BulkChangeProspectOwnerInput!) { bulkChangeProspectOwner(input: $input) {
  matchedCount affectedCount errors { field code message } } }"""
BULK_PROJECT = """
mutation($input: BulkAddProspectsToProjectInput!) { bulkAddProspectsToProject(input: $input) {
  matchedCount affectedCount errors { field code message } } }"""


async def seed(world: World, queue: Any) -> dict[str, str]:
    """Global ids by first name."""
    scope = await world.scope("recruiter")
    people = [
        ProspectData(first_name="Ada", last_name="Lovelace", title="Python Engineer",
                     location="London", source="linkedin", tags=["python", "ml"],
                     emails=["ada@example.com"]),
        ProspectData(first_name="Alan", last_name="Turing", title="Python Mathematician",
                     location="London", source="referral", tags=["crypto"]),
        ProspectData(first_name="Grace", last_name="Hopper", title="COBOL Developer",
                     location="Arlington", source="linkedin", tags=["python"]),
        ProspectData(first_name="Linus", last_name="Torvalds", title="Kernel Engineer",
                     location="Portland", source="github", tags=["c"]),
        ProspectData(first_name="Margaret", last_name="Hamilton", title="Python Engineer",
                     location="Boston", source="linkedin", tags=["python", "ml"]),
    ]
    ids = {}
    for data in people:
        prospect, _ = await service.save_prospect(scope, data)
        ids[data.first_name or ""] = to_global_id("Prospect", prospect.id)
    await queue.drain()
    return ids


async def search(gql: Any, token: str, **variables: Any) -> dict[str, Any]:
    body = await gql(SEARCH, variables, token=token)
    return body["data"]["prospects"]  # type: ignore[no-any-return]


def names(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["name"].split()[0] for e in connection["edges"]]


async def bad(gql: Any, token: str, **variables: Any) -> dict[str, Any]:
    body = await gql(SEARCH, variables, token=token, expect_errors=True)
    assert body["data"] is None
    assert len(body["errors"]) == 1 and body["errors"][0]["path"] == ["prospects"]
    return body["errors"][0]["extensions"]  # type: ignore[no-any-return]


# --- the query -------------------------------------------------------------------------------

async def test_text_and_filters(gql, world, queue):
    await seed(world, queue)
    token = world.members["viewer"].token
    assert names(await search(gql, token, filter={"text": "python engineer"},
                              orderBy={"field": "NAME"})) == ["Ada", "Margaret"]
    assert names(await search(gql, token, filter={"text": "python", "sources": ["linkedin"],
                                                  "tagsAny": ["ml", "crypto"]},
                              orderBy={"field": "NAME"})) == ["Ada", "Margaret"]
    assert names(await search(gql, token, filter={"locations": ["lond"], "tagsAll": ["PYTHON"]}
                              )) == ["Ada"]
    assert names(await search(gql, token, filter={"contactStatus": "NEVER_CONTACTED",
                                                  "sources": ["github"]})) == ["Linus"]
    owner = to_global_id("User", world.members["recruiter"].user_id)
    assert len((await search(gql, token, filter={"ownerIds": [owner]}))["edges"]) == 5


async def test_pages_through_cursors_without_overlap(gql, world, queue):
    await seed(world, queue)
    token = world.admin.token
    order = {"field": "NAME", "direction": "DESC"}
    everyone = names(await search(gql, token, orderBy=order, first=100))
    assert everyone == ["Margaret", "Linus", "Grace", "Alan", "Ada"]
    seen, after = [], None
    while True:
        page = await search(gql, token, orderBy=order, first=2, after=after)
        seen += names(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everyone
    last = await search(gql, token, orderBy=order, last=2)
    assert names(last) == ["Alan", "Ada"]
    before = await search(gql, token, orderBy=order, last=2,
                          before=last["pageInfo"]["startCursor"])
    assert names(before) == ["Linus", "Grace"]
    assert before["pageInfo"] == {**before["pageInfo"], "hasNextPage": True,
                                  "hasPreviousPage": True}


async def test_relevance_orders_text_results(gql, world, queue):
    await seed(world, queue)
    result = await search(gql, world.admin.token, filter={"text": "python"}, first=2)
    assert len(result["edges"]) == 2 and result["pageInfo"]["hasNextPage"]
    rest = await search(gql, world.admin.token, filter={"text": "python"}, first=10,
                        after=result["pageInfo"]["endCursor"])
    assert sorted(names(result) + names(rest)) == ["Ada", "Alan", "Margaret"]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(("variables", "field"), [
    ({"first": 101}, "first"),
    ({"last": -1}, "last"),
    ({"first": 2, "last": 2}, "last"),
    ({"after": "garbage"}, "after"),
    ({"before": _b64("s:[1,2]")}, "before"),
    ({"after": _b64("c:01890000-0000-7000-8000-000000000000")}, "after"),  # another cursor kind
    ({"after": _b64('s:["name",["x"],"01890000-0000-7000-8000-000000000000"]')}, "after"),
])
async def test_bad_page_arguments_name_the_argument(gql, world, variables, field):
    # the last one is a valid cursor of the NAME ordering, used with the default ordering
    extensions = await bad(gql, world.admin.token, **variables)
    assert extensions == {"code": "BAD_USER_INPUT", "field": field}


@pytest.mark.parametrize(("condition", "field"), [
    ({"key": "shoe_size", "equals": 42}, ["filter", "customFields", "0", "key"]),
    ({"key": "years", "min": "many"}, ["filter", "customFields", "0", "min"]),
    ({"key": "years"}, ["filter", "customFields", "0"]),
])
async def test_bad_custom_field_conditions_name_the_field(gql, world, condition, field):
    await service.define_custom_field(await world.scope(), key="years", label="Years",
                                      kind="number", options=[])
    extensions = await bad(gql, world.admin.token, filter={"customFields": [condition]})
    assert extensions == {"code": "BAD_USER_INPUT", "field": field}


async def test_custom_field_conditions_over_graphql(gql, world, queue):
    ids = await seed(world, queue)
    admin = await world.scope()
    await service.define_custom_field(admin, key="years", label="Years", kind="number",
                                      options=[])
    from api.relay import from_global_id

    decoded = from_global_id(ids["Grace"])
    assert decoded is not None
    await service.update_prospect(admin, prospect_id=decoded[1],
                                  data=ProspectData(custom_fields={"years": 30}))
    result = await search(gql, world.admin.token,
                          filter={"customFields": [{"key": "years", "min": 10}]})
    assert names(result) == ["Grace"]


async def test_another_tenants_prospects_and_ids_match_nothing(gql, world, other_world, queue):
    mine = await seed(world, queue)
    theirs = await seed(other_world, queue)
    token = world.admin.token
    everything = await search(gql, token, first=100)
    assert {e["node"]["id"] for e in everything["edges"]} == set(mine.values())
    assert not {e["node"]["id"] for e in everything["edges"]} & set(theirs.values())
    their_owner = to_global_id("User", other_world.members["recruiter"].user_id)
    assert (await search(gql, token, filter={"ownerIds": [their_owner]}))["edges"] == []
    project, _ = await projects.create_project(await other_world.scope("recruiter"), name="P")
    their_project = to_global_id("Project", project.id)
    assert (await search(gql, token, filter={"projectIds": [their_project]}))["edges"] == []
    their_job = await jobs.create_job(await other_world.scope("recruiter"),
                                      data=jobs.JobData(title="Theirs"))
    assert (await search(gql, token, filter={"jobIds": [to_global_id("Job", their_job.id)]})
            )["edges"] == []
    # malformed ids and ids of another type match nothing too (they never widen a filter)
    for odd in ("garbage", mine["Ada"]):
        assert (await search(gql, token, filter={"ownerIds": [odd]}))["edges"] == []
        assert (await search(gql, token, filter={"projectIds": [odd]}))["edges"] == []


async def test_search_needs_a_caller(gql):
    body = await gql(SEARCH, {"first": 1}, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- query count -----------------------------------------------------------------------------

class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(str(record.msg % record.args if record.args else record.msg))


async def _count(gql: Any, token: str, first: int) -> tuple[int, list[str]]:
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    forget_cached_auth()  # every request checks its session the same way
    try:
        body = await gql(PAGE_WITH_RELATIONS, {"first": first}, token=token)
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    edges = body["data"]["prospects"]["edges"]
    assert len(edges) == first
    assert all(e["node"]["emails"] and e["node"]["tags"] and e["node"]["owner"]
               and e["node"]["lastActivityAt"] for e in edges)
    return len(counter.statements), counter.statements


async def test_a_page_costs_the_same_queries_whatever_its_size(gql, world, queue):
    scope = await world.scope("recruiter")
    owners = [m.user_id for m in world.members.values()]
    for n in range(50):
        await service.save_prospect(scope, ProspectData(
            first_name=f"P{n:02d}", emails=[f"p{n}@example.com", f"p{n}@work.example.com"],
            tags=[f"t{n % 7}", "pool"], owner_id=owners[n % len(owners)]))
    await queue.drain()
    token = world.admin.token
    await _count(gql, token, 5)  # warm: first-use lookups of the process are not the point
    small, _ = await _count(gql, token, 5)
    large, statements = await _count(gql, token, 50)
    assert small == large, statements
    # auth (session, membership), the page, emails, tags, owners (membership, users); on
    # PostgreSQL also each transaction's tenant setting and the search's plan setting
    assert large <= 13, statements


# --- saved searches --------------------------------------------------------------------------

async def test_saved_search_round_trip(gql, world, queue):
    await seed(world, queue)
    token = world.members["recruiter"].token
    owner = to_global_id("User", world.members["recruiter"].user_id)
    wanted = {"text": "python", "tagsAny": ["ML"], "ownerIds": [owner],
              "createdAfter": "2020-01-01T00:00:00+00:00", "contactStatus": "NEVER_CONTACTED",
              "customFields": []}
    body = await gql(CREATE_SAVED, {"input": {"name": "Pythonistas", "filter": wanted,
                                              "orderBy": {"field": "NAME"}}}, token=token)
    payload = body["data"]["createSavedSearch"]
    assert payload["errors"] == []
    saved = payload["savedSearch"]
    assert saved["orderBy"] == {"field": "NAME", "direction": None}
    assert saved["filter"] == {"text": "python", "tagsAny": ["ml"], "ownerIds": [owner],
                               "createdAfter": "2020-01-01T00:00:00+00:00",
                               "contactStatus": "NEVER_CONTACTED"}
    rerun = await search(gql, token, filter=saved["filter"], orderBy=saved["orderBy"])
    assert names(rerun) == ["Ada", "Margaret"]
    listed = (await gql(SAVED, token=token))["data"]["savedSearches"]["edges"]
    assert [e["node"]["id"] for e in listed] == [saved["id"]]
    node = (await gql(NODE, {"id": saved["id"]}, token=token))["data"]["node"]
    assert node == {"id": saved["id"], "name": "Pythonistas"}


async def test_saved_searches_of_others_are_not_found(gql, world, other_world):
    token = world.members["recruiter"].token
    body = await gql(CREATE_SAVED, {"input": {"name": "Mine", "filter": {"text": "x"}}},
                     token=token)
    saved_id = body["data"]["createSavedSearch"]["savedSearch"]["id"]
    for outsider in (world.members["sourcer"].token, world.admin.token, other_world.admin.token):
        assert (await gql(SAVED, token=outsider))["data"]["savedSearches"]["edges"] == []
        assert (await gql(NODE, {"id": saved_id}, token=outsider))["data"]["node"] is None
        deleted = (await gql(DELETE_SAVED, {"id": saved_id}, token=outsider)
                   )["data"]["deleteSavedSearch"]
        assert deleted == {"deletedSavedSearchId": None, "errors": [
            {"field": ["input", "savedSearchId"], "code": "NOT_FOUND",
             "message": "No such saved search."}]}
    for garbage in ("garbage", to_global_id("Prospect", world.admin.user_id)):
        deleted = (await gql(DELETE_SAVED, {"id": garbage}, token=token))["data"]
        assert deleted["deleteSavedSearch"]["errors"][0]["code"] == "NOT_FOUND"
    deleted = (await gql(DELETE_SAVED, {"id": saved_id}, token=token))["data"]
    assert deleted["deleteSavedSearch"] == {"deletedSavedSearchId": saved_id, "errors": []}


async def test_saving_a_bad_filter_is_a_user_error(gql, world):
    body = await gql(CREATE_SAVED, {"input": {"name": "x", "filter": {
        "customFields": [{"key": "nope", "equals": 1}]}}}, token=world.admin.token)
    assert body["data"]["createSavedSearch"] == {"savedSearch": None, "errors": [
        {"field": ["input", "filter", "customFields", "0", "key"], "code": "NOT_FOUND",
         "message": "Unknown custom field 'nope'."}]}


# --- bulk actions ----------------------------------------------------------------------------

async def _tag_count(world: World, tag: str) -> int:
    from domain.prospects.models import ProspectTag

    scope = await world.scope()
    async with db.tenant_tx(scope):
        return await ProspectTag.filter(tenant_id=scope.tenant_id, tag=tag).count()


async def test_bulk_tag_over_graphql(gql, world, queue):
    ids = await seed(world, queue)
    token = world.members["recruiter"].token
    by_filter = (await gql(BULK_TAG, {"input": {"tags": ["Rediscover"], "filter": {
        "text": "python", "sources": ["linkedin"]}}}, token=token))["data"]["bulkTagProspects"]
    assert by_filter == {"matchedCount": 2, "affectedCount": 2, "errors": []}
    by_ids = (await gql(BULK_TAG, {"input": {"tags": ["rediscover"], "prospectIds": [
        ids["Ada"], ids["Linus"]]}}, token=token))["data"]["bulkTagProspects"]
    assert by_ids == {"matchedCount": 2, "affectedCount": 1, "errors": []}
    assert await _tag_count(world, "rediscover") == 3


async def test_bulk_actions_refuse_other_tenants_ids(gql, world, other_world, queue):
    ids = await seed(world, queue)
    theirs = await seed(other_world, queue)
    token = world.members["recruiter"].token
    tagged = (await gql(BULK_TAG, {"input": {"tags": ["x"], "prospectIds": [
        ids["Ada"], theirs["Ada"]]}}, token=token))["data"]["bulkTagProspects"]
    assert tagged == {"matchedCount": 0, "affectedCount": 0, "errors": [
        {"field": ["input", "prospectIds", "1"], "code": "NOT_FOUND",
         "message": "No such prospect."}]}
    assert await _tag_count(world, "x") == 0 and await _tag_count(other_world, "x") == 0

    their_member = to_global_id("User", other_world.members["recruiter"].user_id)
    moved = (await gql(BULK_OWNER, {"input": {"ownerId": their_member, "prospectIds": [
        ids["Ada"]]}}, token=token))["data"]["bulkChangeProspectOwner"]
    assert moved["errors"] == [{"field": ["input", "ownerId"], "code": "NOT_FOUND",
                                "message": "No such member."}]

    project, _ = await projects.create_project(await other_world.scope("recruiter"), name="P")
    added = (await gql(BULK_PROJECT, {"input": {
        "projectId": to_global_id("Project", project.id), "prospectIds": [ids["Ada"]]}},
        token=token))["data"]["bulkAddProspectsToProject"]
    assert added["errors"] == [{"field": ["input", "projectId"], "code": "NOT_FOUND",
                                "message": "No such project."}]

    # their prospects among mine: refused whole, nothing changed on either side
    mine_project, _ = await projects.create_project(await world.scope("recruiter"), name="Mine")
    sourcer = to_global_id("User", world.members["sourcer"].user_id)
    foreign = {"field": ["input", "prospectIds", "1"], "code": "NOT_FOUND",
               "message": "No such prospect."}
    moved = (await gql(BULK_OWNER, {"input": {"ownerId": sourcer, "prospectIds": [
        ids["Ada"], theirs["Ada"]]}}, token=token))["data"]["bulkChangeProspectOwner"]
    assert moved["errors"] == [foreign]
    assert (await search(gql, token, filter={"ownerIds": [sourcer]}))["edges"] == []
    added = (await gql(BULK_PROJECT, {"input": {
        "projectId": to_global_id("Project", mine_project.id),
        "prospectIds": [ids["Ada"], theirs["Ada"]]}}, token=token))["data"][
        "bulkAddProspectsToProject"]
    assert added["errors"] == [foreign]
    assert (await search(gql, token, filter={"projectIds": [
        to_global_id("Project", mine_project.id)]}))["edges"] == []


async def test_bulk_change_owner_and_add_to_project(gql, world, queue):
    await seed(world, queue)
    token = world.members["recruiter"].token
    sourcer = to_global_id("User", world.members["sourcer"].user_id)
    moved = (await gql(BULK_OWNER, {"input": {"ownerId": sourcer, "filter": {
        "locations": ["london"]}}}, token=token))["data"]["bulkChangeProspectOwner"]
    assert moved == {"matchedCount": 2, "affectedCount": 2, "errors": []}
    assert names(await search(gql, token, filter={"ownerIds": [sourcer]},
                              orderBy={"field": "NAME"})) == ["Ada", "Alan"]

    project, _ = await projects.create_project(await world.scope("recruiter"), name="Pool")
    project_id = to_global_id("Project", project.id)
    added = (await gql(BULK_PROJECT, {"input": {"projectId": project_id, "filter": {
        "tagsAny": ["ml"]}}}, token=token))["data"]["bulkAddProspectsToProject"]
    assert added == {"matchedCount": 2, "affectedCount": 2, "errors": []}
    assert names(await search(gql, token, filter={"projectIds": [project_id]},
                              orderBy={"field": "NAME"})) == ["Ada", "Margaret"]


async def test_bulk_input_errors(gql, world, queue):
    ids = await seed(world, queue)
    token = world.members["recruiter"].token
    both = (await gql(BULK_TAG, {"input": {"tags": ["x"], "prospectIds": [ids["Ada"]],
                                           "filter": {}}}, token=token))["data"]
    assert both["bulkTagProspects"]["errors"][0]["field"] == ["input", "prospectIds"]
    no_tag = (await gql(BULK_TAG, {"input": {"tags": ["!!"], "prospectIds": [ids["Ada"]]}},
                        token=token))["data"]
    assert no_tag["bulkTagProspects"]["errors"][0]["field"] == ["input", "tags"]
    bad_filter = (await gql(BULK_TAG, {"input": {"tags": ["x"], "filter": {
        "customFields": [{"key": "nope", "equals": 1}]}}}, token=token))["data"]
    assert bad_filter["bulkTagProspects"]["errors"][0]["field"] == [
        "input", "filter", "customFields", "0", "key"]


async def test_bulk_actions_need_write_permission(gql, world, queue):
    ids = await seed(world, queue)
    body = await gql(BULK_TAG, {"input": {"tags": ["x"], "prospectIds": [ids["Ada"]]}},
                     token=world.members["viewer"].token, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await _tag_count(world, "x") == 0


async def test_merged_prospects_never_appear(gql, world, queue):
    ids = await seed(world, queue)
    scope = await world.scope("recruiter")
    from api.relay import from_global_id

    target, source = from_global_id(ids["Ada"]), from_global_id(ids["Margaret"])
    assert target and source
    await service.merge_prospects(scope, target_id=target[1], source_id=source[1])
    found = await search(gql, world.admin.token, filter={"includeArchived": True}, first=100)
    assert ids["Margaret"] not in {e["node"]["id"] for e in found["edges"]}
    async with db.tenant_tx(scope):
        assert await Prospect.filter(id=source[1], merged_into_id=target[1]).exists()


@pytest.mark.parametrize("query", [
    PAGE_WITH_RELATIONS,
    # the same relations through `nodes` and fragments
    """query($first: Int!) { prospects(first: $first, orderBy: {field: NAME}) {
        nodes { ...Card } } }
       fragment Card on Prospect { id ... on Prospect { emails { email } tags owner { name } } }""",
])
async def test_a_page_and_its_relations_are_built_on_the_flat_path(
        gql, world, queue, normal_path_completions, query):
    """The selected relations are loaded up front, one batch each, so no card needs
    graphql-core's per-field execution."""
    scope = await world.scope("recruiter")
    for n in range(3):
        await service.save_prospect(scope, ProspectData(
            first_name=f"F{n}", emails=[f"f{n}@example.com"], tags=["pool"],
            owner_id=world.admin.user_id))
    await queue.drain()
    body = await gql(query, {"first": 3}, token=world.admin.token)
    page = body["data"]["prospects"]
    cards = [e["node"] for e in page["edges"]] if "edges" in page else page["nodes"]
    assert [c["emails"][0]["email"] for c in cards] == [f"f{n}@example.com" for n in range(3)]
    assert all(c["tags"] == ["pool"] and c["owner"]["name"] for c in cards)
    assert "Prospect" not in normal_path_completions and "User" not in normal_path_completions
