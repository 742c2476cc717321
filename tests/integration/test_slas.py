"""SLA policies and the breach sweep on a real database: defaults, tenant policies, job
overrides, refusals that write nothing, another tenant's ids, and one notification per breach
even when sweeps overlap."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.core import clock, db
from domain.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from domain.pipeline import applications, jobs, scorecards, service
from domain.pipeline.models import Application, Job, JobStage
from domain.prospects import service as prospects
from domain.prospects.models import Notification
from domain.prospects.rules import ProspectData
from domain.slas import service as slas
from domain.slas.models import JobSlaOverride, SlaBreach, SlaPolicy
from domain.slas.rules import DEFAULT_POLICIES, STAGE_KINDS, Policy
from domain.tenancy.service import system_scope
from tests.conftest import World


@pytest.fixture
def frozen() -> Iterator[clock.FrozenClock]:
    at = clock.FrozenClock(clock.Clock().now().replace(microsecond=0))
    previous = clock.use_clock(at)
    yield at
    clock.use_clock(previous)


async def make_job(world: World, *, title: str = "Backend Engineer", department: str = "Engineering",
                   stages: list[dict[str, str]] | None = None) -> tuple[Any, Job, list[JobStage]]:
    scope = await world.scope("recruiter")
    job = await jobs.create_job(scope, data=jobs.JobData(
        title=title, department=department,
        hiring_manager_id=world.members["hiring_manager"].user_id,
        recruiter_id=world.members["recruiter"].user_id), stages=stages)
    return scope, job, (await service.stages_by_job(scope, [job.id]))[job.id]


async def apply(scope: Any, job: Job, stage: JobStage, name: str, entered: datetime,
                **extra: Any) -> Application:
    prospect, _ = await prospects.save_prospect(scope, ProspectData(
        first_name=name, title=extra.pop("title", "Engineer"),
        company=extra.pop("company", "Acme"), source="referral"))
    return await applications.create_application(scope, prospect_id=prospect.id, job_id=job.id,
                                                 stage_id=stage.id, occurred_at=entered, **extra)


async def notifications(world: World) -> list[tuple[UUID, str, str, str]]:
    """(user, application, level, action) of every SLA notification, in creation order."""
    async with db.system_tenant_tx(str(world.tenant.id)):
        rows = await Notification.filter(tenant_id=world.tenant.id, kind="sla_breach"
                                         ).order_by("id")
    return [(r.user_id, r.payload["applicationId"], r.payload["level"], r.payload["action"])
            for r in rows]


async def stored(world: World) -> tuple[Any, ...]:
    async with db.system_tenant_tx(str(world.tenant.id)):
        return (await SlaPolicy.filter(tenant_id=world.tenant.id).values_list(
                    "stage_kind", "yellow_hours", "red_hours", "action", "owner_role"),
                await JobSlaOverride.filter(tenant_id=world.tenant.id).values_list(
                    "job_id", "stage_kind", "yellow_hours", "red_hours", "action",
                    "owner_role"))


# --- policies ----------------------------------------------------------------------------------

async def test_defaults_then_tenant_policies_then_job_overrides(world):
    admin = await world.scope("admin")
    scope, job, _ = await make_job(world)
    assert await slas.effective_policies(scope) == [DEFAULT_POLICIES[k] for k in STAGE_KINDS]

    set_ = await slas.set_sla_policy(admin, stage_kind="screen", yellow_hours=10, red_hours=20,
                                     action="needs_attention", owner_role="hiring_manager")
    assert set_ == Policy("screen", 10, 20, "needs_attention", "hiring_manager", "tenant")
    # setting it again replaces it (one row per kind)
    await slas.set_sla_policy(admin, stage_kind="screen", yellow_hours=12, red_hours=24,
                              action="needs_scheduling", owner_role="recruiter")
    override = await slas.set_job_sla_override(scope, job_id=job.id, stage_kind="screen",
                                               yellow_hours=2, red_hours=3,
                                               action="needs_decision", owner_role="recruiter")
    assert override.source == "job"
    tenant = {p.stage_kind: p for p in await slas.effective_policies(scope)}
    for_job = {p.stage_kind: p for p in await slas.effective_policies(scope, job_id=job.id)}
    assert tenant["screen"] == Policy("screen", 12, 24, "needs_scheduling", "recruiter", "tenant")
    assert for_job["screen"] == Policy("screen", 2, 3, "needs_decision", "recruiter", "job")
    assert for_job["offer"] == tenant["offer"] == DEFAULT_POLICIES["offer"]
    assert await stored(world) == ([("screen", 12, 24, "needs_scheduling", "recruiter")],
                                   [(job.id, "screen", 2, 3, "needs_decision", "recruiter")])

    back = await slas.remove_job_sla_override(scope, job_id=job.id, stage_kind="screen")
    assert back == tenant["screen"]
    # removing again is not an error: the tenant's policy is in force either way
    assert await slas.remove_job_sla_override(scope, job_id=job.id, stage_kind="screen") == back
    assert (await stored(world))[1] == []


async def test_concurrent_first_sets_leave_one_row(world):
    admin = await world.scope("admin")
    await asyncio.gather(*[slas.set_sla_policy(admin, stage_kind="offer", yellow_hours=5 + i,
                                               red_hours=50, action="needs_attention",
                                               owner_role="recruiter") for i in range(4)])
    policies, _ = await stored(world)
    assert len(policies) == 1 and policies[0][0] == "offer"


@pytest.mark.parametrize(("args", "fields"), [
    ({"yellow_hours": 0}, [["yellowHours"]]),
    ({"red_hours": 48}, [["redHours"]]),
    ({"red_hours": 10}, [["redHours"]]),
    ({"action": "panic", "owner_role": "ceo"}, [["action"], ["ownerRole"]]),
    ({"stage_kind": "lunch"}, [["stageKind"]]),
])
async def test_bad_policies_are_refused_and_write_nothing(world, args, fields):
    admin = await world.scope("admin")
    scope, job, _ = await make_job(world)
    good = {"stage_kind": "screen", "yellow_hours": 48, "red_hours": 72,
            "action": "needs_decision", "owner_role": "recruiter"}
    for call in (lambda: slas.set_sla_policy(admin, **{**good, **args}),
                 lambda: slas.set_job_sla_override(scope, job_id=job.id, **{**good, **args})):
        with pytest.raises(DomainError) as raised:
            await call()
        errors = raised.value.errors if isinstance(raised.value, ValidationFailed) \
            else [raised.value]
        assert [e.field for e in errors] == fields
    assert await stored(world) == ([], [])


async def test_who_may_change_policies(world):
    _, job, _ = await make_job(world)
    args = {"stage_kind": "screen", "yellow_hours": 1, "red_hours": 2,
            "action": "needs_decision", "owner_role": "recruiter"}
    with pytest.raises(Forbidden):
        await slas.set_sla_policy(await world.scope("recruiter"), **args)
    with pytest.raises(Forbidden):
        await slas.set_job_sla_override(await world.scope("hiring_manager"), job_id=job.id,
                                        **args)
    with pytest.raises(Forbidden):
        await slas.set_job_sla_override(await world.scope("viewer"), job_id=job.id, **args)
    assert await stored(world) == ([], [])


async def test_another_tenants_job_is_not_found(world, other_world):
    _, job, _ = await make_job(other_world)
    scope = await world.scope("recruiter")
    assert await slas.effective_policies(scope, job_id=job.id) == []
    with pytest.raises(NotFound) as raised:
        await slas.set_job_sla_override(scope, job_id=job.id, stage_kind="screen",
                                        yellow_hours=1, red_hours=2, action="needs_decision",
                                        owner_role="recruiter")
    assert raised.value.field == ["jobId"]
    with pytest.raises(NotFound):
        await slas.remove_job_sla_override(scope, job_id=job.id, stage_kind="screen")
    assert await stored(world) == ([], [])
    assert await stored(other_world) == ([], [])


# --- the sweep ---------------------------------------------------------------------------------

async def breach_world(world: World, frozen: clock.FrozenClock) -> dict[str, Any]:
    """Application review 48/96 (recruiter), HM review 48/72 (hiring manager), interview
    72/120 (recruiter; awaited scorecards: hiring manager)."""
    scope, job, stages = await make_job(world)
    review, hm_review, interview = stages[0], stages[2], stages[3]
    now = frozen.now()
    apps = {
        "fresh": await apply(scope, job, review, "Fresh", now - timedelta(hours=47)),
        "yellow": await apply(scope, job, review, "Yellow", now - timedelta(hours=50)),
        "red": await apply(scope, job, review, "Red", now - timedelta(hours=100)),
        "hm": await apply(scope, job, hm_review, "Hm", now - timedelta(hours=49)),
        "panel": await apply(scope, job, interview, "Panel", now - timedelta(hours=80)),
    }
    await scorecards.request_scorecards(scope, application_id=apps["panel"].id,
                                        interviewer_ids=[world.members["coordinator"].user_id])
    return {"scope": scope, "job": job, "stages": stages, "apps": apps}


async def test_the_sweep_notifies_each_breach_once_to_its_owner(world, frozen):
    w = await breach_world(world, frozen)
    apps, recruiter, hm = (w["apps"], world.members["recruiter"].user_id,
                           world.members["hiring_manager"].user_id)
    system = await system_scope(world.tenant)
    assert await slas.sweep_tenant(system) == 4
    expected = {
        (recruiter, str(apps["yellow"].id), "yellow", "needs_decision"),
        (recruiter, str(apps["red"].id), "red", "needs_decision"),  # once, for the worst level
        (hm, str(apps["hm"].id), "yellow", "needs_decision"),
        (hm, str(apps["panel"].id), "yellow", "awaiting_feedback"),
    }
    assert set(await notifications(world)) == expected
    async with db.system_tenant_tx(str(world.tenant.id)):
        levels = sorted(await SlaBreach.filter(tenant_id=world.tenant.id).values_list(
            "application_id", "level"))
    assert levels == sorted([(apps["yellow"].id, "yellow"), (apps["red"].id, "yellow"),
                             (apps["red"].id, "red"), (apps["hm"].id, "yellow"),
                             (apps["panel"].id, "yellow")])

    assert await slas.sweep_tenant(system) == 0  # nothing new
    assert len(await notifications(world)) == 4

    frozen.advance(hours=2)  # fresh turns yellow; nothing else changes colour
    assert await slas.sweep_tenant(system) == 1
    frozen.advance(hours=44)  # yellow (exactly 96h), hm (95h > 72h), panel (126h) turn red
    assert await slas.sweep_tenant(system) == 3
    notes = await notifications(world)
    assert notes[4] == (recruiter, str(apps["fresh"].id), "yellow", "needs_decision")
    assert set(notes[5:]) == {(recruiter, str(apps["yellow"].id), "red", "needs_decision"),
                              (hm, str(apps["hm"].id), "red", "needs_decision"),
                              (hm, str(apps["panel"].id), "red", "awaiting_feedback")}
    assert await slas.sweep_tenant(system) == 0


async def test_a_new_stage_entry_is_a_new_breach(world, frozen):
    w = await breach_world(world, frozen)
    system = await system_scope(world.tenant)
    await slas.sweep_tenant(system)
    red = w["apps"]["red"]
    scope, stages = w["scope"], w["stages"]
    await applications.move_application(scope, application_id=red.id, stage_id=stages[1].id)
    frozen.advance(hours=1)
    await applications.move_application(scope, application_id=red.id, stage_id=stages[0].id)
    frozen.advance(hours=48)
    assert await slas.sweep_tenant(system) >= 1
    red_notes = [n for n in await notifications(world) if n[1] == str(red.id)]
    assert [n[2] for n in red_notes] == ["red", "yellow"]


async def test_overlapping_sweeps_notify_once(world, other_world, frozen):
    await breach_world(world, frozen)
    await breach_world(other_world, frozen)
    system = await system_scope(world.tenant)
    results = await asyncio.gather(slas.sweep_tenant(system), slas.sweep_tenant(system),
                                   slas.sweep_tenant(system))
    assert sorted(results) == [0, 0, 4] or sum(results) == 4
    assert len(await notifications(world)) == 4
    # the whole sweep twice at once, over every tenant
    await asyncio.gather(slas.sweep_sla_breaches(), slas.sweep_sla_breaches())
    assert len(await notifications(world)) == 4
    assert len(await notifications(other_world)) == 4


async def test_closed_applications_and_jobs_on_hold_are_not_breached(world, frozen):
    w = await breach_world(world, frozen)
    scope, apps = w["scope"], w["apps"]
    await applications.close_application(scope, application_id=apps["red"].id,
                                          outcome="rejected", reason="skills")
    _, held, held_stages = await make_job(world, title="Held")
    await apply(scope, held, held_stages[0], "Paused", frozen.now() - timedelta(hours=30))
    await jobs.set_job_status(scope, job_id=held.id, status="on_hold")
    frozen.advance(hours=200)
    system = await system_scope(world.tenant)
    await slas.sweep_tenant(system)
    notified = {n[1] for n in await notifications(world)}
    assert str(apps["red"].id) not in notified
    assert notified == {str(apps[k].id) for k in ("fresh", "yellow", "hm", "panel")}


async def test_a_job_override_changes_thresholds_and_owner(world, frozen):
    w = await breach_world(world, frozen)
    scope, job, apps = w["scope"], w["job"], w["apps"]
    await slas.set_job_sla_override(scope, job_id=job.id, stage_kind="application_review",
                                    yellow_hours=200, red_hours=300, action="needs_attention",
                                    owner_role="hiring_manager")
    await slas.sweep_tenant(await system_scope(world.tenant))
    assert {n[1] for n in await notifications(world)} == {str(apps["hm"].id),
                                                          str(apps["panel"].id)}


async def test_a_failing_tenant_does_not_stop_the_others(world, other_world, frozen, monkeypatch):
    await breach_world(world, frozen)
    await breach_world(other_world, frozen)
    real = slas.sweep_tenant

    async def flaky(scope: Any) -> int:
        if scope.tenant_id == world.tenant.id:
            raise RuntimeError("this tenant's sweep breaks")
        return await real(scope)

    monkeypatch.setattr(slas, "sweep_tenant", flaky)
    await slas.sweep_sla_breaches()
    assert await notifications(world) == []
    assert len(await notifications(other_world)) == 4
