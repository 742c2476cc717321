"""Bulk actions on many prospects at once: add tags, change owner, add to a project.

The prospects are either a list of ids (all must be visible, or nothing happens: NotFound
naming the first unknown one) or a search filter (at most MAX_BULK matches, or nothing
happens). Each action runs in one transaction and reports how many prospects it matched and
how many it changed; repeating it changes nothing more. Events are published per chunk of
prospects in the same transaction; owner changes carry an "owner_changed" activity section.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.core import clock, db
from domain.core.errors import DomainError, Forbidden, NotFound
from domain.core.scope import Scope
from domain.events.service import publish
from domain.prospects import events, projects, rules, search, service
from domain.prospects.models import Prospect, ProspectTag
from domain.prospects.search import ProspectFilter

MAX_BULK = 10_000
EVENT_CHUNK = 500  # prospect ids per published event
_CHUNK = 500  # ids per IN (...) list



@dataclass(frozen=True)
class BulkResult:
    matched: int  # prospects the action applied to
    affected: int  # of those, the ones it changed


def _chunks(ids: Sequence[Any], size: int = _CHUNK) -> list[list[Any]]:
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]


def _check_tags(tags: Sequence[str]) -> list[str]:
    if not tags:
        raise DomainError("Give at least one tag.", field="tags", code="REQUIRED")
    if len(tags) > rules.MAX_TAGS:
        raise DomainError(f"At most {rules.MAX_TAGS} tags.", field="tags", code="OUT_OF_RANGE")
    return list(dict.fromkeys(rules.check_tag(t) for t in tags))


async def bulk_tag(scope: Scope, *, tags: Sequence[str],
                   prospect_ids: Sequence[UUID] | None = None,
                   filter: ProspectFilter | None = None) -> BulkResult:
    """Add the tags each prospect lacks; affected = prospects that got at least one."""
    scope.require("prospects:write")
    wanted = _check_tags(tags)
    async with db.tenant_tx(scope):
        ids = await search.selected_ids(scope, prospect_ids, filter, limit=MAX_BULK)
        have: set[tuple[UUID, str]] = set()
        for chunk in _chunks(ids):
            rows = await ProspectTag.filter(tenant_id=scope.tenant_id, prospect_id__in=chunk,
                                            tag__in=wanted).values_list("prospect_id", "tag")
            have |= {(pid, tag) for pid, tag in rows}
        new = [ProspectTag(tenant_id=scope.tenant_id, prospect_id=pid, tag=tag)
               for pid in ids for tag in wanted if (pid, tag) not in have]
        # A concurrent tagging of the same pair is a conflict to skip, not an error.
        await ProspectTag.bulk_create(new, batch_size=_CHUNK, ignore_conflicts=True)
        changed = list(dict.fromkeys(t.prospect_id for t in new))
        now = clock.now()
        for chunk in _chunks(changed):
            await Prospect.filter(tenant_id=scope.tenant_id, id__in=chunk).update(updated_at=now)
        for chunk in _chunks(changed, EVENT_CHUNK):
            await publish(events.PROSPECTS_TAGGED, {"prospectIds": [str(p) for p in chunk],
                                             "tags": wanted}, scope=scope)
        return BulkResult(matched=len(ids), affected=len(changed))


async def bulk_change_owner(scope: Scope, *, owner_id: UUID,
                            prospect_ids: Sequence[UUID] | None = None,
                            filter: ProspectFilter | None = None) -> BulkResult:
    """The owner must be a member of the tenant (else NotFound on ownerId); affected =
    prospects whose owner was someone else. One owner_changed activity per changed prospect."""
    scope.require("prospects:write")
    async with db.tenant_tx(scope):
        await service.check_owner(scope, owner_id)
        ids = await search.selected_ids(scope, prospect_ids, filter, limit=MAX_BULK)
        by_previous: dict[UUID | None, list[UUID]] = defaultdict(list)
        for chunk in _chunks(ids):
            query = Prospect.filter(tenant_id=scope.tenant_id, id__in=chunk).order_by("id")
            if db.dialect() == "postgres":
                query = query.select_for_update()  # "from" in the events is what we replace
            for pid, previous in await query.values_list("id", "owner_id"):
                if previous != owner_id:
                    by_previous[previous].append(pid)
        now = clock.now()
        for previous, changed in by_previous.items():
            for chunk in _chunks(changed, EVENT_CHUNK):
                await Prospect.filter(tenant_id=scope.tenant_id, id__in=chunk).update(
                    owner_id=owner_id, updated_at=now)
                listed = [str(p) for p in chunk]
                await publish(events.OWNER_CHANGED, {
                    "prospectIds": listed, "bulk": True, "activity": {
                        "kind": "owner_changed", "prospectIds": listed,
                        "from": str(previous) if previous else None, "to": str(owner_id)}},
                    scope=scope)
        return BulkResult(matched=len(ids),
                          affected=sum(len(v) for v in by_previous.values()))


async def bulk_add_to_project(scope: Scope, *, project_id: UUID,
                              prospect_ids: Sequence[UUID] | None = None,
                              filter: ProspectFilter | None = None) -> BulkResult:
    """Through projects.add_prospects (its rules: who may edit, archived projects, the
    project_added activity); affected = prospects the project did not hold yet."""
    scope.require("prospects:write")
    async with db.tenant_tx(scope):
        allowed = (await projects.access_by_project(scope, [project_id])).get(project_id)
        if allowed is None:
            raise NotFound(projects.NO_PROJECT, field="projectId")
        if not allowed.can_edit:
            raise Forbidden("You may read this project but not edit it.")
        ids = await search.selected_ids(scope, prospect_ids, filter, limit=MAX_BULK)
        added = 0
        for chunk in _chunks(ids, projects.MAX_PROSPECTS_PER_CALL):
            added += await projects.add_prospects(scope, project_id=project_id,
                                                  prospect_ids=chunk)
        return BulkResult(matched=len(ids), affected=added)
