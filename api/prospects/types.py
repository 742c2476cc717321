"""GraphQL types of the talent CRM's prospects, activities and notifications."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from api.context import context_of, scope_of
from api.relay import Connection, Node, connection, page_args, to_global_id
from api.row_fields import row_field
from api.tenancy.types import User, visible_user, visible_user_now
from domain.prospects import models, service
from domain.tenancy import service as tenancy_service

if TYPE_CHECKING:
    from api.pipeline.types import Application


@strawberry.enum(description="What kind of touchpoint an activity records.")
class ActivityKind(enum.Enum):
    CREATED = "created"
    NOTE = "note"
    CALL_LOGGED = "call_logged"
    EMAIL_SENT = "email_sent"
    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    EMAIL_REPLIED = "email_replied"
    EMAIL_BOUNCED = "email_bounced"
    REVIEW_DECISION = "review_decision"
    STAGE_CHANGED = "stage_changed"
    SEQUENCE_ENROLLED = "sequence_enrolled"
    SEQUENCE_STOPPED = "sequence_stopped"
    PROJECT_ADDED = "project_added"
    OWNER_CHANGED = "owner_changed"
    MERGED = "merged"
    ARCHIVED = "archived"
    APPLICATION_CREATED = "application_created"
    APPLICATION_CLOSED = "application_closed"
    APPLICATION_REOPENED = "application_reopened"
    SCORECARD_SUBMITTED = "scorecard_submitted"


@strawberry.enum
class CustomFieldType(enum.Enum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SINGLE_SELECT = "single_select"
    MULTI_SELECT = "multi_select"


@strawberry.type
class ProspectEmail:
    email: str
    primary: bool


@strawberry.type
class ProfileUrl:
    kind: str = strawberry.field(description="linkedin, github, twitter or other.")
    url: str = strawberry.field(description="Normalised: trivial variants are one URL.")


@strawberry.type
class CustomFieldValue:
    key: str
    value: JSON


@strawberry.type(description="A tenant-defined, typed field on prospects.")
class CustomFieldDefinition(Node):
    db_id: strawberry.Private[UUID]
    key: str
    label: str
    type: CustomFieldType
    options: list[str]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("CustomFieldDefinition", self.db_id)

    @staticmethod
    def of(row: models.CustomFieldDefinition) -> CustomFieldDefinition:
        return CustomFieldDefinition(db_id=row.id, key=row.key, label=row.label,
                                     type=CustomFieldType(row.type), options=list(row.options))


@strawberry.type(description="One touchpoint in a prospect's feed.")
class Activity(Node):
    db_id: strawberry.Private[UUID]
    kind: ActivityKind
    occurred_at: datetime
    details: JSON = strawberry.field(description="Kind-specific facts (note text, stage, ...).")
    actor_id: strawberry.Private[UUID | None]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Activity", self.db_id)

    @strawberry.field(description="The member who did it; null for the system or a partner.")
    async def actor(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.actor_id)

    @staticmethod
    def of(row: models.Activity) -> Activity:
        return Activity(db_id=row.id, kind=ActivityKind(row.kind), occurred_at=row.occurred_at,
                        details=JSON(dict(row.payload or {})), actor_id=row.actor_user_id)


def _emails(rows: list[Any] | None) -> list[ProspectEmail]:
    return [ProspectEmail(email=r.email, primary=r.is_primary) for r in rows or []]


def _primary(rows: list[Any] | None) -> str | None:
    return next((r.email for r in rows or [] if r.is_primary), None)


def _profiles(rows: list[Any] | None) -> list[ProfileUrl]:
    return [ProfileUrl(kind=r.kind, url=r.url) for r in rows or []]


def _tags(rows: list[Any] | None) -> list[str]:
    return [r.tag for r in rows or []]


# Prospect fields read through a dataloader: (batch function, the row's key for it).
_RELATIONS: dict[str, tuple[Any, str]] = {
    "emails": (service.emails_by_prospect, "id"),
    "primaryEmail": (service.emails_by_prospect, "id"),
    "profileUrls": (service.profiles_by_prospect, "id"),
    "tags": (service.tags_by_prospect, "id"),
    "owner": (tenancy_service.users_by_ids, "owner_id"),
}


async def prefetch_relations(info: strawberry.Info, rows: Sequence[models.Prospect],
                             selected: set[str]) -> None:
    """Load the selected relations of a page of prospects up front, one batch each (the
    queries the dataloaders would send anyway), so that each card's fields are plain reads."""
    keys: dict[Any, list[UUID]] = {}
    for name in selected & _RELATIONS.keys():
        batch, attribute = _RELATIONS[name]
        keys.setdefault(batch, []).extend(
            key for row in rows if (key := getattr(row, attribute)) is not None)
    ctx = context_of(info)
    await asyncio.gather(*(ctx.prefetch(batch, wanted) for batch, wanted in keys.items()))


@strawberry.type(description="Someone the tenant may recruit: a talent CRM record.")
class Prospect(Node):
    row: strawberry.Private[models.Prospect]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Prospect", self.row.id)

    first_name: str = row_field("first_name")
    last_name: str = row_field("last_name")

    @strawberry.field
    def name(self) -> str:
        return f"{self.row.first_name} {self.row.last_name}".strip()

    title: str = row_field("title")
    company: str = row_field("company")
    location: str = row_field("location")
    time_zone: str | None = row_field("time_zone")
    phone: str | None = row_field("phone")
    source: str = row_field("source")
    created_at: datetime = row_field("created_at")
    updated_at: datetime = row_field("updated_at")
    archived_at: datetime | None = row_field("archived_at")
    last_activity_at: datetime | None = row_field("last_activity_at")
    last_contacted_at: datetime | None = row_field("last_contacted_at")
    last_replied_at: datetime | None = row_field("last_replied_at")

    @strawberry.field
    def custom_fields(self) -> list[CustomFieldValue]:
        return [CustomFieldValue(key=k, value=v) for k, v in sorted(
            (self.row.custom_fields or {}).items())]

    # Plain resolvers: at once when the page's relations were prefetched (see
    # prefetch_relations), else awaitables of the request's dataloaders.
    @strawberry.field(graphql_type=list[ProspectEmail])
    def emails(self, info: strawberry.Info) -> Any:
        return context_of(info).load_now(service.emails_by_prospect, self.row.id, _emails)

    @strawberry.field(graphql_type=str | None)
    def primary_email(self, info: strawberry.Info) -> Any:
        return context_of(info).load_now(service.emails_by_prospect, self.row.id, _primary)

    @strawberry.field(graphql_type=list[ProfileUrl])
    def profile_urls(self, info: strawberry.Info) -> Any:
        return context_of(info).load_now(service.profiles_by_prospect, self.row.id, _profiles)

    @strawberry.field(graphql_type=list[str])
    def tags(self, info: strawberry.Info) -> Any:
        return context_of(info).load_now(service.tags_by_prospect, self.row.id, _tags)

    @strawberry.field(graphql_type=User | None)
    def owner(self, info: strawberry.Info) -> Any:
        return visible_user_now(info, self.row.owner_id)

    @strawberry.field(description="Who owns the relationship while the prospect is in an "
                                  "active sequence or in process; null when nobody does.")
    async def engagement_owner(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.row.engagement_owner_id)

    engagement_reason: str | None = row_field("engagement_reason")

    @strawberry.field(description="Self-reported demographics: admins only, null otherwise.")
    async def demographics(self, info: strawberry.Info) -> JSON | None:
        found = await service.demographics_of(scope_of(info), self.row.id)
        return None if found is None else JSON(found)

    @strawberry.field(description="Its processes: one application per job it is or was in "
                                  "process for, oldest first.")
    async def applications(self, info: strawberry.Info) -> list[
            Annotated[Application, strawberry.lazy("api.pipeline.types")]]:
        from api.pipeline.types import Application
        from domain.pipeline import service as pipeline

        rows = await context_of(info).loader(pipeline.applications_by_prospect).load(self.row.id)
        return [Application.of(r) for r in rows or []]

    @strawberry.field(description="The feed, newest first.")
    async def activities(self, info: strawberry.Info, first: int | None = None,
                         after: str | None = None, kinds: list[ActivityKind] | None = None,
                         actor_id: strawberry.ID | None = None) -> Connection[Activity]:
        from api.relay import expect_id

        actor = expect_id(actor_id, "User") if actor_id else None
        if actor_id and actor is None:
            return Connection(edges=[], page_info=_empty_page())
        page = await service.list_activities(
            scope_of(info), prospect_id=self.row.id, page=page_args(first, after, None, None),
            kinds=[k.value for k in kinds] if kinds else None, actor_user_id=actor)
        return connection(page, Activity.of)

    @staticmethod
    def of(row: models.Prospect) -> Prospect:
        return Prospect(row=row)


def _empty_page() -> Any:
    from api.relay import PageInfo

    return PageInfo(has_next_page=False, has_previous_page=False, start_cursor=None,
                    end_cursor=None)


@strawberry.type(description="Something a member should look at (e.g. an @mention).")
class Notification(Node):
    db_id: strawberry.Private[UUID]
    kind: str
    payload: JSON
    created_at: datetime
    read_at: datetime | None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Notification", self.db_id)

    @staticmethod
    def of(row: models.Notification) -> Notification:
        return Notification(db_id=row.id, kind=row.kind, payload=JSON(dict(row.payload or {})),
                            created_at=row.created_at, read_at=row.read_at)


@strawberry.type(description="Whether the viewer may contact a prospect now.")
class EngagementCheck:
    allowed: bool
    warning: str | None
    reason: str | None
    owner_id: strawberry.Private[UUID | None]

    @strawberry.field
    async def owner(self, info: strawberry.Info) -> User | None:
        return await visible_user(info, self.owner_id)
