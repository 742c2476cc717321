"""Projects: named lists of prospects (talent pools), their sharing, and their stats.

Who sees a project (anyone else gets NotFound, exactly as for an unknown id):
  - admins see every project of the tenant;
  - the owner always;
  - its members when it is shared with members ("members") or with the tenant;
  - every member of the tenant (and API keys) when it is shared with the tenant ("tenant").
Who edits its name, description and prospects: those who see it and hold prospects:write,
being an admin, the owner or a member (API keys: tenant-shared projects only). Everyone else
who sees it reads only. Who shares, rotates its link and archives it: the owner and admins.
An archived project is read-only and left out of listings unless they ask for it.

A private project has no members: making it private removes them. A tenant-shared project
has a share link: an opaque token stored only as its hash, returned once when created or
rotated. Holding it does not let anyone outside the tenant in; a member of the tenant who
opens it joins the project (becomes a member, so may edit with prospects:write).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from domain.core import clock, db
from domain.core.config import settings
from domain.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from domain.core.ids import uuid7
from domain.core.pagination import Page, PageArgs, check_page_args, paginate, to_page
from domain.core.scope import Scope
from domain.core.security import digest, new_token
from domain.events.service import publish
from domain.prospects import events
from domain.prospects import service as prospects
from domain.prospects.models import Project, ProjectMember, ProjectProspect, Prospect
from domain.tenancy import service as tenancy

VISIBILITIES = ("private", "members", "tenant")
MAX_NAME = 200
MAX_DESCRIPTION = 5000
MAX_MEMBERS = 200
MAX_PROSPECTS_PER_CALL = 5000
SHARE_TOKEN_PREFIX = "tgp_"
_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit

# Events of this module without an activity section (nothing for the prospect feed).
PROJECT_CREATED = "ProjectCreated"
PROJECT_UPDATED = "ProjectUpdated"
PROJECT_SHARED = "ProjectShared"
PROJECT_SHARE_LINK_ROTATED = "ProjectShareLinkRotated"
PROJECT_JOINED = "ProjectJoined"
PROJECT_ARCHIVED = "ProjectArchived"
PROSPECTS_REMOVED_FROM_PROJECT = "ProspectsRemovedFromProject"

NO_PROJECT = "No such project."
NO_PROSPECTS = "Some of these prospects do not exist."
NO_MEMBER = "No such member."


# --- rules (pure) ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    can_see: bool
    can_edit: bool
    can_manage: bool


def access(scope: Scope, *, owner_id: UUID, visibility: str, member: bool) -> Access:
    """What the scope may do with a project it knows these facts of (see the module doc)."""
    admin = scope.role == "admin"
    owner = scope.user_id is not None and scope.user_id == owner_id
    member = member and visibility != "private"
    see = scope.can("prospects:read") and (
        admin or owner or visibility == "tenant" or (visibility == "members" and member))
    writes = see and scope.can("prospects:write")
    api_key = scope.user_id is None
    edit = writes and (admin or owner or member or (api_key and visibility == "tenant"))
    return Access(can_see=see, can_edit=edit, can_manage=writes and (admin or owner))


def check_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise DomainError("Give the project a name.", field="name", code="REQUIRED")
    if len(cleaned) > MAX_NAME:
        raise DomainError(f"At most {MAX_NAME} characters.", field="name", code="OUT_OF_RANGE")
    return cleaned


def check_description(description: str) -> str:
    cleaned = (description or "").strip()
    if len(cleaned) > MAX_DESCRIPTION:
        raise DomainError(f"At most {MAX_DESCRIPTION} characters.", field="description",
                          code="OUT_OF_RANGE")
    return cleaned


def check_visibility(visibility: str) -> str:
    if visibility not in VISIBILITIES:
        raise DomainError(f"Unknown visibility '{visibility}'.", field="visibility")
    return visibility


def check_prospect_ids(ids: Sequence[UUID]) -> list[UUID]:
    """Distinct ids in the order given."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise DomainError("Pick at least one prospect.", field="prospectIds", code="REQUIRED")
    if len(unique) > MAX_PROSPECTS_PER_CALL:
        raise DomainError(f"At most {MAX_PROSPECTS_PER_CALL} prospects at once.",
                          field="prospectIds", code="OUT_OF_RANGE")
    return unique


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class ProjectStats:
    """Counts over the project's prospects. Rates are fractions (0..1): contacted of all,
    opened and replied of the contacted; 0 while nobody has been contacted."""

    prospects: int = 0
    contacted: int = 0
    opened: int = 0
    replied: int = 0

    @property
    def contacted_rate(self) -> float:
        return ratio(self.contacted, self.prospects)

    @property
    def open_rate(self) -> float:
        return ratio(self.opened, self.contacted)

    @property
    def reply_rate(self) -> float:
        return ratio(self.replied, self.contacted)


@dataclass(frozen=True)
class ProjectEntry:
    """A prospect in a project; `id` is the entry's own (time-ordered: the added order)."""

    id: UUID
    prospect: Prospect
    added_at: datetime
    added_by_id: UUID | None


async def _uuids(qs: QuerySet[Any], field: str) -> list[UUID]:
    values: list[Any] = list(await qs.values_list(field, flat=True))
    return values


def _ordered_ids(n: int) -> list[UUID]:
    """Ids for rows written together, in the order given: uuid7 is time-ordered only to the
    millisecond, so sorting them keeps the order within one write."""
    return sorted(uuid7() for _ in range(n))


def _chunks(ids: Sequence[UUID]) -> list[list[UUID]]:
    return [list(ids[i:i + _CHUNK]) for i in range(0, len(ids), _CHUNK)]


# --- reading ---------------------------------------------------------------------------------

def _visible(scope: Scope) -> QuerySet[Project]:
    """The projects the scope may see, as one query (mirrors `access`)."""
    qs = Project.filter(tenant_id=scope.tenant_id)
    if scope.role == "admin":
        return qs
    if scope.user_id is None:
        return qs.filter(visibility="tenant")
    member_of = ProjectMember.filter(tenant_id=scope.tenant_id, user_id=scope.user_id)
    return qs.filter(Q(owner_id=scope.user_id) | Q(visibility="tenant")
                     | Q(visibility="members", id__in=Subquery(member_of.values("project_id"))))


async def _member_ids(scope: Scope, project_id: UUID) -> list[UUID]:
    return await _uuids(ProjectMember.filter(tenant_id=scope.tenant_id, project_id=project_id)
                        .order_by("id"), "user_id")


async def _is_member(scope: Scope, project_id: UUID) -> bool:
    return scope.user_id is not None and await ProjectMember.exists(
        tenant_id=scope.tenant_id, project_id=project_id, user_id=scope.user_id)


async def _load(scope: Scope, project_id: UUID, *, lock: bool = False
                ) -> tuple[Project, Access]:
    """The project if the scope sees it (locked for update on PostgreSQL), else NotFound."""
    query = Project.filter(tenant_id=scope.tenant_id, id=project_id)
    if lock and db.dialect() == "postgres":
        query = query.select_for_update()
    project = await query.first()
    if project is None:
        raise NotFound(NO_PROJECT, field="projectId")
    member = await _is_member(scope, project.id)
    allowed = access(scope, owner_id=project.owner_id, visibility=project.visibility,
                     member=member)
    if not allowed.can_see:
        raise NotFound(NO_PROJECT, field="projectId")
    return project, allowed


async def _writable(scope: Scope, project_id: UUID, *, manage: bool = False) -> Project:
    project, allowed = await _load(scope, project_id, lock=True)
    if not (allowed.can_manage if manage else allowed.can_edit):
        raise Forbidden("Only the owner and admins may do this." if manage
                        else "You may read this project but not edit it.")
    if project.archived_at is not None:
        raise DomainError("This project is archived.", field="projectId")
    return project


async def get_project(scope: Scope, *, project_id: UUID) -> Project:
    scope.require("prospects:read")
    async with db.tenant_tx(scope):
        project, _ = await _load(scope, project_id)
        return project


async def projects_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Project]:
    """The visible ones among `ids` (node resolution)."""
    if not scope.can("prospects:read"):
        return {}
    async with db.tenant_tx(scope):
        return {p.id: p for p in await _visible(scope).filter(id__in=list(ids))}


async def members_by_project(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
    """User ids of each visible project's members, in the order they joined."""
    if not scope.can("prospects:read"):
        return {}
    async with db.tenant_tx(scope):
        visible = await _uuids(_visible(scope).filter(id__in=list(ids)), "id")
        rows = await ProjectMember.filter(tenant_id=scope.tenant_id, project_id__in=visible
                                          ).order_by("id")
    grouped: dict[UUID, list[UUID]] = {pid: [] for pid in visible}
    for row in rows:
        grouped[row.project_id].append(row.user_id)
    return grouped


async def access_by_project(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Access]:
    """What the scope may do with each visible project among `ids`."""
    if not scope.can("prospects:read"):
        return {}
    async with db.tenant_tx(scope):
        rows = list(await _visible(scope).filter(id__in=list(ids)))
        mine = set(await _uuids(ProjectMember.filter(
            tenant_id=scope.tenant_id, user_id=scope.user_id, project_id__in=[p.id for p in rows]
        ), "project_id")) if scope.user_id and rows else set()
    return {p.id: access(scope, owner_id=p.owner_id, visibility=p.visibility,
                         member=p.id in mine) for p in rows}


async def list_projects(scope: Scope, page: PageArgs, *, include_archived: bool = False,
                        prospect_id: UUID | None = None) -> Page[Project]:
    """The caller's visible projects, newest first; with prospect_id, those holding it."""
    scope.require("prospects:read")
    async with db.tenant_tx(scope):
        qs = _visible(scope)
        if not include_archived:
            qs = qs.filter(archived_at=None)
        if prospect_id is not None:
            holding = ProjectProspect.filter(tenant_id=scope.tenant_id, prospect_id=prospect_id)
            qs = qs.filter(id__in=Subquery(holding.values("project_id")))
        return await paginate(qs, page, settings().max_page_size, newest_first=True)


async def projects_of_prospect(scope: Scope, *, prospect_id: UUID, page: PageArgs,
                               include_archived: bool = False) -> Page[Project]:
    return await list_projects(scope, page, include_archived=include_archived,
                               prospect_id=prospect_id)


async def list_project_prospects(scope: Scope, *, project_id: UUID, page: PageArgs
                                 ) -> Page[ProjectEntry]:
    """The project's prospects in the order they were added (cursors are entry ids)."""
    scope.require("prospects:read")
    found = (await project_prospect_pages(scope, [project_id], page)).get(project_id)
    if found is None:
        raise NotFound(NO_PROJECT, field="projectId")
    return found


# Each project's page of links in one query: ranked per project in the page's direction, the
# first size + 1 of each kept (the extra one says there is more). Only visible prospects.
_PAGES_SQL = """
SELECT id, tenant_id, project_id, prospect_id, added_by_id, added_at FROM (
    SELECT pp.id, pp.tenant_id, pp.project_id, pp.prospect_id, pp.added_by_id, pp.added_at,
           ROW_NUMBER() OVER (PARTITION BY pp.project_id ORDER BY pp.id {order}) AS place
    FROM project_prospects pp
    JOIN prospects p ON p.tenant_id = pp.tenant_id AND p.id = pp.prospect_id
    WHERE pp.tenant_id = {tenant} AND p.merged_into_id IS NULL
      AND pp.project_id IN ({projects}){after}{before}
) ranked WHERE place <= {limit} ORDER BY project_id, place
"""


async def project_prospect_pages(scope: Scope, project_ids: Sequence[UUID], page: PageArgs
                                 ) -> dict[UUID, Page[ProjectEntry]]:
    """list_project_prospects for many projects with the same page arguments (a list of
    projects with their prospects), in three queries whatever their number. Projects the
    scope may not see are left out."""
    if not scope.can("prospects:read"):
        return {}
    size = check_page_args(page, settings().max_page_size)
    async with db.tenant_tx(scope) as conn:
        seen = await _uuids(_visible(scope).filter(id__in=list(project_ids)), "id")
        if not seen:
            return {}
        params: list[Any] = []

        def mark(value: Any) -> str:
            params.append(value)
            return f"${len(params)}" if db.dialect() == "postgres" else "?"

        sql = _PAGES_SQL.format(
            # keyword arguments are evaluated in order: the order of the marks in the text
            order="DESC" if page.last is not None else "ASC", tenant=mark(str(scope.tenant_id)),
            projects=", ".join(mark(str(p)) for p in seen),
            after=f" AND pp.id > {mark(str(page.after))}" if page.after else "",
            before=f" AND pp.id < {mark(str(page.before))}" if page.before else "",
            limit=mark(size + 1))
        links = [ProjectProspect._init_from_db(**row)
                 for row in await conn.execute_query_dict(sql, params)]
        found = {p.id: p for p in await prospects.visible(scope).filter(
            id__in=[link.prospect_id for link in links])} if links else {}
    by_project: dict[UUID, list[ProjectEntry]] = {project_id: [] for project_id in seen}
    for link in links:
        if link.prospect_id in found:
            by_project[link.project_id].append(ProjectEntry(
                id=link.id, prospect=found[link.prospect_id], added_at=link.added_at,
                added_by_id=link.added_by_id))
    return {project_id: to_page(entries, page, size) for project_id, entries in by_project.items()}


_STATS_SQL = """
SELECT pp.project_id AS project_id,
       COUNT(*) AS prospects,
       COUNT(p.last_contacted_at) AS contacted,
       COUNT(p.last_replied_at) AS replied,
       SUM(CASE WHEN EXISTS (
           SELECT 1 FROM activities a
           WHERE a.tenant_id = pp.tenant_id AND a.prospect_id = pp.prospect_id
             AND a.kind = 'email_opened') THEN 1 ELSE 0 END) AS opened
FROM project_prospects pp
JOIN prospects p ON p.tenant_id = pp.tenant_id AND p.id = pp.prospect_id
WHERE pp.tenant_id = {tenant} AND pp.project_id {in_projects} AND p.merged_into_id IS NULL
GROUP BY pp.project_id
"""


async def stats_by_project(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, ProjectStats]:
    """One aggregate query for many projects: contacted and replied come from the prospects'
    last_contacted_at / last_replied_at, opened from email_opened activities (all zero until
    sequences send mail)."""
    if not scope.can("prospects:read"):
        return {}
    async with db.tenant_tx(scope) as conn:
        visible = await _uuids(_visible(scope).filter(id__in=list(ids)), "id")
        if not visible:
            return {}
        if db.dialect() == "postgres":
            sql = _STATS_SQL.format(tenant="$1", in_projects="= ANY($2::uuid[])")
            values: list[Any] = [scope.tenant_id, visible]
        else:
            sql = _STATS_SQL.format(tenant="?", in_projects=f"IN ({', '.join('?' * len(visible))})")
            values = [str(scope.tenant_id), *(str(v) for v in visible)]
        rows = await conn.execute_query_dict(sql, values)
    found = {UUID(str(r["project_id"])): ProjectStats(
        prospects=int(r["prospects"]), contacted=int(r["contacted"]),
        opened=int(r["opened"] or 0), replied=int(r["replied"])) for r in rows}
    return {pid: found.get(pid, ProjectStats()) for pid in visible}


async def project_stats(scope: Scope, *, project_id: UUID) -> ProjectStats:
    await get_project(scope, project_id=project_id)
    return (await stats_by_project(scope, [project_id])).get(project_id, ProjectStats())


# --- writing ---------------------------------------------------------------------------------

def _collect(*checks: Any) -> list[Any]:
    """Run each check; raise every field error together so a form can show them all."""
    results, errors = [], []
    for check, value in checks:
        try:
            results.append(check(value))
        except DomainError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ValidationFailed(errors)
    return results


async def _checked_members(scope: Scope, member_ids: Sequence[UUID], *, owner_id: UUID,
                           visibility: str) -> list[UUID]:
    ids = [m for m in dict.fromkeys(member_ids) if m != owner_id]
    if not ids:
        return []
    if visibility == "private":
        raise DomainError("A private project has no members; share it with members instead.",
                          field="memberIds")
    if len(ids) > MAX_MEMBERS:
        raise DomainError(f"At most {MAX_MEMBERS} members.", field="memberIds",
                          code="OUT_OF_RANGE")
    known = await tenancy.users_by_ids(scope, ids)
    if any(m not in known for m in ids):
        raise NotFound(NO_MEMBER, field="memberIds")
    return ids


async def _set_members(scope: Scope, project: Project, member_ids: list[UUID]) -> None:
    current = set(await _member_ids(scope, project.id))
    wanted = set(member_ids)
    if current - wanted:
        await ProjectMember.filter(tenant_id=scope.tenant_id, project_id=project.id,
                                   user_id__in=list(current - wanted)).delete()
    added = [m for m in member_ids if m not in current]
    now = clock.now()
    await ProjectMember.bulk_create([
        ProjectMember(id=entry_id, tenant_id=scope.tenant_id, project_id=project.id, user_id=m,
                      created_at=now)
        for entry_id, m in zip(_ordered_ids(len(added)), added, strict=True)],
        ignore_conflicts=True)


def _new_share_token(project: Project) -> str:
    token = new_token(SHARE_TOKEN_PREFIX)
    project.share_token_hash = digest(token)
    return token


def _summary(project: Project) -> dict[str, Any]:
    return {"projectId": str(project.id), "visibility": project.visibility}


async def create_project(scope: Scope, *, name: str, description: str = "",
                         visibility: str = "private", member_ids: Sequence[UUID] = ()
                         ) -> tuple[Project, str | None]:
    """Returns the project and, when it is shared with the tenant, its share-link token (not
    stored; shown this once). The caller owns it."""
    scope.require("prospects:write")
    if scope.user_id is None:
        raise Forbidden("A project belongs to a member; API keys cannot create one.")
    name, description, visibility = _collect((check_name, name),
                                             (check_description, description),
                                             (check_visibility, visibility))
    async with db.tenant_tx(scope):
        members = await _checked_members(scope, member_ids, owner_id=scope.user_id,
                                         visibility=visibility)
        now = clock.now()
        project = Project(tenant_id=scope.tenant_id, name=name, description=description,
                          owner_id=scope.user_id, visibility=visibility, created_at=now,
                          updated_at=now)
        token = _new_share_token(project) if visibility == "tenant" else None
        await project.save()
        await _set_members(scope, project, members)
        await publish(PROJECT_CREATED, {**_summary(project), "name": name}, scope=scope)
        return project, token


async def update_project(scope: Scope, *, project_id: UUID, name: str | None = None,
                         description: str | None = None) -> Project:
    """Fields given (not None) replace the current ones."""
    scope.require("prospects:write")
    checks: list[tuple[Any, str]] = []
    if name is not None:
        checks.append((check_name, name))
    if description is not None:
        checks.append((check_description, description))
    checked = iter(_collect(*checks))
    async with db.tenant_tx(scope):
        project = await _writable(scope, project_id)
        if name is not None:
            project.name = next(checked)
        if description is not None:
            project.description = next(checked)
        project.updated_at = clock.now()
        await project.save(update_fields=["name", "description", "updated_at"])
        await publish(PROJECT_UPDATED, _summary(project), scope=scope)
        return project


async def archive_project(scope: Scope, *, project_id: UUID) -> Project:
    """Idempotent: archiving an archived project returns it unchanged."""
    scope.require("prospects:write")
    async with db.tenant_tx(scope):
        project, allowed = await _load(scope, project_id, lock=True)
        if not allowed.can_manage:
            raise Forbidden("Only the owner and admins may do this.")
        if project.archived_at is None:
            project.archived_at = project.updated_at = clock.now()
            await project.save(update_fields=["archived_at", "updated_at"])
            await publish(PROJECT_ARCHIVED, _summary(project), scope=scope)
        return project


async def share_project(scope: Scope, *, project_id: UUID, visibility: str,
                        member_ids: Sequence[UUID] | None = None) -> tuple[Project, str | None]:
    """Set who sees the project. member_ids, when given, becomes the exact member list
    (None keeps it; making the project private removes every member). The token is returned
    when this call created the share link (the project became tenant-shared); leaving
    "tenant" deletes the link, so coming back makes a new one."""
    scope.require("prospects:write")
    visibility = check_visibility(visibility)
    async with db.tenant_tx(scope):
        project = await _writable(scope, project_id, manage=True)
        if visibility == "private":
            await _checked_members(scope, member_ids or (), owner_id=project.owner_id,
                                   visibility=visibility)
            members: list[UUID] = []
        elif member_ids is None:
            members = [m for m in await _member_ids(scope, project.id) if m != project.owner_id]
        else:
            members = await _checked_members(scope, member_ids, owner_id=project.owner_id,
                                             visibility=visibility)
        await _set_members(scope, project, members)
        token = None
        if visibility != "tenant":
            project.share_token_hash = None
        elif project.share_token_hash is None:
            token = _new_share_token(project)
        project.visibility = visibility
        project.updated_at = clock.now()
        await project.save(update_fields=["visibility", "share_token_hash", "updated_at"])
        await publish(PROJECT_SHARED, {**_summary(project),
                                       "memberIds": [str(m) for m in members]}, scope=scope)
        return project, token


async def rotate_share_link(scope: Scope, *, project_id: UUID) -> tuple[Project, str]:
    """A new share-link token; the previous link stops working."""
    scope.require("prospects:write")
    async with db.tenant_tx(scope):
        project = await _writable(scope, project_id, manage=True)
        if project.visibility != "tenant":
            raise DomainError("Only a project shared with the tenant has a link; share it "
                              "with the tenant first.", field="projectId")
        token = _new_share_token(project)
        project.updated_at = clock.now()
        await project.save(update_fields=["share_token_hash", "updated_at"])
        await publish(PROJECT_SHARE_LINK_ROTATED, _summary(project), scope=scope)
        return project, token


async def join_project_by_link(scope: Scope, *, token: str) -> Project:
    """The caller becomes a member of the tenant-shared project the link's token belongs to.
    Idempotent. A token of another tenant, a rotated one or an archived project's is invalid,
    the same as one never issued."""
    scope.require("prospects:read")
    if scope.user_id is None:
        raise Forbidden("Only members join projects; API keys see tenant-shared ones anyway.")
    invalid = DomainError("This link is not valid (any more).", field="token",
                          code="INVALID_TOKEN")
    token = (token or "").strip()
    if not token.startswith(SHARE_TOKEN_PREFIX) or len(token) > 200:
        raise invalid
    async with db.tenant_tx(scope):
        project = await Project.filter(tenant_id=scope.tenant_id, share_token_hash=digest(token),
                                       visibility="tenant", archived_at=None).first()
        if project is None:
            raise invalid
        if project.owner_id != scope.user_id and not await _is_member(scope, project.id):
            await ProjectMember.bulk_create([ProjectMember(
                tenant_id=scope.tenant_id, project_id=project.id, user_id=scope.user_id,
                created_at=clock.now())], ignore_conflicts=True)
            await publish(PROJECT_JOINED, {**_summary(project), "userId": str(scope.user_id)},
                          scope=scope)
        return project


async def _existing_prospects(scope: Scope, ids: list[UUID]) -> None:
    found: set[UUID] = set()
    for chunk in _chunks(ids):
        found |= set(await _uuids(prospects.visible(scope).filter(id__in=chunk), "id"))
    if len(found) != len(ids):
        raise NotFound(NO_PROSPECTS, field="prospectIds")


async def _in_project(scope: Scope, project_id: UUID, ids: list[UUID]) -> set[UUID]:
    present: set[UUID] = set()
    for chunk in _chunks(ids):
        present |= set(await _uuids(ProjectProspect.filter(
            tenant_id=scope.tenant_id, project_id=project_id, prospect_id__in=chunk
        ), "prospect_id"))
    return present


async def add_prospects(scope: Scope, *, project_id: UUID, prospect_ids: list[UUID]) -> int:
    """Add prospects the project does not hold yet, in the order given; returns how many were
    new. Idempotent. All or nothing: an unknown or foreign id fails the whole call (NotFound
    on prospectIds). The new ones get a "project_added" activity (through the event)."""
    scope.require("prospects:write")
    ids = check_prospect_ids(prospect_ids)
    async with db.tenant_tx(scope):
        project = await _writable(scope, project_id)  # locked: adds to one project serialise
        await _existing_prospects(scope, ids)
        present = await _in_project(scope, project.id, ids)
        new = [p for p in ids if p not in present]
        if not new:
            return 0
        now = clock.now()
        await ProjectProspect.bulk_create([
            ProjectProspect(id=entry_id, tenant_id=scope.tenant_id, project_id=project.id,
                            prospect_id=prospect_id, added_by_id=scope.user_id, added_at=now)
            for entry_id, prospect_id in zip(_ordered_ids(len(new)), new, strict=True)],
            batch_size=_CHUNK, ignore_conflicts=True)
        project.updated_at = now
        await project.save(update_fields=["updated_at"])
        added = [str(p) for p in new]
        # The activity names the project by id only: a private project's name must not reach
        # the feed of everyone who reads the prospect.
        await publish(events.PROSPECTS_ADDED_TO_PROJECT, {
            "projectId": str(project.id), "prospectIds": added,
            "activity": {"kind": "project_added", "prospectIds": added,
                         "projectId": str(project.id)}}, scope=scope)
        return len(new)


async def add_saved_search(scope: Scope, *, project_id: UUID, saved_search_id: UUID) -> int:
    """Add the prospects the caller's saved search matches now (a snapshot: later matches are
    not added by themselves), like add_prospects; returns how many were new. More than
    MAX_PROSPECTS_PER_CALL matches fail the call (OUT_OF_RANGE on savedSearchId)."""
    # search imports this module, so these are imported here, not at the top.
    from domain.prospects import saved_searches, search

    scope.require("prospects:write")
    async with db.tenant_tx(scope):
        await _writable(scope, project_id)  # the project's errors come first
        saved = await saved_searches.get_saved_search(scope, saved_search_id=saved_search_id)
        criteria, _ = saved_searches.criteria_of(saved)
        ids = await search.matching_ids(scope, criteria, MAX_PROSPECTS_PER_CALL + 1)
        if len(ids) > MAX_PROSPECTS_PER_CALL:
            raise DomainError(f"The search matches more than {MAX_PROSPECTS_PER_CALL} "
                              "prospects; narrow it.", field="savedSearchId",
                              code="OUT_OF_RANGE")
        if not ids:
            return 0
        return await add_prospects(scope, project_id=project_id, prospect_ids=ids)


async def remove_prospects(scope: Scope, *, project_id: UUID, prospect_ids: list[UUID]) -> int:
    """Remove these prospects from the project; returns how many it held. Idempotent; an
    unknown or foreign id fails the whole call like in add_prospects."""
    scope.require("prospects:write")
    ids = check_prospect_ids(prospect_ids)
    async with db.tenant_tx(scope):
        project = await _writable(scope, project_id)
        await _existing_prospects(scope, ids)
        present = await _in_project(scope, project.id, ids)
        held = [p for p in ids if p in present]
        if not held:
            return 0
        for chunk in _chunks(held):
            await ProjectProspect.filter(tenant_id=scope.tenant_id, project_id=project.id,
                                         prospect_id__in=chunk).delete()
        project.updated_at = clock.now()
        await project.save(update_fields=["updated_at"])
        await publish(PROSPECTS_REMOVED_FROM_PROJECT, {
            "projectId": str(project.id), "prospectIds": [str(p) for p in held]}, scope=scope)
        return len(held)

