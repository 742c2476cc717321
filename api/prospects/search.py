"""Rediscovery search: the prospects(filter:) query, saved searches, bulk actions."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from api.context import scope_of
from api.errors import BadInput, UserError, run_mutation
from api.permissions import requires
from api.prospects import search_inputs as inputs
from api.prospects.search_inputs import ProspectFilterInput, ProspectOrder, ProspectOrderInput
from api.prospects.types import Prospect, prefetch_relations
from api.relay import (
    Connection,
    Edge,
    Node,
    PageInfo,
    connection,
    node_type,
    page_args,
    selected_node_fields,
    to_global_id,
)
from domain.core.config import settings
from domain.core.errors import DomainError
from domain.core.pagination import PageArgs, check_page_args
from domain.core.scope import Scope
from domain.prospects import bulk, models, saved_searches, search

_CURSOR_PREFIX = "s:"


def encode_cursor(cursor: search.SearchCursor) -> str:
    raw = _CURSOR_PREFIX + json.dumps(cursor.to_json(), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, argument: str) -> search.SearchCursor | None:
    """A search cursor (ordering, sort key, id); anything else is a BadInput naming the
    argument."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError(cursor)
        return search.SearchCursor.from_json(json.loads(raw[len(_CURSOR_PREFIX):]))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise BadInput(f"'{argument}' is not a valid cursor.", argument) from exc


def search_page(first: int | None, after: str | None, last: int | None,
                before: str | None) -> search.SearchPage:
    try:
        check_page_args(PageArgs(first=first, last=last), settings().max_page_size)
    except DomainError as exc:
        raise BadInput(exc.message, exc.field[-1]) from exc
    return search.SearchPage(first=first, after=decode_cursor(after, "after"), last=last,
                             before=decode_cursor(before, "before"))


def _connection(result: search.SearchResult) -> Connection[Prospect]:
    edges = [Edge(cursor=encode_cursor(result.cursor(row)), node=Prospect.of(row))
             for row in result.items]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=result.has_next_page, has_previous_page=result.has_previous_page,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None))


def _ids(values: list[strawberry.ID] | None, type_name: str) -> list[UUID] | None:
    return None if values is None else inputs.resolve_ids(values, type_name)


_id = inputs.resolve_id


@strawberry.type(description="A member's saved search; only its owner sees it.")
class SavedSearch(Node):
    row: strawberry.Private[models.SavedSearch]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("SavedSearch", self.row.id)

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="The filter as ProspectFilterInput JSON: pass it as the "
                                  "filter of prospects(...) to run the search again.")
    def filter(self) -> JSON:
        found, _ = saved_searches.criteria_of(self.row)
        return JSON(inputs.filter_as_input(found))

    @strawberry.field(description="The ordering saved with it; nulls mean the defaults.")
    def order_by(self) -> ProspectOrder:
        _, order = saved_searches.criteria_of(self.row)
        return inputs.order_as_output(order)

    @staticmethod
    def of(row: models.SavedSearch) -> SavedSearch:
        return SavedSearch(row=row)


async def _saved_searches(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: SavedSearch.of(v)
            for k, v in (await saved_searches.saved_searches_by_ids(scope, ids)).items()}


node_type("SavedSearch", _saved_searches)


@strawberry.type
class SearchQuery:
    @strawberry.field(description="Rediscovery search over the tenant's prospects, one keyset "
                                  "page at a time (cursors belong to the ordering).",
                      extensions=[requires("prospects:read")])
    async def prospects(self, info: strawberry.Info, filter: ProspectFilterInput | None = None,
                        order_by: ProspectOrderInput | None = None, first: int | None = None,
                        after: str | None = None, last: int | None = None,
                        before: str | None = None) -> Connection[Prospect]:
        page = search_page(first, after, last, before)
        try:
            result = await search.search_prospects(scope_of(info),
                                                   filter=inputs.to_filter(filter),
                                                   order=inputs.to_order(order_by), page=page)
        except DomainError as exc:
            if len(exc.field) == 1 and exc.field[0] in ("after", "before"):
                raise BadInput(exc.message, exc.field[0]) from exc
            raise
        await prefetch_relations(info, result.items, selected_node_fields(info))
        return _connection(result)

    @strawberry.field(description="The viewer's saved searches, newest first.",
                      extensions=[requires("prospects:read")])
    async def saved_searches(self, info: strawberry.Info, first: int | None = None,
                             after: str | None = None, last: int | None = None,
                             before: str | None = None) -> Connection[SavedSearch]:
        page = await saved_searches.list_saved_searches(scope_of(info),
                                                        page_args(first, after, last, before))
        return connection(page, SavedSearch.of)


@strawberry.type
class CreateSavedSearchPayload:
    saved_search: SavedSearch | None = None
    errors: list[UserError]


@strawberry.type
class DeleteSavedSearchPayload:
    deleted_saved_search_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class BulkTagProspectsPayload:
    matched_count: int = strawberry.field(default=0, description="Prospects tagged.")
    affected_count: int = strawberry.field(default=0,
                                           description="Of those, the ones that got a new tag.")
    errors: list[UserError]


@strawberry.type
class BulkChangeProspectOwnerPayload:
    matched_count: int = strawberry.field(default=0, description="Prospects given the owner.")
    affected_count: int = strawberry.field(default=0,
                                           description="Of those, the ones owned by someone "
                                                       "else before.")
    errors: list[UserError]


@strawberry.type
class BulkAddProspectsToProjectPayload:
    matched_count: int = strawberry.field(default=0, description="Prospects added.")
    affected_count: int = strawberry.field(default=0,
                                           description="Of those, the ones new to the project.")
    errors: list[UserError]


def _bulk(result: bulk.BulkResult) -> dict[str, Any]:
    return {"matched_count": result.matched, "affected_count": result.affected}


def _filter_or_none(given: ProspectFilterInput | None) -> search.ProspectFilter | None:
    return None if given is None else inputs.to_filter(given)


@strawberry.type
class SearchMutation:
    @strawberry.mutation(description="Save a search under a name, for the viewer only.",
                         extensions=[requires("prospects:read")])
    async def create_saved_search(self, info: strawberry.Info, input: inputs.CreateSavedSearchInput
                                  ) -> CreateSavedSearchPayload:
        async def act() -> dict[str, Any]:
            row = await saved_searches.create_saved_search(
                scope_of(info), name=input.name, filter=inputs.to_filter(input.filter),
                order=inputs.to_order(input.order_by))
            return {"saved_search": SavedSearch.of(row)}
        return await run_mutation(CreateSavedSearchPayload, act)

    @strawberry.mutation(description="Delete one of the viewer's saved searches.",
                         extensions=[requires("prospects:read")])
    async def delete_saved_search(self, info: strawberry.Info, input: inputs.DeleteSavedSearchInput
                                  ) -> DeleteSavedSearchPayload:
        async def act() -> dict[str, Any]:
            deleted = await saved_searches.delete_saved_search(
                scope_of(info), saved_search_id=_id(input.saved_search_id, "SavedSearch"))
            return {"deleted_saved_search_id": to_global_id("SavedSearch", deleted)}
        return await run_mutation(DeleteSavedSearchPayload, act)

    @strawberry.mutation(description="Add tags to many prospects; all or nothing.",
                         extensions=[requires("prospects:write")])
    async def bulk_tag_prospects(self, info: strawberry.Info, input: inputs.BulkTagProspectsInput
                                 ) -> BulkTagProspectsPayload:
        async def act() -> dict[str, Any]:
            return _bulk(await bulk.bulk_tag(
                scope_of(info), tags=input.tags, prospect_ids=_ids(input.prospect_ids, "Prospect"),
                filter=_filter_or_none(input.filter)))
        return await run_mutation(BulkTagProspectsPayload, act)

    @strawberry.mutation(description="Give many prospects another owner; all or nothing.",
                         extensions=[requires("prospects:write")])
    async def bulk_change_prospect_owner(self, info: strawberry.Info,
                                         input: inputs.BulkChangeProspectOwnerInput
                                         ) -> BulkChangeProspectOwnerPayload:
        async def act() -> dict[str, Any]:
            return _bulk(await bulk.bulk_change_owner(
                scope_of(info), owner_id=_id(input.owner_id, "User"),
                prospect_ids=_ids(input.prospect_ids, "Prospect"),
                filter=_filter_or_none(input.filter)))
        return await run_mutation(BulkChangeProspectOwnerPayload, act)

    @strawberry.mutation(description="Add many prospects to a project; all or nothing.",
                         extensions=[requires("prospects:write")])
    async def bulk_add_prospects_to_project(self, info: strawberry.Info,
                                            input: inputs.BulkAddProspectsToProjectInput
                                            ) -> BulkAddProspectsToProjectPayload:
        async def act() -> dict[str, Any]:
            return _bulk(await bulk.bulk_add_to_project(
                scope_of(info), project_id=_id(input.project_id, "Project"),
                prospect_ids=_ids(input.prospect_ids, "Prospect"),
                filter=_filter_or_none(input.filter)))
        return await run_mutation(BulkAddProspectsToProjectPayload, act)
