"""Inputs of prospect mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.prospects.types import CustomFieldType


@strawberry.input(description="A custom field value; the value's type must match the field's.")
class CustomFieldValueInput:
    key: str
    value: JSON | None


@strawberry.input(description="Fields of a prospect; on update, omitted fields stay as they are.")
class ProspectFieldsInput:
    first_name: str | None = None
    last_name: str | None = None
    emails: list[str] | None = strawberry.field(
        default=None, description="The first becomes primary when the prospect has none.")
    phone: str | None = None
    profile_urls: list[str] | None = None
    title: str | None = None
    company: str | None = None
    location: str | None = None
    time_zone: str | None = None
    source: str | None = None
    tags: list[str] | None = None
    custom_fields: list[CustomFieldValueInput] | None = None
    owner_id: strawberry.ID | None = None


@strawberry.input
class CreateProspectInput:
    prospect: ProspectFieldsInput


@strawberry.input
class UpdateProspectInput:
    prospect_id: strawberry.ID
    prospect: ProspectFieldsInput
    replace_tags: bool = strawberry.field(
        default=False, description="Tags become exactly the given ones instead of being added.")


@strawberry.input
class ArchiveProspectInput:
    prospect_id: strawberry.ID


@strawberry.input
class MergeProspectsInput:
    target_id: strawberry.ID = strawberry.field(description="The prospect that remains.")
    source_id: strawberry.ID = strawberry.field(description="Merged into the target, then gone.")


@strawberry.input
class AddNoteInput:
    prospect_id: strawberry.ID
    body: str
    mention_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Members (User IDs) to notify.")


@strawberry.input
class LogCallInput:
    prospect_id: strawberry.ID
    summary: str
    occurred_at: datetime | None = None


@strawberry.input
class DefineCustomFieldInput:
    key: str
    label: str
    type: CustomFieldType
    options: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class SetProspectDemographicsInput:
    prospect_id: strawberry.ID
    demographics: JSON = strawberry.field(description="Self-reported answers, e.g. "
                                          '{"gender": "...", "ethnicity": "..."}.')


@strawberry.input
class MarkNotificationsReadInput:
    notification_ids: list[strawberry.ID]


def custom_values(items: list[CustomFieldValueInput] | None) -> dict[str, Any]:
    return {i.key: i.value for i in items or []}
