"""Inputs of the rediscovery search, saved searches and bulk actions, and their mapping to the
domain's ProspectFilter / ProspectOrder (and back, for showing a saved search)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from api.pipeline.types import StageKind
from api.relay import expect_id, to_global_id
from domain.prospects import search

# Stands in for an ID that does not resolve (malformed, another type, another tenant's): it
# matches nothing, exactly like an unknown id, instead of being dropped (which would widen).
_NOTHING = UUID(int=0)


@strawberry.enum(description="How a prospect stands with outreach, from its last contact and "
                             "last reply; the three never overlap.")
class ContactStatus(enum.Enum):
    NEVER_CONTACTED = "never_contacted"
    CONTACTED_NO_REPLY = "contacted_no_reply"
    REPLIED = "replied"


@strawberry.enum(description="What search results are sorted by.")
class ProspectOrderField(enum.Enum):
    RELEVANCE = strawberry.enum_value(
        "relevance", description="Best text match first; without text, like CREATED_AT.")
    CREATED_AT = "created_at"
    LAST_ACTIVITY_AT = strawberry.enum_value(
        "last_activity_at", description="Prospects without activity count as the oldest.")
    NAME = "name"


@strawberry.enum
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="A condition on one custom field. Give at least one of equals, "
                              "in, min, max; min and max (inclusive) are for number and date "
                              "fields. On a multi-select field, equals means 'has this option' "
                              "and in 'has one of these'.")
class CustomFieldConditionInput:
    key: str
    equals: JSON | None = None
    in_: list[JSON] | None = strawberry.field(default=None, name="in")
    min: JSON | None = None
    max: JSON | None = None


@strawberry.input(description="Which prospects to find. Every field is optional and narrows "
                              "the result; a list matches any of its values (tagsAll: all). "
                              "IDs that do not resolve match nothing. Time bounds: *After is "
                              "inclusive, *Before exclusive. Merged prospects never match.")
class ProspectFilterInput:
    text: str | None = strawberry.field(
        default=None, description="Words to find in name, title, company, location and notes; "
                                  "every word must match (the last one as a prefix).")
    tags_any: list[str] | None = None
    tags_all: list[str] | None = None
    sources: list[str] | None = None
    owner_ids: list[strawberry.ID] | None = None
    locations: list[str] | None = strawberry.field(
        default=None, description="Parts of the location, case-insensitive.")
    custom_fields: list[CustomFieldConditionInput] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    last_activity_after: datetime | None = None
    last_activity_before: datetime | None = None
    project_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In any of these projects (ones you can see).")
    contact_status: ContactStatus | None = None
    include_archived: bool = False
    job_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In process (now or before) for one of these jobs. This and "
                                  "the following pipeline conditions hold on one application.")
    departments: list[str] | None = strawberry.field(
        default=None, description="For a job of one of these departments.")
    stage_reached_at_least: StageKind | None = strawberry.field(
        default=None, description="Got at least this far (this kind of stage or a later one).")
    closing_reasons: list[str] | None = strawberry.field(
        default=None, description="Closed with one of these reason keys (rejection, withdrawal "
                                  "or offer decline; see closingReasons).")
    interview_score_min: float | None = strawberry.field(
        default=None, description="Average submitted scorecard score at least this (1 to 4).")
    hired: bool | None = strawberry.field(
        default=None, description="true: hired; false: in process or closed, never hired.")
    silver_medalist: bool = strawberry.field(
        default=False, description="Reached the final interview or an offer, and was not hired.")


@strawberry.input
class ProspectOrderInput:
    field: ProspectOrderField
    direction: OrderDirection | None = strawberry.field(
        default=None, description="Default: ascending for NAME, descending otherwise.")


@strawberry.type(description="A search ordering, as given to prospects(orderBy:).")
class ProspectOrder:
    field: ProspectOrderField | None
    direction: OrderDirection | None


@strawberry.input
class CreateSavedSearchInput:
    name: str
    filter: ProspectFilterInput
    order_by: ProspectOrderInput | None = None


@strawberry.input
class DeleteSavedSearchInput:
    saved_search_id: strawberry.ID


@strawberry.input(description="Tag prospects: give prospectIds or a filter (at most 10,000 "
                              "matches), not both.")
class BulkTagProspectsInput:
    tags: list[str]
    prospect_ids: list[strawberry.ID] | None = None
    filter: ProspectFilterInput | None = None


@strawberry.input(description="Give prospects another owner: prospectIds or a filter.")
class BulkChangeProspectOwnerInput:
    owner_id: strawberry.ID
    prospect_ids: list[strawberry.ID] | None = None
    filter: ProspectFilterInput | None = None


@strawberry.input(description="Add prospects to a project: prospectIds or a filter.")
class BulkAddProspectsToProjectInput:
    project_id: strawberry.ID
    prospect_ids: list[strawberry.ID] | None = None
    filter: ProspectFilterInput | None = None


def resolve_ids(values: list[strawberry.ID] | None, type_name: str) -> list[UUID]:
    return [resolve_id(v, type_name) for v in values or []]


def resolve_id(value: strawberry.ID, type_name: str) -> UUID:
    return expect_id(value, type_name) or _NOTHING


def to_filter(given: ProspectFilterInput | None) -> search.ProspectFilter:
    if given is None:
        return search.ProspectFilter()
    return search.ProspectFilter(
        text=given.text, tags_any=list(given.tags_any or []), tags_all=list(given.tags_all or []),
        sources=list(given.sources or []), owner_ids=resolve_ids(given.owner_ids, "User"),
        locations=list(given.locations or []),
        custom_fields=[search.CustomFieldCondition(key=c.key, equals=c.equals, any_of=c.in_,
                                                   min=c.min, max=c.max)
                       for c in given.custom_fields or []],
        created_after=given.created_after, created_before=given.created_before,
        last_activity_after=given.last_activity_after,
        last_activity_before=given.last_activity_before,
        project_ids=resolve_ids(given.project_ids, "Project"),
        contact_status=search.ContactStatus(given.contact_status.value)
        if given.contact_status else None,
        include_archived=given.include_archived,
        job_ids=resolve_ids(given.job_ids, "Job"), departments=list(given.departments or []),
        stage_reached_at_least=given.stage_reached_at_least.value
        if given.stage_reached_at_least else None,
        closing_reasons=list(given.closing_reasons or []),
        interview_score_min=given.interview_score_min, hired=given.hired,
        silver_medalist=given.silver_medalist)


def to_order(given: ProspectOrderInput | None) -> search.ProspectOrder:
    if given is None:
        return search.ProspectOrder()
    return search.ProspectOrder(
        field=search.OrderField(given.field.value),
        descending=None if given.direction is None else given.direction is OrderDirection.DESC)


def filter_as_input(f: search.ProspectFilter) -> dict[str, Any]:
    """The filter as ProspectFilterInput JSON (camelCase, global IDs): pass it back as the
    `filter` variable of prospects(...) to run the search again."""
    out: dict[str, Any] = {}
    for name, value in f.to_json().items():
        if name == "owner_ids":
            value = [to_global_id("User", UUID(v)) for v in value]
        elif name == "project_ids":
            value = [to_global_id("Project", UUID(v)) for v in value]
        elif name == "job_ids":
            value = [to_global_id("Job", UUID(v)) for v in value]
        elif name == "stage_reached_at_least":
            value = StageKind(value).name
        elif name == "contact_status":
            value = ContactStatus(value).name
        elif name == "custom_fields":
            value = [{("in" if k == "any_of" else k): v for k, v in c.items()} for c in value]
        head, *rest = name.split("_")
        out[head + "".join(p.title() for p in rest)] = value
    return out


def order_as_output(order: search.ProspectOrder) -> ProspectOrder:
    return ProspectOrder(
        field=ProspectOrderField(order.field.value) if order.field else None,
        direction=None if order.descending is None
        else OrderDirection.DESC if order.descending else OrderDirection.ASC)
