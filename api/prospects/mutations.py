"""Prospect mutations: one input, a payload with the result and user errors."""

from __future__ import annotations

from typing import Any

import strawberry

from api.context import scope_of
from api.errors import UserError, run_mutation
from api.permissions import requires
from api.prospects import inputs
from api.prospects.types import CustomFieldDefinition, Prospect
from api.relay import expect_id, require_id
from domain.prospects import service
from domain.prospects.rules import ProspectData


@strawberry.type
class ProspectPayload:
    prospect: Prospect | None = None
    errors: list[UserError]


@strawberry.type
class CreateProspectPayload:
    prospect: Prospect | None = None
    merged: bool = strawberry.field(
        default=False, description="True when an existing prospect with one of these emails or "
                                   "profile URLs was updated instead of creating a duplicate.")
    errors: list[UserError]


@strawberry.type
class AddNotePayload:
    prospect: Prospect | None = None
    note_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class DefineCustomFieldPayload:
    custom_field: CustomFieldDefinition | None = None
    errors: list[UserError]


@strawberry.type
class MarkNotificationsReadPayload:
    marked: int = 0
    errors: list[UserError]


def _data(fields: inputs.ProspectFieldsInput) -> ProspectData:
    return ProspectData(
        first_name=fields.first_name, last_name=fields.last_name, emails=fields.emails or [],
        phone=fields.phone, profile_urls=fields.profile_urls or [], title=fields.title,
        company=fields.company, location=fields.location, time_zone=fields.time_zone,
        source=fields.source, tags=fields.tags or [],
        custom_fields=inputs.custom_values(fields.custom_fields),
        owner_id=require_id(fields.owner_id, "User", "ownerId") if fields.owner_id else None)


def _in(field: str, action: Any) -> Any:
    """Prefix user errors raised by the fields input with its name ("prospect")."""
    async def wrapped() -> dict[str, Any]:
        from domain.core.errors import DomainError

        try:
            return await action()
        except DomainError as exc:
            if exc.field and exc.field[0] not in ("prospectId", "targetId", "sourceId"):
                exc.field = [field, *exc.field]
            raise
    return wrapped


@strawberry.type
class ProspectMutation:
    @strawberry.mutation(description="Create a prospect; an existing one with the same email "
                                     "or profile URL is updated instead (merged: true).",
                         extensions=[requires("prospects:write")])
    async def create_prospect(self, info: strawberry.Info,
                              input: inputs.CreateProspectInput) -> CreateProspectPayload:
        async def act() -> dict[str, Any]:
            prospect, merged = await service.save_prospect(scope_of(info), _data(input.prospect))
            return {"prospect": Prospect.of(prospect), "merged": merged}
        return await run_mutation(CreateProspectPayload, _in("prospect", act))

    @strawberry.mutation(extensions=[requires("prospects:write")])
    async def update_prospect(self, info: strawberry.Info,
                              input: inputs.UpdateProspectInput) -> ProspectPayload:
        async def act() -> dict[str, Any]:
            prospect = await service.update_prospect(
                scope_of(info), prospect_id=require_id(input.prospect_id, "Prospect", "prospectId"),
                data=_data(input.prospect), replace_tags=input.replace_tags)
            return {"prospect": Prospect.of(prospect)}
        return await run_mutation(ProspectPayload, _in("prospect", act))

    @strawberry.mutation(extensions=[requires("prospects:write")])
    async def archive_prospect(self, info: strawberry.Info,
                               input: inputs.ArchiveProspectInput) -> ProspectPayload:
        async def act() -> dict[str, Any]:
            prospect = await service.archive_prospect(
                scope_of(info), prospect_id=require_id(input.prospect_id, "Prospect", "prospectId"))
            return {"prospect": Prospect.of(prospect)}
        return await run_mutation(ProspectPayload, act)

    @strawberry.mutation(description="Merge source into target, keeping all history.",
                         extensions=[requires("prospects:write")])
    async def merge_prospects(self, info: strawberry.Info,
                              input: inputs.MergeProspectsInput) -> ProspectPayload:
        async def act() -> dict[str, Any]:
            prospect = await service.merge_prospects(
                scope_of(info), target_id=require_id(input.target_id, "Prospect", "targetId"),
                source_id=require_id(input.source_id, "Prospect", "sourceId"))
            return {"prospect": Prospect.of(prospect)}
        return await run_mutation(ProspectPayload, act)

    @strawberry.mutation(description="Add a note; @mentioned members are notified.",
                         extensions=[requires("prospects:write")])
    async def add_note(self, info: strawberry.Info, input: inputs.AddNoteInput) -> AddNotePayload:
        async def act() -> dict[str, Any]:
            scope = scope_of(info)
            prospect_id = require_id(input.prospect_id, "Prospect", "prospectId")
            note = await service.add_note(
                scope, prospect_id=prospect_id, body=input.body,
                mention_user_ids=[require_id(m, "User", "mentionIds") for m in input.mention_ids])
            prospect = await service.get_prospect(scope, prospect_id)
            from api.relay import to_global_id

            return {"prospect": Prospect.of(prospect), "note_id": to_global_id("Note", note.id)}
        return await run_mutation(AddNotePayload, act)

    @strawberry.mutation(description="Record a call in the activity feed.",
                         extensions=[requires("prospects:write")])
    async def log_call(self, info: strawberry.Info, input: inputs.LogCallInput) -> ProspectPayload:
        async def act() -> dict[str, Any]:
            prospect = await service.log_call(
                scope_of(info), prospect_id=require_id(input.prospect_id, "Prospect", "prospectId"),
                summary=input.summary, occurred_at=input.occurred_at)
            return {"prospect": Prospect.of(prospect)}
        return await run_mutation(ProspectPayload, act)

    @strawberry.mutation(description="Define a typed custom field for prospects (admins).",
                         extensions=[requires("tenancy:write")])
    async def define_custom_field(self, info: strawberry.Info,
                                  input: inputs.DefineCustomFieldInput) -> DefineCustomFieldPayload:
        async def act() -> dict[str, Any]:
            row = await service.define_custom_field(scope_of(info), key=input.key,
                                                    label=input.label, kind=input.type.value,
                                                    options=input.options)
            return {"custom_field": CustomFieldDefinition.of(row)}
        return await run_mutation(DefineCustomFieldPayload, act)

    @strawberry.mutation(description="Record self-reported demographics (readable by admins "
                                     "only, used only in aggregates).",
                         extensions=[requires("prospects:write")])
    async def set_prospect_demographics(self, info: strawberry.Info,
                                        input: inputs.SetProspectDemographicsInput
                                        ) -> ProspectPayload:
        async def act() -> dict[str, Any]:
            from domain.core.errors import DomainError

            if not isinstance(input.demographics, dict):
                raise DomainError("Give an object of answers.", field="demographics")
            scope = scope_of(info)
            prospect_id = require_id(input.prospect_id, "Prospect", "prospectId")
            await service.set_demographics(scope, prospect_id=prospect_id,
                                           data=dict(input.demographics))
            return {"prospect": Prospect.of(await service.get_prospect(scope, prospect_id))}
        return await run_mutation(ProspectPayload, act)

    @strawberry.mutation(extensions=[requires()])
    async def mark_notifications_read(self, info: strawberry.Info,
                                      input: inputs.MarkNotificationsReadInput
                                      ) -> MarkNotificationsReadPayload:
        async def act() -> dict[str, Any]:
            ids = [expect_id(n, "Notification") for n in input.notification_ids]
            marked = await service.mark_notifications_read(
                scope_of(info), ids=[i for i in ids if i is not None])
            return {"marked": marked}
        return await run_mutation(MarkNotificationsReadPayload, act)
