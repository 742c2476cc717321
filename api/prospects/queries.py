"""Prospect queries (the search, prospects(filter:), is in search.py)."""

from __future__ import annotations

import strawberry

from api.context import scope_of
from api.permissions import requires
from api.prospects.types import CustomFieldDefinition, EngagementCheck, Notification
from api.relay import Connection, connection, expect_id, page_args
from domain.prospects import service


@strawberry.type
class ProspectQuery:
    @strawberry.field(description="The tenant's custom prospect fields.",
                      extensions=[requires("prospects:read")])
    async def custom_field_definitions(self, info: strawberry.Info
                                       ) -> list[CustomFieldDefinition]:
        return [CustomFieldDefinition.of(d)
                for d in await service.custom_field_definitions(scope_of(info))]

    @strawberry.field(description="The viewer's notifications, oldest first.",
                      extensions=[requires()])
    async def notifications(self, info: strawberry.Info, first: int | None = None,
                            after: str | None = None, last: int | None = None,
                            before: str | None = None, unread_only: bool = False
                            ) -> Connection[Notification]:
        page = await service.list_notifications(scope_of(info),
                                                page_args(first, after, last, before),
                                                unread_only=unread_only)
        return connection(page, Notification.of)

    @strawberry.field(description="May the viewer contact this prospect now (rules of "
                                  "engagement)? Null when the prospect is not found.",
                      extensions=[requires("prospects:read")])
    async def engagement_check(self, info: strawberry.Info, prospect_id: strawberry.ID
                               ) -> EngagementCheck | None:
        raw = expect_id(prospect_id, "Prospect")
        if raw is None:
            return None
        scope = scope_of(info)
        if not (await service.prospects_by_ids(scope, [raw])):
            return None
        check = await service.check_engagement(scope, prospect_id=raw)
        return EngagementCheck(allowed=check.allowed, warning=check.warning,
                               reason=check.reason, owner_id=check.owner_id)



