"""Rediscovery search, saved searches and bulk actions on the domain services, on both
databases: every filter, every ordering and its keyset pages, tenancy, bad input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.core import clock, db
from domain.core.errors import DomainError, Forbidden, NotFound
from domain.core.scope import Scope
from domain.prospects import bulk, projects, saved_searches, service
from domain.prospects.models import Activity, Prospect, ProspectTag
from domain.prospects.rules import ProspectData
from domain.prospects.search import (
    ContactStatus,
    CustomFieldCondition,
    OrderField,
    ProspectFilter,
    ProspectOrder,
    SearchCursor,
    SearchPage,
    matching_ids,
    search_prospects,
)
from tests.conftest import World

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Crm:
    scope: Scope  # the recruiter's
    admin: Scope
    ids: dict[str, UUID]
    world: World

    def names(self, ids: list[UUID]) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id.get(i, "?") for i in ids]


async def _set(scope: Scope, prospect_id: UUID, **values: Any) -> None:
    """Facts no service writes yet (replies come with sequences), or odd states to test."""
    async with db.tenant_tx(scope):
        await Prospect.filter(tenant_id=scope.tenant_id, id=prospect_id).update(**values)


@pytest.fixture
async def crm(world: World, queue: Any) -> Crm:
    """ada, grace, alan, margaret (live), linus (archived), dup (merged into margaret),
    created a day apart from T0 in that order; last activity: alan T0+20d, ada T0+10d,
    margaret T0+3d, grace none."""
    admin = await world.scope()
    scope = await world.scope("recruiter")
    recruiter, sourcer = world.members["recruiter"].user_id, world.members["sourcer"].user_id
    await service.define_custom_field(admin, key="years", label="Years", kind="number", options=[])
    await service.define_custom_field(admin, key="level", label="Level", kind="single_select",
                                      options=["junior", "senior", "principal"])
    await service.define_custom_field(admin, key="skills", label="Skills", kind="multi_select",
                                      options=["python", "sql", "c"])
    await service.define_custom_field(admin, key="since", label="Since", kind="date", options=[])
    await service.define_custom_field(admin, key="motto", label="Motto", kind="text", options=[])
    people = {
        "ada": ProspectData(first_name="Ada", last_name="Lovelace", title="Python Engineer",
                            company="Python Software Foundation", location="London, UK",
                            source="linkedin", tags=["python", "ml"], owner_id=recruiter,
                            emails=["ada@example.com"],
                            custom_fields={"years": 7, "level": "senior",
                                           "skills": ["python", "sql"], "since": "2015-06-01",
                                           "motto": "poetical science"}),
        "grace": ProspectData(first_name="Grace", last_name="Hopper", title="COBOL Developer",
                              company="US Navy", location="Arlington, VA", source="referral",
                              tags=["cobol", "python"], owner_id=sourcer,
                              custom_fields={"years": 30, "level": "principal",
                                             "skills": ["c"], "since": "1990-01-01"}),
        "alan": ProspectData(first_name="Alan", last_name="Turing", title="Mathematician",
                             company="Bletchley Park", location="London", source="linkedin",
                             tags=["crypto"], owner_id=recruiter,
                             custom_fields={"years": 3, "level": "junior"}),
        "margaret": ProspectData(first_name="Margaret", last_name="Hamilton",
                                 title="Software Engineer", company="NASA", location="Boston",
                                 source="referral", tags=["apollo", "python", "ml"],
                                 owner_id=sourcer),
        "linus": ProspectData(first_name="Linus", last_name="Torvalds", title="Kernel Engineer",
                              company="Linux Foundation", location="Portland", source="github",
                              tags=["python"], owner_id=recruiter),
        "dup": ProspectData(first_name="Maggie", last_name="Hamilton", title="Python Engineer",
                            location="Boston", source="referral", tags=["python", "ml"]),
    }
    frozen = clock.FrozenClock(T0)
    previous = clock.use_clock(frozen)
    ids = {}
    try:
        for name, data in people.items():
            prospect, _ = await service.save_prospect(scope, data)
            ids[name] = prospect.id
            frozen.advance(days=1)
        await service.add_note(scope, prospect_id=ids["alan"], body="Loves python puzzles.")
        await service.archive_prospect(scope, prospect_id=ids["linus"])
        await service.merge_prospects(scope, target_id=ids["margaret"], source_id=ids["dup"])
    finally:
        clock.use_clock(previous)
    await queue.drain()  # the activity feed moves last_activity_at: settle it, then set it
    await _set(scope, ids["ada"], last_contacted_at=T0, last_replied_at=T0 + timedelta(hours=1))
    await _set(scope, ids["grace"], last_contacted_at=T0)
    for name, days in (("ada", 10), ("alan", 20), ("margaret", 3)):
        await _set(scope, ids[name], last_activity_at=T0 + timedelta(days=days))
    await _set(scope, ids["grace"], last_activity_at=None)
    return Crm(scope, admin, ids, world)


async def find(crm: Crm, order: ProspectOrder | None = None, **criteria: Any) -> list[str]:
    page = await search_prospects(crm.scope, filter=ProspectFilter(**criteria),
                                  order=order or ProspectOrder(), page=SearchPage(first=100))
    return crm.names([p.id for p in page.items])


async def found(crm: Crm, **criteria: Any) -> set[str]:
    return set(await find(crm, **criteria))


# --- filters ---------------------------------------------------------------------------------

async def test_without_a_filter_every_live_prospect_newest_first(crm):
    # linus is archived, dup merged into margaret
    assert await find(crm) == ["margaret", "alan", "grace", "ada"]


@pytest.mark.parametrize(("text", "expected"), [
    ("python", {"ada", "alan"}),  # title / company, and a note
    ("PYTHON london", {"ada", "alan"}),  # every word, anywhere, any case
    ("lovelace engin", {"ada"}),  # the last word as a prefix
    ("Bletchley", {"alan"}),
    ("hamilton", {"margaret"}),
    ("engineer boston", {"margaret"}),
    ("python zebra", set()),
    ("zebra", set()),
])
async def test_text_matches_every_word_of_name_title_company_location_notes(crm, text,
                                                                          expected):
    assert await found(crm, text=text) == expected


async def test_text_of_punctuation_only_is_no_text(crm):
    assert await found(crm, text="  ") == {"ada", "grace", "alan", "margaret"}


async def test_text_reaches_sql_as_a_parameter(crm):
    for text in ("o'brien", "100%", "a_b", "x\\", "'; DROP TABLE prospects; --"):
        assert await found(crm, text=text) == set()
    assert await found(crm, text="python") == {"ada", "alan"}


async def test_tags_any_and_all(crm):
    assert await found(crm, tags_any=["ml", "crypto"]) == {"ada", "margaret", "alan"}
    assert await found(crm, tags_all=["python", "ml"]) == {"ada", "margaret"}
    assert await found(crm, tags_all=["Python", "COBOL"]) == {"grace"}  # tags are lower-cased
    assert await found(crm, tags_any=["nope"]) == set()


async def test_sources_owners_locations(crm):
    w = crm.world
    assert await found(crm, sources=["referral"]) == {"grace", "margaret"}
    assert await found(crm, sources=["linkedin", "github"]) == {"ada", "alan"}
    assert await found(crm, owner_ids=[w.members["sourcer"].user_id]) == {"grace", "margaret"}
    assert await found(crm, locations=["LOND"]) == {"ada", "alan"}
    assert await found(crm, locations=["london", "bost"]) == {"ada", "alan", "margaret"}
    assert await found(crm, locations=["%"]) == set()  # a literal, not a wildcard


async def test_filters_combine_with_and(crm):
    assert await found(crm, text="python", sources=["linkedin"], tags_any=["ml"]) == {"ada"}
    assert await found(crm, locations=["london"], tags_any=["crypto", "python"],
                       owner_ids=[crm.world.members["recruiter"].user_id]) == {"ada", "alan"}


async def test_custom_field_conditions(crm):
    def cond(**kw: Any) -> list[CustomFieldCondition]:
        return [CustomFieldCondition(**kw)]

    assert await found(crm, custom_fields=cond(key="years", min=7)) == {"ada", "grace"}
    assert await found(crm, custom_fields=cond(key="years", min=4, max=8)) == {"ada"}
    assert await found(crm, custom_fields=cond(key="years", equals=3)) == {"alan"}
    assert await found(crm, custom_fields=cond(key="level", equals="senior")) == {"ada"}
    assert await found(crm, custom_fields=cond(key="level", any_of=["junior", "principal"])) \
        == {"alan", "grace"}
    assert await found(crm, custom_fields=cond(key="skills", equals="sql")) == {"ada"}
    assert await found(crm, custom_fields=cond(key="skills", any_of=["sql", "c"])) \
        == {"ada", "grace"}
    assert await found(crm, custom_fields=cond(key="since", max="2000-12-31")) == {"grace"}
    assert await found(crm, custom_fields=cond(key="since", min="2000-01-01")) == {"ada"}
    assert await found(crm, custom_fields=cond(key="motto", equals="poetical science")) \
        == {"ada"}
    both = [CustomFieldCondition(key="years", min=5), CustomFieldCondition(key="level",
                                                                          equals="principal")]
    assert await found(crm, custom_fields=both) == {"grace"}


@pytest.mark.parametrize(("condition", "field", "code"), [
    (CustomFieldCondition(key="shoe_size", equals=42), "key", "NOT_FOUND"),
    (CustomFieldCondition(key="level", min="junior"), "min", "INVALID"),
    (CustomFieldCondition(key="years", equals="many"), "equals", "INVALID"),
    (CustomFieldCondition(key="level", any_of=["senior", "wizard"]), "in", "INVALID"),
    (CustomFieldCondition(key="since", max="yesterday"), "max", "INVALID"),
    (CustomFieldCondition(key="years"), None, "REQUIRED"),
])
async def test_bad_custom_field_conditions_name_the_field(crm, condition, field, code):
    ok = CustomFieldCondition(key="years", min=1)
    with pytest.raises(DomainError) as raised:
        await find(crm, custom_fields=[ok, condition])
    where = ["filter", "customFields", "1"]
    assert raised.value.field == ([*where, field] if field else where)
    assert raised.value.code == code


async def test_time_ranges(crm):
    assert await found(crm, created_after=T0 + timedelta(days=1)) == {"grace", "alan",
                                                                     "margaret"}
    assert await found(crm, created_before=T0 + timedelta(days=1)) == {"ada"}  # exclusive
    assert await found(crm, created_after=T0 + timedelta(days=1),
                       created_before=T0 + timedelta(days=3)) == {"grace", "alan"}
    assert await found(crm, last_activity_after=T0 + timedelta(days=9)) == {"ada", "alan"}
    assert await found(crm, last_activity_before=T0 + timedelta(days=9)) == {"margaret"}


async def test_contact_status(crm):
    assert await found(crm, contact_status=ContactStatus.REPLIED) == {"ada"}
    assert await found(crm, contact_status=ContactStatus.CONTACTED_NO_REPLY) == {"grace"}
    assert await found(crm, contact_status=ContactStatus.NEVER_CONTACTED) == {"alan",
                                                                             "margaret"}


async def test_archived_only_on_request_and_merged_never(crm):
    assert await found(crm, text="torvalds") == set()
    assert await found(crm, text="torvalds", include_archived=True) == {"linus"}
    assert await found(crm, text="maggie", include_archived=True) == set()
    assert "dup" not in await found(crm, include_archived=True)


async def test_project_membership(crm, other_world):
    pool, _ = await projects.create_project(crm.scope, name="Pool")
    await projects.add_prospects(crm.scope, project_id=pool.id,
                                 prospect_ids=[crm.ids["ada"], crm.ids["alan"]])
    other, _ = await projects.create_project(crm.scope, name="Other")
    await projects.add_prospects(crm.scope, project_id=other.id, prospect_ids=[crm.ids["grace"]])
    assert await found(crm, project_ids=[pool.id]) == {"ada", "alan"}
    assert await found(crm, project_ids=[pool.id, other.id]) == {"ada", "alan", "grace"}
    assert await found(crm, project_ids=[pool.id], text="turing") == {"alan"}
    # Another tenant's project, and another member's private one, match nothing.
    theirs, _ = await projects.create_project(await other_world.scope("recruiter"), name="X")
    assert await found(crm, project_ids=[theirs.id]) == set()
    sourcer = await crm.world.scope("sourcer")
    secret, _ = await projects.create_project(sourcer, name="Secret")
    await projects.add_prospects(sourcer, project_id=secret.id, prospect_ids=[crm.ids["ada"]])
    assert await found(crm, project_ids=[secret.id]) == set()
    assert await found(crm, project_ids=[secret.id, pool.id]) == {"ada", "alan"}


async def test_another_tenants_prospects_and_ids_never_match(crm, other_world):
    theirs = await other_world.scope("recruiter")
    their_owner = other_world.members["recruiter"].user_id
    twin, _ = await service.save_prospect(theirs, ProspectData(
        first_name="Ada", last_name="Lovelace", title="Python Engineer", tags=["python", "ml"],
        source="linkedin", owner_id=their_owner))
    assert await found(crm, text="lovelace") == {"ada"}
    assert await found(crm, tags_all=["python", "ml"]) == {"ada", "margaret"}
    assert await found(crm, owner_ids=[their_owner]) == set()
    assert twin.id not in await matching_ids(crm.scope, ProspectFilter(), 100)
    # and the other way round
    page = await search_prospects(theirs, filter=ProspectFilter(), order=ProspectOrder(),
                                  page=SearchPage(first=100))
    assert [p.id for p in page.items] == [twin.id]


@pytest.mark.parametrize(("criteria", "field"), [
    ({"text": "x" * 201}, ["filter", "text"]),
    ({"tags_any": ["ok", "no!tag<>"]}, ["filter", "tagsAny"]),
    ({"sources": ["s"] * 51}, ["filter", "sources"]),
])
async def test_bad_filters_name_the_field(crm, criteria, field):
    with pytest.raises(DomainError) as raised:
        await find(crm, **criteria)
    assert raised.value.field == field


async def test_searching_needs_read_permission(world):
    scope = await world.scope()
    no_read = Scope(tenant_id=scope.tenant_id, permissions=frozenset(), user_id=scope.user_id)
    with pytest.raises(Forbidden):
        await search_prospects(no_read, filter=ProspectFilter(), order=ProspectOrder(),
                               page=SearchPage(first=5))


# --- orderings and keyset pages --------------------------------------------------------------

async def test_orderings(crm):
    o = ProspectOrder
    assert await find(crm, o(OrderField.NAME)) == ["ada", "alan", "grace", "margaret"]
    assert await find(crm, o(OrderField.NAME, descending=True)) == ["margaret", "grace", "alan",
                                                                    "ada"]
    assert await find(crm, o(OrderField.CREATED_AT, descending=False)) == ["ada", "grace",
                                                                           "alan", "margaret"]
    # grace has no activity: the oldest
    assert await find(crm, o(OrderField.LAST_ACTIVITY_AT)) == ["alan", "ada", "margaret",
                                                               "grace"]
    assert await find(crm, o(OrderField.LAST_ACTIVITY_AT, descending=False)) == [
        "grace", "margaret", "ada", "alan"]


async def test_relevance_is_the_default_with_text(crm):
    # "python" is in ada's title and company, only in a note of alan's
    assert await find(crm, text="python") == ["ada", "alan"]
    assert await find(crm, ProspectOrder(OrderField.RELEVANCE, descending=False),
                      text="python") == ["alan", "ada"]
    # Without text, relevance orders like creation.
    assert await find(crm, ProspectOrder(OrderField.RELEVANCE)) == await find(crm)


async def walk(scope: Scope, f: ProspectFilter, order: ProspectOrder, size: int,
               backwards: bool = False) -> tuple[list[list[UUID]], list[tuple[bool, bool]]]:
    pages, flags = [], []
    cursor: SearchCursor | None = None
    while True:
        page = SearchPage(last=size, before=cursor) if backwards else \
            SearchPage(first=size, after=cursor)
        result = await search_prospects(scope, filter=f, order=order, page=page)
        pages.append([p.id for p in result.items])
        flags.append((result.has_previous_page, result.has_next_page))
        more = result.has_previous_page if backwards else result.has_next_page
        if not more:
            return pages, flags
        edge = result.items[0] if backwards else result.items[-1]
        # through the JSON form, as a client's cursor travels
        cursor = SearchCursor.from_json(result.cursor(edge).to_json())


async def _many(world: World, queue: Any, count: int = 9) -> Scope:
    """Prospects with ties on every sort key: pairs share a creation time, a name, an
    activity time (or have none), and a relevance tier."""
    scope = await world.scope("recruiter")
    frozen = clock.FrozenClock(T0)
    previous = clock.use_clock(frozen)
    nulls = []
    try:
        for n in range(count):
            if n % 2 == 0:
                frozen.advance(hours=1)
            # engineers match "engineer" by title (the better relevance tier), the others by
            # location only
            prospect, _ = await service.save_prospect(scope, ProspectData(
                first_name="Sam" if n % 3 else "Kim", last_name="Doe",
                title="Rust Engineer" if n % 2 else "Developer", location="Engineers Lane"))
            if n % 4 == 0:
                nulls.append(prospect.id)
    finally:
        clock.use_clock(previous)
    await queue.drain()
    for prospect_id in nulls:
        await _set(scope, prospect_id, last_activity_at=None)
    return scope


@pytest.mark.parametrize("field", list(OrderField))
@pytest.mark.parametrize("descending", [True, False])
async def test_pages_walk_every_ordering_once_despite_ties(world, queue, field, descending):
    scope = await _many(world, queue)
    order = ProspectOrder(field, descending)
    f = ProspectFilter(text="engineer")
    everything = await search_prospects(scope, filter=f, order=order, page=SearchPage(first=100))
    every_id = [p.id for p in everything.items]
    assert len(every_id) == 9
    pages, flags = await walk(scope, f, order, 2)
    assert [len(p) for p in pages] == [2, 2, 2, 2, 1]
    assert [i for page in pages for i in page] == every_id
    assert flags[0] == (False, True) and flags[-1] == (True, False)
    back, back_flags = await walk(scope, f, order, 4, backwards=True)
    assert [i for page in reversed(back) for i in page] == every_id
    assert [len(p) for p in back] == [4, 4, 1]
    assert back_flags[0] == (True, False) and back_flags[-1] == (False, True)


async def test_pages_stay_stable_when_rows_arrive_between_them(crm):
    order = ProspectOrder(OrderField.NAME)
    first = await search_prospects(crm.scope, filter=ProspectFilter(), order=order,
                                   page=SearchPage(first=2))
    assert crm.names([p.id for p in first.items]) == ["ada", "alan"]
    await service.save_prospect(crm.scope, ProspectData(first_name="Aaron"))  # sorts first
    await service.save_prospect(crm.scope, ProspectData(first_name="Betty"))  # between
    rest = await search_prospects(crm.scope, filter=ProspectFilter(), order=order,
                                  page=SearchPage(first=10, after=first.cursor(first.items[-1])))
    names = [p.first_name for p in rest.items]
    assert names == ["Betty", "Grace", "Margaret"]


async def test_a_cursor_belongs_to_its_ordering(crm):
    first = await search_prospects(crm.scope, filter=ProspectFilter(),
                                   order=ProspectOrder(OrderField.NAME), page=SearchPage(first=1))
    with pytest.raises(DomainError) as raised:
        await search_prospects(crm.scope, filter=ProspectFilter(),
                               order=ProspectOrder(OrderField.CREATED_AT),
                               page=SearchPage(first=1, after=first.cursor(first.items[0])))
    assert raised.value.field == ["after"]


@pytest.mark.parametrize("raw", [
    None, [], ["name"], ["name", ["x"]], ["bogus", ["x"], "0189"], ["name", [1], str(T0)],
    ["created_at", ["not a date"], "01890000-0000-7000-8000-000000000000"],
    ["last_activity_at", [0, "2024-01-01T00:00:00+00:00"], "01890000-0000-7000-8000-000000000000"],
    ["relevance", [True], "01890000-0000-7000-8000-000000000000"],
    ["name", ["x"], "not-a-uuid"],
])
def test_malformed_cursors_are_refused(raw):
    with pytest.raises((ValueError, TypeError, KeyError)):
        SearchCursor.from_json(raw)


async def test_page_size_is_bounded(crm):
    with pytest.raises(DomainError) as raised:
        await search_prospects(crm.scope, filter=ProspectFilter(), order=ProspectOrder(),
                               page=SearchPage(first=101))
    assert raised.value.field == ["first"]


# --- the JSON form ---------------------------------------------------------------------------

def test_filter_json_round_trip_keeps_everything_and_ignores_unknown_keys():
    f = ProspectFilter(
        text="x", tags_any=["a"], tags_all=["b"], sources=["s"], owner_ids=[UUID(int=5)],
        locations=["l"], custom_fields=[CustomFieldCondition(key="k", any_of=[1], min=0)],
        created_after=T0, created_before=T0, last_activity_after=T0, last_activity_before=T0,
        project_ids=[UUID(int=6)], contact_status=ContactStatus.REPLIED, include_archived=True)
    assert ProspectFilter.from_json(f.to_json()) == f
    assert ProspectFilter.from_json({**f.to_json(), "stage_reached": "onsite"}) == f
    assert ProspectFilter().to_json() == {}


# --- saved searches --------------------------------------------------------------------------

async def test_saved_searches_are_per_member(crm, other_world):
    f = ProspectFilter(text="python", tags_any=["ML"], owner_ids=[UUID(int=9)])
    saved = await saved_searches.create_saved_search(
        crm.scope, name="  Pythonistas ", filter=f, order=ProspectOrder(OrderField.NAME))
    assert saved.name == "Pythonistas"
    stored, order = saved_searches.criteria_of(saved)
    assert stored.tags_any == ["ml"] and stored.owner_ids == [UUID(int=9)]  # kept as given
    assert order == ProspectOrder(OrderField.NAME)
    mine = await saved_searches.list_saved_searches(crm.scope, _args(10))
    assert [s.id for s in mine.items] == [saved.id]

    sourcer = await crm.world.scope("sourcer")
    assert (await saved_searches.list_saved_searches(sourcer, _args(10))).items == []
    for outsider in (sourcer, crm.admin, await other_world.scope()):
        with pytest.raises(NotFound):
            await saved_searches.get_saved_search(outsider, saved_search_id=saved.id)
        with pytest.raises(NotFound) as raised:
            await saved_searches.delete_saved_search(outsider, saved_search_id=saved.id)
        assert raised.value.field == ["savedSearchId"]
    assert await saved_searches.delete_saved_search(crm.scope, saved_search_id=saved.id) \
        == saved.id
    with pytest.raises(NotFound):
        await saved_searches.delete_saved_search(crm.scope, saved_search_id=saved.id)


async def test_saving_checks_the_filter_and_the_name(crm):
    bad = ProspectFilter(custom_fields=[CustomFieldCondition(key="nope", equals=1)])
    with pytest.raises(DomainError) as raised:
        await saved_searches.create_saved_search(crm.scope, name="x", filter=bad)
    assert raised.value.field == ["filter", "customFields", "0", "key"]
    with pytest.raises(DomainError) as raised:
        await saved_searches.create_saved_search(crm.scope, name=" ", filter=ProspectFilter())
    assert raised.value.field == ["name"]
    assert (await saved_searches.list_saved_searches(crm.scope, _args(10))).items == []


async def test_api_keys_have_no_saved_searches(crm):
    key = Scope(tenant_id=crm.scope.tenant_id, permissions=crm.scope.permissions,
                api_key_id=UUID(int=1))
    with pytest.raises(Forbidden):
        await saved_searches.create_saved_search(key, name="x", filter=ProspectFilter())


def _args(first: int) -> Any:
    from domain.core.pagination import PageArgs

    return PageArgs(first=first)


# --- bulk actions ----------------------------------------------------------------------------

async def _tags(scope: Scope, prospect_id: UUID) -> list[str]:
    async with db.tenant_tx(scope):
        return sorted(await ProspectTag.filter(tenant_id=scope.tenant_id,
                                               prospect_id=prospect_id).values_list("tag",
                                                                                    flat=True))


async def test_bulk_tag_by_ids_and_by_filter(crm):
    ids = crm.ids
    result = await bulk.bulk_tag(crm.scope, tags=["Rediscovered", "ml"],
                                 prospect_ids=[ids["ada"], ids["alan"], ids["ada"]])
    assert (result.matched, result.affected) == (2, 2)  # ada lacked one, alan both
    assert await _tags(crm.scope, ids["ada"]) == ["ml", "python", "rediscovered"]
    assert await _tags(crm.scope, ids["alan"]) == ["crypto", "ml", "rediscovered"]
    again = await bulk.bulk_tag(crm.scope, tags=["rediscovered"],
                                prospect_ids=[ids["ada"], ids["alan"]])
    assert (again.matched, again.affected) == (2, 0)
    by_filter = await bulk.bulk_tag(crm.scope, tags=["referred"],
                                    filter=ProspectFilter(sources=["referral"]))
    assert (by_filter.matched, by_filter.affected) == (2, 2)
    assert await found(crm, tags_any=["referred"]) == {"grace", "margaret"}


async def test_bulk_with_a_foreign_or_unknown_id_changes_nothing(crm, other_world):
    theirs, _ = await service.save_prospect(await other_world.scope(),
                                            ProspectData(first_name="Theirs"))
    for stranger in (theirs.id, UUID(int=3), crm.ids["dup"]):  # dup is merged away
        with pytest.raises(NotFound) as raised:
            await bulk.bulk_tag(crm.scope, tags=["x"],
                                prospect_ids=[crm.ids["ada"], stranger])
        assert raised.value.field == ["prospectIds", "1"]
    assert await _tags(crm.scope, crm.ids["ada"]) == ["ml", "python"]
    assert await _tags(await other_world.scope(), theirs.id) == []


async def test_bulk_needs_ids_or_a_filter_and_bounds_the_filter(crm, monkeypatch):
    for kwargs in ({}, {"prospect_ids": [crm.ids["ada"]], "filter": ProspectFilter()}):
        with pytest.raises(DomainError) as raised:
            await bulk.bulk_tag(crm.scope, tags=["x"], **kwargs)
        assert raised.value.field == ["prospectIds"]
    monkeypatch.setattr(bulk, "MAX_BULK", 3)
    with pytest.raises(DomainError) as raised:
        await bulk.bulk_tag(crm.scope, tags=["x"], filter=ProspectFilter())
    assert (raised.value.field, raised.value.code) == (["filter"], "OUT_OF_RANGE")
    assert await found(crm, tags_any=["x"]) == set()
    with pytest.raises(DomainError) as raised:
        await bulk.bulk_tag(crm.scope, tags=["x"], filter=ProspectFilter(
            custom_fields=[CustomFieldCondition(key="nope", equals=1)]))
    assert raised.value.field == ["filter", "customFields", "0", "key"]


async def test_bulk_change_owner_records_activities(crm, other_world, queue):
    sourcer = crm.world.members["sourcer"].user_id
    recruiter = crm.world.members["recruiter"].user_id
    result = await bulk.bulk_change_owner(crm.scope, owner_id=sourcer,
                                          filter=ProspectFilter(locations=["london"]))
    assert (result.matched, result.affected) == (2, 2)
    assert await found(crm, owner_ids=[sourcer]) == {"ada", "alan", "grace", "margaret"}
    again = await bulk.bulk_change_owner(crm.scope, owner_id=sourcer,
                                         prospect_ids=[crm.ids["ada"], crm.ids["grace"]])
    assert (again.matched, again.affected) == (2, 0)
    await queue.drain()
    async with db.tenant_tx(crm.scope):
        rows = await Activity.filter(tenant_id=crm.scope.tenant_id, kind="owner_changed")
    assert sorted(crm.names([r.prospect_id for r in rows])) == ["ada", "alan"]
    assert all(r.payload == {"from": str(recruiter), "to": str(sourcer)} for r in rows)
    assert all(r.actor_user_id == crm.world.members["recruiter"].user_id for r in rows)

    with pytest.raises(NotFound) as raised:
        await bulk.bulk_change_owner(crm.scope, owner_id=other_world.admin.user_id,
                                     prospect_ids=[crm.ids["ada"]])
    assert raised.value.field == ["ownerId"]
    assert await found(crm, owner_ids=[sourcer]) == {"ada", "alan", "grace", "margaret"}


async def test_bulk_add_to_project(crm, other_world, queue):
    pool, _ = await projects.create_project(crm.scope, name="Pool")
    result = await bulk.bulk_add_to_project(crm.scope, project_id=pool.id,
                                            prospect_ids=[crm.ids["ada"]])
    assert (result.matched, result.affected) == (1, 1)
    by_filter = await bulk.bulk_add_to_project(crm.scope, project_id=pool.id,
                                               filter=ProspectFilter(tags_any=["python"]))
    assert (by_filter.matched, by_filter.affected) == (3, 2)  # ada, grace, margaret
    assert await found(crm, project_ids=[pool.id]) == {"ada", "grace", "margaret"}
    nothing = await bulk.bulk_add_to_project(crm.scope, project_id=pool.id,
                                             filter=ProspectFilter(text="zebra"))
    assert (nothing.matched, nothing.affected) == (0, 0)
    await queue.drain()
    async with db.tenant_tx(crm.scope):
        added = await Activity.filter(tenant_id=crm.scope.tenant_id, kind="project_added")
    assert sorted(crm.names([a.prospect_id for a in added])) == ["ada", "grace", "margaret"]

    theirs, _ = await projects.create_project(await other_world.scope(), name="Theirs")
    secret, _ = await projects.create_project(await crm.world.scope("sourcer"), name="Secret")
    for project_id in (theirs.id, secret.id, UUID(int=4)):
        with pytest.raises(NotFound) as raised:
            await bulk.bulk_add_to_project(crm.scope, project_id=project_id,
                                           filter=ProspectFilter(text="zebra"))
        assert raised.value.field == ["projectId"]


async def test_bulk_needs_write_permission(crm):
    viewer = await crm.world.scope("viewer")
    with pytest.raises(Forbidden):
        await bulk.bulk_tag(viewer, tags=["x"], prospect_ids=[crm.ids["ada"]])
    assert await _tags(crm.scope, crm.ids["ada"]) == ["ml", "python"]


async def test_words_with_punctuation_match_as_written(world):
    scope = await world.scope("recruiter")
    node, _ = await service.save_prospect(scope, ProspectData(
        first_name="Nora", title="Node.js Developer", company="Full-Stack Co"))
    cpp, _ = await service.save_prospect(scope, ProspectData(first_name="Carl",
                                                             title="C++ Engineer"))
    crm = Crm(scope, scope, {"node": node.id, "cpp": cpp.id}, world)
    assert await find(crm, text="node.js") == ["node"]
    assert await find(crm, text="NODE.JS developer") == ["node"]
    assert await find(crm, text="full-stack") == ["node"]
    assert await find(crm, text="c++ engineer") == ["cpp"]
