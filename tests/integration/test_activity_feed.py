"""The activity feed comes from events: one activity per event and prospect, even when the
event is dispatched again."""

from __future__ import annotations

from domain.core import db
from domain.events import service as events
from domain.prospects import service
from domain.prospects.models import Activity
from domain.prospects.rules import ProspectData


async def test_a_redelivered_event_records_one_activity(world, queue):
    scope = await world.scope("recruiter")
    prospect, _ = await service.save_prospect(scope, ProspectData(first_name="Once"))
    async with db.tenant_tx(scope):
        event = await events.publish("SequenceEnrolled", {"activity": {
            "kind": "sequence_enrolled", "prospectIds": [str(prospect.id)],
            "sequence": "Backend outreach"}}, scope=scope)
    await queue.drain()
    await service.record_activity(event)  # as if a worker ran the handler again
    async with db.tenant_tx(scope):
        rows = await Activity.filter(tenant_id=scope.tenant_id, prospect_id=prospect.id,
                                     kind="sequence_enrolled")
    assert len(rows) == 1
    assert rows[0].payload == {"sequence": "Backend outreach"}
    assert rows[0].actor_user_id == scope.user_id


async def test_events_for_another_tenants_prospect_record_nothing(world, other_world, queue):
    mine = await world.scope()
    theirs, _ = await service.save_prospect(await other_world.scope(),
                                            ProspectData(first_name="Theirs"))
    async with db.tenant_tx(mine):
        await events.publish("Whatever", {"activity": {
            "kind": "note", "prospectIds": [str(theirs.id)]}}, scope=mine)
    await queue.drain()
    async with db.tenant_tx(await other_world.scope()):
        kinds = await Activity.filter(prospect_id=theirs.id).values_list("kind", flat=True)
    assert kinds == ["created"]
