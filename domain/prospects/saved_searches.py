"""Saved searches: a member's named search filters (with their ordering), private to that member.

The criteria column holds {"filter": ProspectFilter.to_json(), "order": ProspectOrder.to_json()}.
A saved search of another member, or of another tenant, does not exist for the caller (NotFound,
as for an unknown id). API keys act for no member, so they have none.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from domain.core import clock, db
from domain.core.config import settings
from domain.core.errors import DomainError, Forbidden, NotFound
from domain.core.pagination import Page, PageArgs, paginate
from domain.core.scope import Scope
from domain.prospects import search
from domain.prospects.models import SavedSearch
from domain.prospects.search import ProspectFilter, ProspectOrder

MAX_NAME = 200
MAX_PER_MEMBER = 200


def check_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise DomainError("Give the search a name.", field="name", code="REQUIRED")
    if len(cleaned) > MAX_NAME:
        raise DomainError(f"At most {MAX_NAME} characters.", field="name", code="OUT_OF_RANGE")
    return cleaned


def criteria_of(row: SavedSearch) -> tuple[ProspectFilter, ProspectOrder]:
    data = row.criteria or {}
    return ProspectFilter.from_json(data.get("filter") or {}), \
        ProspectOrder.from_json(data.get("order"))


def _member(scope: Scope) -> UUID:
    scope.require("prospects:read")
    if scope.user_id is None:
        raise Forbidden("Saved searches belong to members; API keys have none.")
    return scope.user_id


async def create_saved_search(scope: Scope, *, name: str, filter: ProspectFilter,
                              order: ProspectOrder | None = None) -> SavedSearch:
    """The filter is checked as a search would check it (custom field keys included) and
    stored in normal form; ids in it are kept as given (unknown ones match nothing)."""
    owner = _member(scope)
    name = check_name(name)
    order = order or ProspectOrder()
    async with db.tenant_tx(scope):
        normal = await search.check_filter(scope, filter)
        if await SavedSearch.filter(tenant_id=scope.tenant_id, owner_id=owner
                                    ).count() >= MAX_PER_MEMBER:
            raise DomainError(f"At most {MAX_PER_MEMBER} saved searches; delete some first.",
                              field="name", code="OUT_OF_RANGE")
        return await SavedSearch.create(
            tenant_id=scope.tenant_id, owner_id=owner, name=name,
            criteria={"filter": normal.to_json(), "order": order.to_json()},
            created_at=clock.now())


async def list_saved_searches(scope: Scope, page: PageArgs) -> Page[SavedSearch]:
    """The caller's own, newest first."""
    owner = _member(scope)
    async with db.tenant_tx(scope):
        qs = SavedSearch.filter(tenant_id=scope.tenant_id, owner_id=owner)
        return await paginate(qs, page, settings().max_page_size, newest_first=True)


async def saved_searches_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, SavedSearch]:
    """The caller's own among `ids` (node resolution); nothing for API keys."""
    if scope.user_id is None or not scope.can("prospects:read"):
        return {}
    async with db.tenant_tx(scope):
        return {s.id: s for s in await SavedSearch.filter(
            tenant_id=scope.tenant_id, owner_id=scope.user_id, id__in=list(ids))}


async def get_saved_search(scope: Scope, *, saved_search_id: UUID,
                           field: str = "savedSearchId") -> SavedSearch:
    found = (await saved_searches_by_ids(scope, [saved_search_id])).get(saved_search_id)
    if found is None:
        _member(scope)  # an API key gets told why, not just "not found"
        raise NotFound("No such saved search.", field=field)
    return found


async def delete_saved_search(scope: Scope, *, saved_search_id: UUID) -> UUID:
    """Owner only; anyone else's is NotFound. Returns the deleted id."""
    owner = _member(scope)
    async with db.tenant_tx(scope):
        deleted = await SavedSearch.filter(tenant_id=scope.tenant_id, owner_id=owner,
                                           id=saved_search_id).delete()
    if not deleted:
        raise NotFound("No such saved search.", field="savedSearchId")
    return saved_search_id
