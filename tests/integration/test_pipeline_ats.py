"""ATS sync on a real database: idempotent upserts of jobs, candidates and moves by external
id; out-of-order moves go into the history only; bad payloads write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.core import db
from domain.core.errors import DomainError, Forbidden
from domain.core.scope import Scope
from domain.events.models import OutboxEvent
from domain.pipeline import ats, service
from domain.pipeline.models import Application, ApplicationMove, Job, JobStage
from domain.prospects.models import Prospect

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STAGES = [ats.AtsStage("st-new", "New", "application_review"),
          ats.AtsStage("st-screen", "Screen", "screen"),
          ats.AtsStage("st-onsite", "Onsite", "interview"),
          ats.AtsStage("st-offer", "Offer", "offer")]


def partner(world: Any) -> Scope:
    return Scope(tenant_id=world.tenant.id, permissions=frozenset({"ats:write"}),
                 api_key_id=uuid4())


async def state(world: Any) -> tuple[Any, ...]:
    """Row counts and the latest change times of everything a sync may touch."""
    async with db.system_tenant_tx(str(world.tenant.id)):
        tid = world.tenant.id
        return (await Job.filter(tenant_id=tid).count(),
                await JobStage.filter(tenant_id=tid).count(),
                await Application.filter(tenant_id=tid).count(),
                await ApplicationMove.filter(tenant_id=tid).count(),
                await Prospect.filter(tenant_id=tid).count(),
                await OutboxEvent.filter(tenant_id=tid).count(),
                sorted(str(v) for v in await Job.filter(tenant_id=tid).values_list(
                    "updated_at", flat=True)),
                sorted(str(v) for v in await Application.filter(tenant_id=tid).values_list(
                    "version", flat=True)),
                sorted(str(v) for v in await Prospect.filter(tenant_id=tid).values_list(
                    "updated_at", flat=True)))


def candidate(**overrides: Any) -> ats.AtsCandidate:
    values: dict[str, Any] = dict(job_external_id="job-1", application_external_id="app-1",
                                  first_name="Kim", last_name="Lee", emails=["kim@lee.dev"],
                                  title="SRE", applied_at=T0)
    values.update(overrides)
    return ats.AtsCandidate(**values)


async def test_the_same_payloads_twice_change_nothing(world):
    scope = partner(world)
    job = await ats.upsert_ats_job(scope, ats.AtsJob("job-1", "SRE", "Ops", stages=STAGES))
    app = await ats.upsert_ats_candidate(scope, candidate())
    moved = await ats.record_ats_stage_move(scope, application_external_id="app-1",
                                            stage_external_id="st-screen",
                                            occurred_at=T0 + timedelta(days=1),
                                            move_external_id="mv-1")
    before = await state(world)
    assert (await ats.upsert_ats_job(scope, ats.AtsJob("job-1", "SRE", "Ops", stages=STAGES))
            ).id == job.id
    assert (await ats.upsert_ats_candidate(scope, candidate())).id == app.id
    again = await ats.record_ats_stage_move(scope, application_external_id="app-1",
                                            stage_external_id="st-screen",
                                            occurred_at=T0 + timedelta(days=1),
                                            move_external_id="mv-1")
    assert (again.application.id, again.move.id, again.current) == (app.id, moved.move.id, True)
    assert await state(world) == before
    stages = (await service.stages_by_job(scope.__class__(
        tenant_id=world.tenant.id, permissions=frozenset({"pipeline:read"})), [job.id]))[job.id]
    assert [(s.external_id, s.position) for s in stages] == [
        ("st-new", 1), ("st-screen", 2), ("st-onsite", 3), ("st-offer", 4)]
    assert app.stage_entered_at == T0 and app.source == "ats"


async def test_updates_and_out_of_order_moves(world):
    scope = partner(world)
    await ats.upsert_ats_job(scope, ats.AtsJob("job-1", "SRE", stages=STAGES))
    job = await ats.upsert_ats_job(scope, ats.AtsJob(
        "job-1", "Senior SRE", status="on_hold",
        stages=[STAGES[1], ats.AtsStage("st-take-home", "Take-home", "interview"), STAGES[0]]))
    assert (job.title, job.status) == ("Senior SRE", "on_hold")
    await ats.upsert_ats_candidate(scope, candidate(stage_external_id="st-new"))
    onsite = await ats.record_ats_stage_move(scope, application_external_id="app-1",
                                             stage_external_id="st-onsite",
                                             occurred_at=T0 + timedelta(days=5),
                                             move_external_id="mv-2")
    assert onsite.current is True
    late = await ats.record_ats_stage_move(scope, application_external_id="app-1",
                                           stage_external_id="st-screen",
                                           occurred_at=T0 + timedelta(days=2),
                                           move_external_id="mv-1")
    assert late.current is False
    app = late.application
    assert (app.stage_entered_at, app.status) == (T0 + timedelta(days=5), "active")
    reader = Scope(tenant_id=world.tenant.id, permissions=frozenset({"pipeline:read"}))
    live = (await service.stages_by_job(reader, [job.id]))[job.id]
    assert [s.name for s in live] == ["Screen", "Take-home", "New", "Onsite", "Offer"]
    names = {s.id: s.name for s in live}
    assert names[app.stage_id] == "Onsite"
    history = (await service.history_by_application(reader, [app.id]))[app.id]
    assert [(names[e.stage_id], e.entered_at, e.exited_at, e.source) for e in history] == [
        ("New", T0, T0 + timedelta(days=2), "ats"),
        ("Screen", T0 + timedelta(days=2), T0 + timedelta(days=5), "ats"),
        ("Onsite", T0 + timedelta(days=5), None, "ats")]


async def test_a_candidate_merges_into_an_existing_prospect(world):
    scope = partner(world)
    await ats.upsert_ats_job(scope, ats.AtsJob("job-1", "SRE", stages=STAGES))
    first = await ats.upsert_ats_candidate(scope, candidate(emails=["KIM@lee.dev"]))
    second = await ats.upsert_ats_candidate(scope, candidate(application_external_id="app-2",
                                                             profile_urls=["github.com/kim"]))
    assert second.id == first.id  # the same prospect for the same job: adopted, not duplicated
    async with db.system_tenant_tx(str(world.tenant.id)):
        assert await Prospect.filter(tenant_id=world.tenant.id).count() == 1


@pytest.mark.parametrize(("call", "field", "code"), [
    (lambda s: ats.upsert_ats_job(s, ats.AtsJob(None, "SRE", stages=STAGES)),
     ["externalId"], "REQUIRED"),
    (lambda s: ats.upsert_ats_job(s, ats.AtsJob("job-2", "", stages=STAGES)),
     ["title"], "REQUIRED"),
    (lambda s: ats.upsert_ats_job(s, ats.AtsJob("job-2", "X", stages=[])),
     ["stages"], "REQUIRED"),
    (lambda s: ats.upsert_ats_job(s, ats.AtsJob("job-2", "X", stages=[
        ats.AtsStage("a", "A", "screen"), ats.AtsStage(None, "B", "offer")])),
     ["stages", "1", "externalId"], "REQUIRED"),
    (lambda s: ats.upsert_ats_job(s, ats.AtsJob("job-2", "X", stages=[
        ats.AtsStage("a", "A", None)])), ["stages", "0", "kind"], "INVALID"),
    (lambda s: ats.upsert_ats_candidate(s, candidate(job_external_id=None)),
     ["jobExternalId"], "REQUIRED"),
    (lambda s: ats.upsert_ats_candidate(s, candidate(job_external_id="nope")),
     ["jobExternalId"], "NOT_FOUND"),
    (lambda s: ats.upsert_ats_candidate(s, candidate(application_external_id="")),
     ["applicationExternalId"], "REQUIRED"),
    (lambda s: ats.upsert_ats_candidate(s, candidate(emails=[])), ["emails"], "REQUIRED"),
    (lambda s: ats.upsert_ats_candidate(s, candidate(stage_external_id="st-nope")),
     ["stageExternalId"], "NOT_FOUND"),
    (lambda s: ats.record_ats_stage_move(s, application_external_id="nope",
                                         stage_external_id="st-offer", occurred_at=T0,
                                         move_external_id="mv-9"),
     ["applicationExternalId"], "NOT_FOUND"),
    (lambda s: ats.record_ats_stage_move(s, application_external_id="app-1",
                                         stage_external_id="st-nope", occurred_at=T0,
                                         move_external_id="mv-9"),
     ["stageExternalId"], "NOT_FOUND"),
    (lambda s: ats.record_ats_stage_move(s, application_external_id="app-1",
                                         stage_external_id="other-stage", occurred_at=T0,
                                         move_external_id="mv-9"),
     ["stageExternalId"], "STAGE_OF_ANOTHER_JOB"),
    (lambda s: ats.record_ats_stage_move(s, application_external_id="app-1",
                                         stage_external_id="st-offer", occurred_at=None,
                                         move_external_id="mv-9"),
     ["occurredAt"], "REQUIRED"),
    (lambda s: ats.record_ats_stage_move(s, application_external_id="app-1",
                                         stage_external_id="st-offer", occurred_at=T0,
                                         move_external_id=None),
     ["moveExternalId"], "REQUIRED"),
])
async def test_bad_payloads_are_typed_errors_and_write_nothing(world, call, field, code):
    scope = partner(world)
    await ats.upsert_ats_job(scope, ats.AtsJob("job-1", "SRE", stages=STAGES))
    await ats.upsert_ats_job(scope, ats.AtsJob("job-x", "Other", stages=[
        ats.AtsStage("other-stage", "Other", "screen")]))
    await ats.upsert_ats_candidate(scope, candidate())
    before = await state(world)
    with pytest.raises(DomainError) as info:
        await call(scope)
    assert (info.value.field, info.value.code) == (field, code)
    assert await state(world) == before


async def test_sync_needs_the_ats_scope_and_stays_in_its_tenant(world, other_world):
    with pytest.raises(Forbidden):
        await ats.upsert_ats_job(Scope(tenant_id=world.tenant.id,
                                       permissions=frozenset({"pipeline:write"})),
                                 ats.AtsJob("job-1", "SRE", stages=STAGES))
    await ats.upsert_ats_job(partner(world), ats.AtsJob("job-1", "SRE", stages=STAGES))
    await ats.upsert_ats_candidate(partner(world), candidate())
    theirs = partner(other_world)
    with pytest.raises(DomainError) as info:
        await ats.upsert_ats_candidate(theirs, candidate())
    assert info.value.field == ["jobExternalId"]
    with pytest.raises(DomainError) as info:
        await ats.record_ats_stage_move(theirs, application_external_id="app-1",
                                        stage_external_id="st-screen", occurred_at=T0,
                                        move_external_id="mv-1")
    assert info.value.field == ["applicationExternalId"]
    # The same external ids in another tenant are that tenant's own.
    job = await ats.upsert_ats_job(theirs, ats.AtsJob("job-1", "Theirs", stages=STAGES))
    assert job.tenant_id == other_world.tenant.id
