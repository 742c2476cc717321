"""Projects at the service level: who sees and edits what, sharing and the share link, adding
and removing prospects (idempotent, all or nothing, recorded in the feed), stats, and another
tenant's IDs failing exactly like unknown ones."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest

from domain.core import clock, db
from domain.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from domain.core.ids import uuid7
from domain.core.pagination import PageArgs
from domain.core.scope import Scope
from domain.core.security import digest
from domain.events.models import OutboxEvent
from domain.prospects import events, projects, saved_searches, service
from domain.prospects.models import Activity, Project, ProjectMember, ProjectProspect, Prospect
from domain.prospects.rules import ProspectData
from domain.prospects.search import ProspectFilter
from domain.tenancy import rules as tenancy_rules

ALL = PageArgs(first=100)


async def make_prospects(world: Any, *names: str) -> list[UUID]:
    scope = await world.scope("recruiter")
    made = []
    for name in names:
        prospect, _ = await service.save_prospect(scope, ProspectData(first_name=name))
        made.append(prospect.id)
    return made


async def make_project(world: Any, role: str = "recruiter", **kwargs: Any) -> Project:
    project, _ = await projects.create_project(await world.scope(role),
                                               name=kwargs.pop("name", "Backend pool"), **kwargs)
    return project


def member(world: Any, role: str) -> UUID:
    return world.members[role].user_id  # type: ignore[no-any-return]


def api_key_scope(world: Any, *permissions: str) -> Scope:
    return Scope(tenant_id=world.tenant.id, permissions=frozenset(permissions),
                 api_key_id=uuid7())


async def rows(world: Any, model: Any, **filters: Any) -> list[Any]:
    async with db.system_tenant_tx(str(world.tenant.id)):
        return list(await model.filter(tenant_id=world.tenant.id, **filters).order_by("id"))


async def outbox(world: Any, name: str) -> list[OutboxEvent]:
    async with db.system_tenant_tx(str(world.tenant.id)):
        return list(await OutboxEvent.filter(tenant_id=world.tenant.id, name=name)
                    .order_by("created_at"))


async def listed(scope: Scope, **kwargs: Any) -> list[UUID]:
    return [p.id for p in (await projects.list_projects(scope, ALL, **kwargs)).items]


async def in_project(scope: Scope, project_id: UUID, page: PageArgs = ALL) -> list[UUID]:
    found = await projects.list_project_prospects(scope, project_id=project_id, page=page)
    return [e.prospect.id for e in found.items]


def error_of(exc: pytest.ExceptionInfo[Any]) -> tuple[str, str, list[str], str]:
    return type(exc.value).__name__, exc.value.code, exc.value.field, exc.value.message


# --- the rules, pure ------------------------------------------------------------------------

def scope_as(role: str | None, *, user: UUID | None = None) -> Scope:
    permissions = tenancy_rules.ROLE_PERMISSIONS[role] if role else frozenset(
        {"prospects:read", "prospects:write"})
    return Scope(tenant_id=uuid7(), permissions=permissions, user_id=user, role=role)


OWNER, OTHER = uuid7(), uuid7()


@pytest.mark.parametrize(("role", "user", "visibility", "is_member", "expected"), [
    # owner: everything, whatever the visibility
    ("recruiter", OWNER, "private", False, (True, True, True)),
    ("recruiter", OWNER, "members", False, (True, True, True)),
    # an owner demoted to viewer still sees it but can change nothing
    ("viewer", OWNER, "private", False, (True, False, False)),
    # admins see and manage every project
    ("admin", OTHER, "private", False, (True, True, True)),
    # someone else: a private project does not exist for them, even if listed as a member
    ("recruiter", OTHER, "private", False, (False, False, False)),
    ("recruiter", OTHER, "private", True, (False, False, False)),
    ("recruiter", OTHER, "members", False, (False, False, False)),
    ("recruiter", OTHER, "members", True, (True, True, False)),
    ("viewer", OTHER, "members", True, (True, False, False)),
    ("recruiter", OTHER, "tenant", False, (True, False, False)),
    ("recruiter", OTHER, "tenant", True, (True, True, False)),
    ("hiring_manager", OTHER, "tenant", True, (True, False, False)),  # no prospects:write
    # API keys: tenant-shared projects only, edited with prospects:write, never managed
    (None, None, "tenant", False, (True, True, False)),
    (None, None, "members", False, (False, False, False)),
])
def test_access_rules(role, user, visibility, is_member, expected):
    found = projects.access(scope_as(role, user=user), owner_id=OWNER, visibility=visibility,
                            member=is_member)
    assert (found.can_see, found.can_edit, found.can_manage) == expected


def test_stats_rates_are_fractions_and_zero_without_a_denominator():
    assert projects.ProjectStats() == projects.ProjectStats(0, 0, 0, 0)
    empty = projects.ProjectStats(prospects=3)
    assert (empty.contacted_rate, empty.open_rate, empty.reply_rate) == (0.0, 0.0, 0.0)
    stats = projects.ProjectStats(prospects=8, contacted=4, opened=2, replied=1)
    assert (stats.contacted_rate, stats.open_rate, stats.reply_rate) == (0.5, 0.5, 0.25)


def test_prospect_ids_are_deduplicated_in_order_and_bounded():
    a, b = uuid7(), uuid7()
    assert projects.check_prospect_ids([b, a, b]) == [b, a]
    with pytest.raises(DomainError) as empty:
        projects.check_prospect_ids([])
    assert (empty.value.code, empty.value.field) == ("REQUIRED", ["prospectIds"])
    with pytest.raises(DomainError) as many:
        projects.check_prospect_ids([uuid7() for _ in range(projects.MAX_PROSPECTS_PER_CALL + 1)])
    assert (many.value.code, many.value.field) == ("OUT_OF_RANGE", ["prospectIds"])


# --- creating and reading ----------------------------------------------------------------------

async def test_create_makes_the_caller_owner_of_a_private_project(world):
    scope = await world.scope("recruiter")
    project, token = await projects.create_project(scope, name="  Backend pool ",
                                                   description=" Senior Go engineers ")
    assert token is None
    assert (project.name, project.description, project.visibility, project.owner_id) == (
        "Backend pool", "Senior Go engineers", "private", member(world, "recruiter"))
    assert project.share_token_hash is None and project.archived_at is None
    assert (await projects.get_project(scope, project_id=project.id)).id == project.id
    [event] = await outbox(world, projects.PROJECT_CREATED)
    assert event.payload == {"projectId": str(project.id), "visibility": "private",
                             "name": "Backend pool"}


async def test_create_shared_with_members_and_with_the_tenant(world):
    scope = await world.scope("recruiter")
    sourcer, viewer = member(world, "sourcer"), member(world, "viewer")
    shared, token = await projects.create_project(
        scope, name="Shared", visibility="members",
        member_ids=[sourcer, viewer, sourcer, member(world, "recruiter")])
    assert token is None
    assert (await projects.members_by_project(scope, [shared.id]))[shared.id] == [sourcer, viewer]
    public, token = await projects.create_project(scope, name="Public", visibility="tenant")
    assert token is not None and token.startswith(projects.SHARE_TOKEN_PREFIX)
    stored = (await rows(world, Project, id=public.id))[0]
    assert stored.share_token_hash == digest(token)  # the token itself is not kept


async def test_bad_input_names_every_field_and_writes_nothing(world):
    scope = await world.scope("recruiter")
    with pytest.raises(ValidationFailed) as failed:
        await projects.create_project(scope, name="  ", description="x" * 5001,
                                      visibility="public")
    assert [(e.field, e.code) for e in failed.value.errors] == [
        (["name"], "REQUIRED"), (["description"], "OUT_OF_RANGE"), (["visibility"], "INVALID")]
    with pytest.raises(DomainError) as long_name:
        await projects.create_project(scope, name="n" * 201)
    assert (long_name.value.field, long_name.value.code) == (["name"], "OUT_OF_RANGE")
    with pytest.raises(DomainError) as private:
        await projects.create_project(scope, name="P", member_ids=[member(world, "sourcer")])
    assert (private.value.field, private.value.code) == (["memberIds"], "INVALID")
    with pytest.raises(NotFound) as unknown:
        await projects.create_project(scope, name="P", visibility="members",
                                      member_ids=[uuid7()])
    assert unknown.value.field == ["memberIds"]
    assert await rows(world, Project) == []
    assert await rows(world, ProjectMember) == []
    assert await outbox(world, projects.PROJECT_CREATED) == []


async def test_another_tenants_member_is_an_unknown_member(world, other_world):
    scope = await world.scope("recruiter")
    errors = []
    for user_id in (member(other_world, "recruiter"), uuid7()):
        with pytest.raises(NotFound) as failed:
            await projects.create_project(scope, name="P", visibility="members",
                                          member_ids=[user_id])
        errors.append(error_of(failed))
    assert errors[0] == errors[1] == ("NotFound", "NOT_FOUND", ["memberIds"], "No such member.")
    assert await rows(world, Project) == []


async def test_viewers_and_api_keys_cannot_create(world):
    with pytest.raises(Forbidden):
        await projects.create_project(await world.scope("viewer"), name="P")
    with pytest.raises(Forbidden):
        await projects.create_project(api_key_scope(world, "prospects:read", "prospects:write"),
                                      name="P")
    assert await rows(world, Project) == []


async def test_who_sees_what(world):
    private = await make_project(world, name="Private")
    members = await make_project(world, name="Members", visibility="members",
                                 member_ids=[member(world, "viewer")])
    tenant = await make_project(world, name="Tenant", visibility="tenant")
    newest_first = [tenant.id, members.id, private.id]
    assert await listed(await world.scope("recruiter")) == newest_first
    assert await listed(await world.scope("admin")) == newest_first
    assert await listed(await world.scope("viewer")) == [tenant.id, members.id]
    assert await listed(await world.scope("sourcer")) == [tenant.id]
    key = api_key_scope(world, "prospects:read")
    assert await listed(key) == [tenant.id]
    sourcer = await world.scope("sourcer")
    assert set(await projects.projects_by_ids(sourcer, newest_first)) == {tenant.id}
    for hidden in (private.id, members.id):
        with pytest.raises(NotFound):
            await projects.get_project(sourcer, project_id=hidden)
        with pytest.raises(NotFound):
            await projects.list_project_prospects(sourcer, project_id=hidden, page=ALL)
    assert await projects.stats_by_project(sourcer, [private.id, members.id]) == {}
    assert await projects.members_by_project(sourcer, [members.id]) == {}


async def test_projects_are_listed_in_pages(world):
    scope = await world.scope("recruiter")
    made = [(await make_project(world, name=f"P{n}")).id for n in range(5)]
    first = await projects.list_projects(scope, PageArgs(first=2))
    assert [p.id for p in first.items] == made[::-1][:2] and first.has_next_page
    rest = await projects.list_projects(scope, PageArgs(first=10, after=first.items[-1].id))
    assert [p.id for p in rest.items] == made[::-1][2:] and not rest.has_next_page


# --- editing: who may ---------------------------------------------------------------------------

async def test_viewers_read_but_cannot_edit(world):
    project = await make_project(world, visibility="members",
                                 member_ids=[member(world, "viewer")])
    [prospect] = await make_prospects(world, "Ada")
    viewer = await world.scope("viewer")
    assert (await projects.get_project(viewer, project_id=project.id)).id == project.id
    for attempt in (
        projects.add_prospects(viewer, project_id=project.id, prospect_ids=[prospect]),
        projects.remove_prospects(viewer, project_id=project.id, prospect_ids=[prospect]),
        projects.update_project(viewer, project_id=project.id, name="Mine"),
        projects.archive_project(viewer, project_id=project.id),
        projects.share_project(viewer, project_id=project.id, visibility="tenant"),
        projects.rotate_share_link(viewer, project_id=project.id),
    ):
        with pytest.raises(Forbidden):
            await attempt
    assert await rows(world, ProjectProspect) == []
    stored = (await rows(world, Project, id=project.id))[0]
    assert (stored.name, stored.visibility, stored.archived_at) == ("Backend pool", "members", None)


async def test_members_edit_but_only_owner_and_admins_share_and_archive(world):
    project = await make_project(world, visibility="members",
                                 member_ids=[member(world, "sourcer")])
    [prospect] = await make_prospects(world, "Ada")
    sourcer = await world.scope("sourcer")
    assert await projects.add_prospects(sourcer, project_id=project.id,
                                        prospect_ids=[prospect]) == 1
    assert (await projects.update_project(sourcer, project_id=project.id,
                                          description="Go")).description == "Go"
    with pytest.raises(Forbidden):
        await projects.share_project(sourcer, project_id=project.id, visibility="tenant")
    with pytest.raises(Forbidden):
        await projects.archive_project(sourcer, project_id=project.id)
    admin = await world.scope("admin")
    assert (await projects.update_project(admin, project_id=project.id, name="Renamed")).name \
        == "Renamed"
    shared, token = await projects.share_project(admin, project_id=project.id,
                                                 visibility="tenant")
    assert shared.visibility == "tenant" and token is not None


async def test_tenant_shared_projects_are_read_only_to_non_members(world):
    project = await make_project(world, visibility="tenant")
    [prospect] = await make_prospects(world, "Ada")
    coordinator = await world.scope("coordinator")
    assert (await projects.get_project(coordinator, project_id=project.id)).id == project.id
    with pytest.raises(Forbidden):
        await projects.add_prospects(coordinator, project_id=project.id, prospect_ids=[prospect])
    key = api_key_scope(world, "prospects:read", "prospects:write")
    assert await projects.add_prospects(key, project_id=project.id, prospect_ids=[prospect]) == 1
    assert (await rows(world, ProjectProspect))[0].added_by_id is None


async def test_update_changes_only_what_is_given_and_checks_it(world):
    scope = await world.scope("recruiter")
    project = await make_project(world, description="Go")
    updated = await projects.update_project(scope, project_id=project.id, name=" Infra ")
    assert (updated.name, updated.description) == ("Infra", "Go")
    with pytest.raises(ValidationFailed) as failed:
        await projects.update_project(scope, project_id=project.id, name="",
                                      description="d" * 5001)
    assert [e.field for e in failed.value.errors] == [["name"], ["description"]]
    stored = (await rows(world, Project, id=project.id))[0]
    assert (stored.name, stored.description) == ("Infra", "Go")


async def test_archived_projects_are_read_only_and_left_out_of_listings(world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    [prospect] = await make_prospects(world, "Ada")
    archived = await projects.archive_project(scope, project_id=project.id)
    assert archived.archived_at is not None
    again = await projects.archive_project(scope, project_id=project.id)
    assert again.archived_at == archived.archived_at
    assert len(await outbox(world, projects.PROJECT_ARCHIVED)) == 1
    assert await listed(scope) == []
    assert await listed(scope, include_archived=True) == [project.id]
    for attempt in (
        projects.add_prospects(scope, project_id=project.id, prospect_ids=[prospect]),
        projects.update_project(scope, project_id=project.id, name="X"),
        projects.share_project(scope, project_id=project.id, visibility="tenant"),
    ):
        with pytest.raises(DomainError) as failed:
            await attempt
        assert (failed.value.code, failed.value.field) == ("INVALID", ["projectId"])
    assert await rows(world, ProjectProspect) == []


# --- sharing and the link ---------------------------------------------------------------------

async def test_share_sets_members_exactly_and_private_removes_them(world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    sourcer, viewer = member(world, "sourcer"), member(world, "viewer")
    await projects.share_project(scope, project_id=project.id, visibility="members",
                                 member_ids=[sourcer, viewer])
    await projects.share_project(scope, project_id=project.id, visibility="members",
                                 member_ids=[viewer])
    assert (await projects.members_by_project(scope, [project.id]))[project.id] == [viewer]
    # member_ids omitted keeps the members
    _, token = await projects.share_project(scope, project_id=project.id, visibility="tenant")
    assert token is not None
    assert (await projects.members_by_project(scope, [project.id]))[project.id] == [viewer]
    with pytest.raises(DomainError) as failed:
        await projects.share_project(scope, project_id=project.id, visibility="private",
                                     member_ids=[viewer])
    assert failed.value.field == ["memberIds"]
    private, _ = await projects.share_project(scope, project_id=project.id,
                                              visibility="private")
    assert (private.visibility, private.share_token_hash) == ("private", None)
    assert await rows(world, ProjectMember) == []
    with pytest.raises(NotFound):
        await projects.get_project(await world.scope("viewer"), project_id=project.id)


async def test_the_link_is_made_once_and_rotating_replaces_it(world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    _, first = await projects.share_project(scope, project_id=project.id, visibility="tenant")
    _, again = await projects.share_project(scope, project_id=project.id, visibility="tenant")
    assert first is not None and again is None  # still the same link; rotate for a new one
    _, rotated = await projects.rotate_share_link(scope, project_id=project.id)
    assert rotated != first
    sourcer = await world.scope("sourcer")
    with pytest.raises(DomainError) as stale:
        await projects.join_project_by_link(sourcer, token=first)
    assert (stale.value.code, stale.value.field) == ("INVALID_TOKEN", ["token"])
    joined = await projects.join_project_by_link(sourcer, token=rotated)
    assert joined.id == project.id
    await projects.join_project_by_link(sourcer, token=rotated)  # idempotent
    await projects.join_project_by_link(scope, token=rotated)  # the owner: nothing to do
    assert [m.user_id for m in await rows(world, ProjectMember)] == [member(world, "sourcer")]
    assert len(await outbox(world, projects.PROJECT_JOINED)) == 1
    # a member now: the sourcer may edit (prospects:write)
    [prospect] = await make_prospects(world, "Ada")
    assert await projects.add_prospects(sourcer, project_id=project.id,
                                        prospect_ids=[prospect]) == 1


async def test_rotating_needs_a_tenant_shared_project(world):
    project = await make_project(world)
    with pytest.raises(DomainError) as failed:
        await projects.rotate_share_link(await world.scope("recruiter"), project_id=project.id)
    assert (failed.value.code, failed.value.field) == ("INVALID", ["projectId"])


async def test_leaving_tenant_sharing_or_archiving_kills_the_link(world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    _, token = await projects.share_project(scope, project_id=project.id, visibility="tenant")
    await projects.share_project(scope, project_id=project.id, visibility="members")
    with pytest.raises(DomainError):
        await projects.join_project_by_link(await world.scope("sourcer"), token=token or "")
    _, token = await projects.share_project(scope, project_id=project.id, visibility="tenant")
    await projects.archive_project(scope, project_id=project.id)
    with pytest.raises(DomainError):
        await projects.join_project_by_link(await world.scope("sourcer"), token=token or "")
    assert await rows(world, ProjectMember) == []


async def test_another_tenants_link_is_an_invalid_link(world, other_world):
    _, token = await projects.create_project(await other_world.scope("recruiter"),
                                             name="Theirs", visibility="tenant")
    assert token is not None
    mine = await world.scope("sourcer")
    errors = []
    for candidate in (token, projects.SHARE_TOKEN_PREFIX + "x" * 43, "garbage", ""):
        with pytest.raises(DomainError) as failed:
            await projects.join_project_by_link(mine, token=candidate)
        errors.append(error_of(failed))
    assert all(e == errors[0] for e in errors), errors
    assert errors[0][1:3] == ("INVALID_TOKEN", ["token"])
    assert await rows(other_world, ProjectMember) == []
    with pytest.raises(Forbidden):  # API keys do not join
        await projects.join_project_by_link(api_key_scope(world, "prospects:read"), token=token)


# --- prospects in a project ---------------------------------------------------------------------

async def test_add_is_idempotent_keeps_the_order_and_records_activity_once(world, queue):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    a, b, c = await make_prospects(world, "Ada", "Bob", "Cy")
    assert await projects.add_prospects(scope, project_id=project.id,
                                        prospect_ids=[c, a, c]) == 2
    assert await projects.add_prospects(scope, project_id=project.id,
                                        prospect_ids=[a, b, c]) == 1
    assert await projects.add_prospects(scope, project_id=project.id, prospect_ids=[b, a]) == 0
    assert await in_project(scope, project.id) == [c, a, b]
    assert len(await rows(world, ProjectProspect, project_id=project.id)) == 3
    published = await outbox(world, events.PROSPECTS_ADDED_TO_PROJECT)
    assert [e.payload["activity"] for e in published] == [
        {"kind": "project_added", "prospectIds": [str(c), str(a)], "projectId": str(project.id)},
        {"kind": "project_added", "prospectIds": [str(b)], "projectId": str(project.id)},
    ]
    await queue.drain()
    feed = await rows(world, Activity, kind="project_added")
    assert sorted((r.prospect_id, r.payload["projectId"]) for r in feed) == sorted(
        (p, str(project.id)) for p in (a, b, c))
    assert {r.actor_user_id for r in feed} == {member(world, "recruiter")}


async def test_project_prospects_are_paged_in_added_order(world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    made = await make_prospects(world, *[f"P{n}" for n in range(7)])
    await projects.add_prospects(scope, project_id=project.id, prospect_ids=made[::-1])
    first = await projects.list_project_prospects(scope, project_id=project.id,
                                                  page=PageArgs(first=3))
    assert [e.prospect.id for e in first.items] == made[::-1][:3] and first.has_next_page
    rest = await in_project(scope, project.id, PageArgs(first=10, after=first.items[-1].id))
    assert rest == made[::-1][3:]


async def test_add_is_all_or_nothing(world, other_world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    [mine] = await make_prospects(world, "Ada")
    [theirs] = await make_prospects(other_world, "Theirs")
    errors = []
    for bad in (theirs, uuid7()):
        with pytest.raises(NotFound) as failed:
            await projects.add_prospects(scope, project_id=project.id, prospect_ids=[mine, bad])
        errors.append(error_of(failed))
    assert errors[0] == errors[1] == ("NotFound", "NOT_FOUND", ["prospectIds"],
                                      projects.NO_PROSPECTS)
    assert await rows(world, ProjectProspect) == []
    assert await rows(other_world, ProjectProspect) == []
    assert await outbox(world, events.PROSPECTS_ADDED_TO_PROJECT) == []


async def test_merged_away_prospects_do_not_exist(world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    target, source = await make_prospects(world, "Target", "Source")
    await projects.add_prospects(scope, project_id=project.id, prospect_ids=[target, source])
    await service.merge_prospects(scope, target_id=target, source_id=source)
    assert await in_project(scope, project.id) == [target]
    with pytest.raises(NotFound):
        await projects.add_prospects(scope, project_id=project.id, prospect_ids=[source])


async def test_remove_is_idempotent_and_all_or_nothing(world, other_world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    a, b = await make_prospects(world, "Ada", "Bob")
    [theirs] = await make_prospects(other_world, "Theirs")
    await projects.add_prospects(scope, project_id=project.id, prospect_ids=[a, b])
    with pytest.raises(NotFound) as failed:
        await projects.remove_prospects(scope, project_id=project.id, prospect_ids=[a, theirs])
    assert failed.value.field == ["prospectIds"]
    assert await in_project(scope, project.id) == [a, b]
    assert await projects.remove_prospects(scope, project_id=project.id,
                                           prospect_ids=[a, a]) == 1
    assert await projects.remove_prospects(scope, project_id=project.id, prospect_ids=[a]) == 0
    assert await in_project(scope, project.id) == [b]
    [event] = await outbox(world, projects.PROSPECTS_REMOVED_FROM_PROJECT)
    assert event.payload == {"projectId": str(project.id), "prospectIds": [str(a)]}
    with pytest.raises(DomainError) as empty:
        await projects.remove_prospects(scope, project_id=project.id, prospect_ids=[])
    assert (empty.value.code, empty.value.field) == ("REQUIRED", ["prospectIds"])


async def test_concurrent_adds_of_the_same_prospects_add_each_once(world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    made = await make_prospects(world, *[f"P{n}" for n in range(6)])
    counts = await asyncio.gather(*(
        projects.add_prospects(scope, project_id=project.id, prospect_ids=made)
        for _ in range(4)))
    assert sorted(counts) == [0, 0, 0, 6]
    assert len(await rows(world, ProjectProspect, project_id=project.id)) == 6


async def test_projects_of_a_prospect_are_the_visible_ones_holding_it(world, other_world):
    recruiter, sourcer = await world.scope("recruiter"), await world.scope("sourcer")
    [ada, bob] = await make_prospects(world, "Ada", "Bob")
    private = await make_project(world, name="Private")
    public = await make_project(world, name="Public", visibility="tenant")
    for project in (private, public):
        await projects.add_prospects(recruiter, project_id=project.id, prospect_ids=[ada])
    page = await projects.projects_of_prospect(recruiter, prospect_id=ada, page=ALL)
    assert [p.id for p in page.items] == [public.id, private.id]
    assert [p.id for p in (await projects.projects_of_prospect(
        sourcer, prospect_id=ada, page=ALL)).items] == [public.id]
    assert (await projects.projects_of_prospect(recruiter, prospect_id=bob, page=ALL)).items == []
    [theirs] = await make_prospects(other_world, "Theirs")
    their_project = await make_project(other_world)
    await projects.add_prospects(await other_world.scope("recruiter"),
                                 project_id=their_project.id, prospect_ids=[theirs])
    assert (await projects.projects_of_prospect(recruiter, prospect_id=theirs,
                                                page=ALL)).items == []


async def test_add_what_a_saved_search_matches(world, other_world):
    scope = await world.scope("recruiter")
    project = await make_project(world)
    go = []
    for name in ("Ada", "Bob"):
        prospect, _ = await service.save_prospect(scope, ProspectData(first_name=name,
                                                                      tags=["go"]))
        go.append(prospect.id)
    await make_prospects(world, "Cy")
    saved = await saved_searches.create_saved_search(scope, name="Gophers",
                                                     filter=ProspectFilter(tags_any=["go"]))
    assert await projects.add_saved_search(scope, project_id=project.id,
                                           saved_search_id=saved.id) == 2
    assert await projects.add_saved_search(scope, project_id=project.id,
                                           saved_search_id=saved.id) == 0
    assert sorted(await in_project(scope, project.id)) == sorted(go)
    nothing = await saved_searches.create_saved_search(scope, name="Nobody",
                                                       filter=ProspectFilter(tags_any=["cobol"]))
    assert await projects.add_saved_search(scope, project_id=project.id,
                                           saved_search_id=nothing.id) == 0
    # someone else's saved search, another tenant's, and an unknown one are all not found
    admin = await world.scope("admin")
    theirs = await saved_searches.create_saved_search(
        await other_world.scope("recruiter"), name="Theirs", filter=ProspectFilter())
    outcomes = []
    for saved_id in (saved.id, theirs.id, uuid7()):
        with pytest.raises(NotFound) as failed:
            await projects.add_saved_search(admin, project_id=project.id,
                                            saved_search_id=saved_id)
        outcomes.append(error_of(failed))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0][1:3] == ("NOT_FOUND", ["savedSearchId"])
    # the project is checked first: another tenant's project is an unknown project
    their_project = await make_project(other_world)
    with pytest.raises(NotFound) as failed:
        await projects.add_saved_search(scope, project_id=their_project.id,
                                        saved_search_id=saved.id)
    assert failed.value.field == ["projectId"]
    assert len(await rows(world, ProjectProspect)) == 2
    assert await rows(other_world, ProjectProspect) == []


# --- stats -------------------------------------------------------------------------------------

async def test_stats_count_prospects_contacted_opened_and_replied(world):
    scope = await world.scope("recruiter")
    full, empty = await make_project(world, name="Full"), await make_project(world, name="Empty")
    made = await make_prospects(world, "A", "B", "C", "D")
    outside = (await make_prospects(world, "Outside"))[0]
    await projects.add_prospects(scope, project_id=full.id, prospect_ids=made)
    now = clock.now()
    async with db.tenant_tx(scope):
        await Prospect.filter(id__in=[*made[:2], outside]).update(last_contacted_at=now)
        await Prospect.filter(id=made[0]).update(last_replied_at=now)
        for prospect_id in (made[0], made[0], made[1], outside):
            await Activity.create(tenant_id=scope.tenant_id, prospect_id=prospect_id,
                                  kind="email_opened", occurred_at=now)
    stats = await projects.stats_by_project(scope, [full.id, empty.id, uuid7()])
    assert stats == {full.id: projects.ProjectStats(prospects=4, contacted=2, opened=2,
                                                    replied=1),
                     empty.id: projects.ProjectStats()}
    assert (stats[full.id].contacted_rate, stats[full.id].open_rate,
            stats[full.id].reply_rate) == (0.5, 1.0, 0.5)
    assert await projects.project_stats(scope, project_id=empty.id) == projects.ProjectStats()


# --- another tenant's IDs are unknown IDs ------------------------------------------------------

async def test_another_tenants_project_is_not_found_everywhere(world, other_world):
    theirs = await make_project(other_world, visibility="tenant")
    [their_prospect] = await make_prospects(other_world, "Theirs")
    await projects.add_prospects(await other_world.scope("recruiter"), project_id=theirs.id,
                                 prospect_ids=[their_prospect])
    [mine] = await make_prospects(world, "Ada")
    scope = await world.scope("admin")  # even an admin: another tenant's admin is nobody here

    def attempts(project_id: UUID) -> list[Any]:
        return [
            projects.get_project(scope, project_id=project_id),
            projects.project_stats(scope, project_id=project_id),
            projects.list_project_prospects(scope, project_id=project_id, page=ALL),
            projects.update_project(scope, project_id=project_id, name="Mine"),
            projects.archive_project(scope, project_id=project_id),
            projects.share_project(scope, project_id=project_id, visibility="private"),
            projects.rotate_share_link(scope, project_id=project_id),
            projects.add_prospects(scope, project_id=project_id, prospect_ids=[mine]),
            projects.remove_prospects(scope, project_id=project_id, prospect_ids=[mine]),
        ]

    for foreign, unknown in zip(attempts(theirs.id), attempts(uuid7()), strict=True):
        outcomes = []
        for attempt in (foreign, unknown):
            with pytest.raises(NotFound) as failed:
                await attempt
            outcomes.append(error_of(failed))
        assert outcomes[0] == outcomes[1] == ("NotFound", "NOT_FOUND", ["projectId"],
                                              "No such project."), foreign
    assert await projects.projects_by_ids(scope, [theirs.id]) == {}
    assert await projects.members_by_project(scope, [theirs.id]) == {}
    assert await projects.stats_by_project(scope, [theirs.id]) == {}
    assert await projects.access_by_project(scope, [theirs.id]) == {}
    assert theirs.id not in await listed(scope, include_archived=True)
    stored = (await rows(other_world, Project, id=theirs.id))[0]
    assert (stored.name, stored.visibility, stored.archived_at) == ("Backend pool", "tenant", None)
    assert [r.prospect_id for r in await rows(other_world, ProjectProspect)] == [their_prospect]


# --- many projects' prospects at once ---------------------------------------------------------

async def test_pages_of_many_projects_match_each_projects_own_page(world):
    scope = await world.scope("recruiter")
    names = [f"Pat{n}" for n in range(7)]
    ids = await make_prospects(world, *names)
    first, second, empty = (await make_project(world, name="A"), await make_project(world, name="B"),
                            await make_project(world, name="C"))
    await projects.add_prospects(scope, project_id=first.id, prospect_ids=ids[:5])
    await projects.add_prospects(scope, project_id=second.id, prospect_ids=ids[4:])
    every = [first.id, second.id, empty.id]
    for page in (PageArgs(first=2), PageArgs(first=0), PageArgs(last=2), ALL):
        pages = await projects.project_prospect_pages(scope, every, page)
        for project_id in every:
            alone = await projects.list_project_prospects(scope, project_id=project_id, page=page)
            together = pages[project_id]
            assert ([e.id for e in together.items], together.has_next_page,
                    together.has_previous_page) == ([e.id for e in alone.items],
                                                    alone.has_next_page, alone.has_previous_page)
    after = (await projects.project_prospect_pages(scope, every, PageArgs(first=2)))[first.id]
    rest = await projects.project_prospect_pages(
        scope, every, PageArgs(first=10, after=after.items[-1].id))
    assert [e.prospect.id for e in rest[first.id].items] == ids[2:5]
    assert [e.prospect.id for e in (await projects.project_prospect_pages(
        scope, every, PageArgs(first=1)))[second.id].items] == ids[4:5]
    tails = await projects.project_prospect_pages(scope, every, PageArgs(last=2))
    assert [e.prospect.id for e in tails[first.id].items] == ids[3:5]
    assert [e.prospect.id for e in tails[second.id].items] == ids[5:7]
    assert tails[first.id].has_previous_page and not tails[first.id].has_next_page
    assert tails[empty.id].items == [] and not tails[empty.id].has_previous_page


async def test_pages_leave_out_projects_the_scope_may_not_see(world, other_world):
    owner = await world.scope("recruiter")
    ids = await make_prospects(world, "Vis")
    private = await make_project(world, name="Mine")  # private: its owner only
    await projects.add_prospects(owner, project_id=private.id, prospect_ids=ids)
    foreign = await make_project(other_world, name="Theirs", visibility="tenant")
    sourcer = await world.scope("sourcer")
    assert list(await projects.project_prospect_pages(sourcer, [private.id], ALL)) == []
    assert list(await projects.project_prospect_pages(owner, [foreign.id, uuid7()], ALL)) == []
    assert [e.prospect.id for e in (await projects.project_prospect_pages(
        owner, [private.id, foreign.id], ALL))[private.id].items] == ids
