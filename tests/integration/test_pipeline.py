"""The pipeline's services on a real database: jobs and stages, applications and their
append-only history, closing and reopening, scorecards, the activity feed and engagement,
concurrent moves, and refusals that write nothing."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from domain.core import clock, db
from domain.core.errors import DomainError, Forbidden
from domain.pipeline import applications, jobs, scorecards, service
from domain.pipeline.models import Application, ApplicationMove, JobStage, Scorecard
from domain.prospects import service as prospects
from domain.prospects.models import Activity, Prospect
from domain.prospects.rules import ProspectData
from tests.conftest import World


@pytest.fixture
def frozen() -> Iterator[clock.FrozenClock]:
    at = clock.FrozenClock(clock.Clock().now().replace(microsecond=0))
    previous = clock.use_clock(at)
    yield at
    clock.use_clock(previous)


async def snapshot(scope: Any, application_id: Any) -> tuple[Any, ...]:
    """Everything a refused change must leave as it was."""
    async with db.tenant_tx(scope):
        app = await Application.get(id=application_id)
        moves = await ApplicationMove.filter(application_id=application_id).count()
        cards = await Scorecard.filter(application_id=application_id).values_list(
            "id", "score", "submitted_at")
    return (app.stage_id, app.stage_entered_at, app.status, app.outcome, app.outcome_reason,
            app.version, moves, sorted(cards))


async def setup(world: World, *, title: str = "Backend Engineer") -> tuple[Any, Any, list[Any]]:
    scope = await world.scope("recruiter")
    job = await jobs.create_job(scope, data=jobs.JobData(
        title=title, department="Engineering",
        hiring_manager_id=world.members["hiring_manager"].user_id,
        recruiter_id=world.members["recruiter"].user_id))
    stages = (await service.stages_by_job(scope, [job.id]))[job.id]
    return scope, job, stages


async def new_prospect(scope: Any, name: str = "Ada") -> Any:
    prospect, _ = await prospects.save_prospect(scope, ProspectData(first_name=name,
                                                                    source="referral"))
    return prospect


async def test_a_job_copies_the_default_template_created_on_first_use(world):
    scope, _, stages = await setup(world)
    assert [(s.position, s.name, s.kind) for s in stages] == [
        (1, "Application review", "application_review"), (2, "Phone screen", "screen"),
        (3, "HM review", "hm_review"), (4, "Onsite interview", "interview"), (5, "Offer", "offer"),
        (6, "Hired", "hired")]
    templates = await jobs.list_stage_templates(scope)
    assert [(t.name, t.is_default) for t in templates] == [("Default", True)]
    custom = await jobs.save_stage_template(scope, name="Short", stages=[
        {"name": "Screen", "kind": "screen"}, {"name": "Offer", "kind": "offer"}])
    other = await jobs.create_job(scope, data=jobs.JobData(title="Designer"),
                                  template_id=custom.id)
    assert [(s.name, s.kind) for s in (await service.stages_by_job(scope, [other.id]))[other.id]
            ] == [("Screen", "screen"), ("Offer", "offer")]


async def test_job_members_must_belong_to_the_tenant(world, other_world):
    scope = await world.scope("recruiter")
    with pytest.raises(DomainError) as info:
        await jobs.create_job(scope, data=jobs.JobData(
            title="X", hiring_manager_id=other_world.members["hiring_manager"].user_id))
    assert (info.value.field, info.value.code) == (["hiringManagerId"], "NOT_FOUND")


async def test_status_on_hold_records_since_when(world, frozen):
    scope, job, _ = await setup(world)
    held = await jobs.set_job_status(scope, job_id=job.id, status="on_hold")
    assert held.status == "on_hold" and held.on_hold_since == frozen.now()
    frozen.advance(hours=1)
    reopened = await jobs.set_job_status(scope, job_id=job.id, status="open")
    assert reopened.on_hold_since is None and reopened.closed_at is None
    closed = await jobs.set_job_status(scope, job_id=job.id, status="closed")
    assert closed.closed_at == frozen.now()


async def test_moves_forward_back_and_skipping_build_the_history(world, frozen, queue):
    scope, job, stages = await setup(world)
    prospect = await new_prospect(scope)
    start = frozen.now()
    app = await applications.create_application(scope, prospect_id=prospect.id, job_id=job.id)
    assert (app.stage_id, app.version, app.source, app.recruiter_id) == (
        stages[0].id, 1, "referral", world.members["recruiter"].user_id)
    frozen.advance(days=1)
    app = await applications.move_application(scope, application_id=app.id,
                                              stage_id=stages[3].id)  # skip two
    frozen.advance(days=2)
    app = await applications.move_application(scope, application_id=app.id,
                                              stage_id=stages[1].id)  # back
    assert (app.stage_id, app.version, app.furthest_position) == (stages[1].id, 3, 4)
    assert app.stage_entered_at == frozen.now()
    history = (await service.history_by_application(scope, [app.id]))[app.id]
    day = timedelta(days=1)
    assert [(e.stage_id, e.entered_at, e.exited_at, e.actor_id) for e in history] == [
        (stages[0].id, start, start + day, scope.user_id),
        (stages[3].id, start + day, start + 3 * day, scope.user_id),
        (stages[1].id, start + 3 * day, None, scope.user_id)]
    await queue.drain()
    async with db.tenant_tx(scope):
        feed = await Activity.filter(prospect_id=prospect.id).exclude(kind="created").order_by(
            "occurred_at", "id")
        owner = await Prospect.get(id=prospect.id)
    assert [(a.kind, a.payload.get("toStage")) for a in feed] == [
        ("application_created", "Application review"),
        ("stage_changed", "Onsite interview"), ("stage_changed", "Phone screen")]
    assert feed[2].payload["fromStage"] == "Onsite interview"
    assert feed[2].payload["jobTitle"] == "Backend Engineer"
    assert [a.occurred_at for a in feed] == [start, start + day, start + 3 * day]
    assert owner.engagement_owner_id == world.members["recruiter"].user_id


async def test_a_prospect_can_be_in_several_processes_but_once_per_job(world):
    scope, job, _ = await setup(world)
    _, other_job, _ = await setup(world, title="Staff Engineer")
    prospect = await new_prospect(scope)
    await applications.create_application(scope, prospect_id=prospect.id, job_id=job.id)
    await applications.create_application(scope, prospect_id=prospect.id, job_id=other_job.id)
    with pytest.raises(DomainError) as info:
        await applications.create_application(scope, prospect_id=prospect.id, job_id=job.id)
    assert (info.value.field, info.value.code) == (["prospectId"], "DUPLICATE")
    assert len((await service.applications_by_prospect(scope, [prospect.id]))[prospect.id]) == 2


async def test_moving_to_another_jobs_stage_is_refused_and_writes_nothing(world):
    scope, job, _ = await setup(world)
    _, _, other_stages = await setup(world, title="Other")
    app = await applications.create_application(scope, prospect_id=(await new_prospect(scope)).id,
                                                job_id=job.id)
    before = await snapshot(scope, app.id)
    with pytest.raises(DomainError) as info:
        await applications.move_application(scope, application_id=app.id,
                                            stage_id=other_stages[2].id)
    assert (info.value.field, info.value.code) == (["stageId"], "STAGE_OF_ANOTHER_JOB")
    assert await snapshot(scope, app.id) == before


async def test_expected_version_refuses_stale_moves(world):
    scope, job, stages = await setup(world)
    app = await applications.create_application(scope, prospect_id=(await new_prospect(scope)).id,
                                                job_id=job.id)
    await applications.move_application(scope, application_id=app.id, stage_id=stages[1].id,
                                        expected_version=1)
    before = await snapshot(scope, app.id)
    with pytest.raises(DomainError) as info:
        await applications.move_application(scope, application_id=app.id,
                                            stage_id=stages[2].id, expected_version=1)
    assert (info.value.field, info.value.code) == (["expectedVersion"], "CONFLICT")
    assert await snapshot(scope, app.id) == before


async def test_concurrent_moves_of_one_application_lose_no_history(world):
    scope, job, stages = await setup(world)
    app = await applications.create_application(scope, prospect_id=(await new_prospect(scope)).id,
                                                job_id=job.id)

    async def move(i: int) -> None:
        # Each targets a stage other than the one it will be in; skip "already there" races.
        try:
            await applications.move_application(scope, application_id=app.id,
                                                stage_id=stages[1 + i % 4].id)
        except DomainError as exc:
            assert exc.code == "INVALID"

    await asyncio.gather(*(move(i) for i in range(12)))
    async with db.tenant_tx(scope):
        final = await Application.get(id=app.id)
        moves = await ApplicationMove.filter(application_id=app.id).order_by("occurred_at", "seq")
    # One row per successful move (+ the creation), and the version counts them all.
    assert final.version == len(moves) == moves[-1].seq
    assert final.stage_id == moves[-1].to_stage_id
    assert all(m.from_stage_id == p.to_stage_id for p, m in itertools.pairwise(moves))


async def test_closing_needs_a_reason_and_other_needs_a_note(world, queue):
    scope, job, _ = await setup(world)
    prospect = await new_prospect(scope)
    app = await applications.create_application(scope, prospect_id=prospect.id, job_id=job.id)
    before = await snapshot(scope, app.id)
    for outcome, reason, note, expected in [
            ("rejected", None, None, (["reason"], "REQUIRED")),
            ("withdrew", "skills", None, (["reason"], "NOT_FOUND")),  # a rejection reason
            ("offer_declined", "other", None, (["note"], "REQUIRED")),
            ("hired", "skills", None, (["reason"], "INVALID"))]:
        with pytest.raises(DomainError) as info:
            await applications.close_application(scope, application_id=app.id, outcome=outcome,
                                                 reason=reason, note=note)
        assert (info.value.field, info.value.code) == expected
    assert await snapshot(scope, app.id) == before
    closed = await applications.close_application(scope, application_id=app.id,
                                                  outcome="offer_declined", reason="other",
                                                  note="Moving abroad")
    assert (closed.status, closed.outcome, closed.outcome_reason, closed.outcome_note) == (
        "withdrew", "offer_declined", "other", "Moving abroad")
    with pytest.raises(DomainError) as info:
        await applications.close_application(scope, application_id=app.id, outcome="rejected",
                                             reason="skills")
    assert info.value.code == "NOT_ACTIVE"
    await queue.drain()
    async with db.tenant_tx(scope):
        owner = await Prospect.get(id=prospect.id)
        kinds = await Activity.filter(prospect_id=prospect.id).order_by("id").values_list(
            "kind", flat=True)
    assert owner.engagement_owner_id is None  # released: no other active process
    assert kinds[-1] == "application_closed"


async def test_engagement_stays_while_another_process_is_active(world):
    scope, job, _ = await setup(world)
    _, other, _ = await setup(world, title="Other")
    prospect = await new_prospect(scope)
    first = await applications.create_application(scope, prospect_id=prospect.id, job_id=job.id)
    await applications.create_application(scope, prospect_id=prospect.id, job_id=other.id)
    await applications.close_application(scope, application_id=first.id, outcome="rejected",
                                         reason="skills")
    async with db.tenant_tx(scope):
        assert (await Prospect.get(id=prospect.id)).engagement_owner_id is not None


async def test_hiring_enters_the_hired_stage_and_reopening_needs_the_flag(world, frozen):
    scope, job, stages = await setup(world)
    app = await applications.create_application(scope, prospect_id=(await new_prospect(scope)).id,
                                                job_id=job.id)
    frozen.advance(days=3)
    hired = await applications.close_application(scope, application_id=app.id, outcome="hired")
    assert (hired.status, hired.stage_id, hired.furthest_rank) == ("hired", stages[5].id, 7)
    history = (await service.history_by_application(scope, [app.id]))[app.id]
    assert [(e.kind, e.stage_id) for e in history] == [
        ("move", stages[0].id), ("move", stages[5].id), ("close", stages[5].id)]
    before = await snapshot(scope, app.id)
    with pytest.raises(DomainError) as info:
        await applications.reopen_application(scope, application_id=app.id)
    assert (info.value.field, info.value.code) == (["confirmHired"], "CONFIRMATION_REQUIRED")
    assert await snapshot(scope, app.id) == before
    reopened = await applications.reopen_application(scope, application_id=app.id,
                                                     stage_id=stages[4].id, confirm_hired=True)
    assert (reopened.status, reopened.outcome, reopened.stage_id) == ("active", None,
                                                                      stages[4].id)


async def test_stage_edits_and_removal_refused_while_candidates_are_in_it(world):
    scope, job, stages = await setup(world)
    app = await applications.create_application(scope, prospect_id=(await new_prospect(scope)).id,
                                                job_id=job.id, stage_id=stages[1].id)
    before = await snapshot(scope, app.id)
    with pytest.raises(DomainError) as info:
        await jobs.remove_job_stage(scope, stage_id=stages[1].id)
    assert (info.value.field, info.value.code) == (["stageId"], "STAGE_NOT_EMPTY")
    assert await snapshot(scope, app.id) == before
    live = (await service.stages_by_job(scope, [job.id]))[job.id]
    assert [s.id for s in live] == [s.id for s in stages]
    await jobs.remove_job_stage(scope, stage_id=stages[2].id)
    added = await jobs.add_job_stage(scope, job_id=job.id, name="Take-home", kind="interview",
                                     position=3)
    await jobs.rename_job_stage(scope, stage_id=stages[0].id, name="Inbox")
    live = (await service.stages_by_job(scope, [job.id]))[job.id]
    assert [(s.position, s.name) for s in live] == [
        (1, "Inbox"), (2, "Phone screen"), (3, "Take-home"), (4, "Onsite interview"),
        (5, "Offer"), (6, "Hired")]
    order = [live[i].id for i in (1, 0, 2, 3, 4, 5)]
    await jobs.reorder_job_stages(scope, job_id=job.id, stage_ids=order)
    assert [s.id for s in (await service.stages_by_job(scope, [job.id]))[job.id]] == order
    async with db.tenant_tx(scope):
        removed = await JobStage.get(id=stages[2].id)
    assert removed.removed_at is not None and added.kind == "interview"


async def test_hiring_managers_decide_only_on_their_own_jobs(world):
    scope, job, stages = await setup(world)
    hm = await world.scope("hiring_manager")
    app = await applications.create_application(scope, prospect_id=(await new_prospect(scope)).id,
                                                job_id=job.id)
    await applications.move_application(hm, application_id=app.id, stage_id=stages[3].id)
    with pytest.raises(Forbidden):
        await jobs.create_job(hm, data=jobs.JobData(title="Mine"))
    theirs = await jobs.create_job(scope, data=jobs.JobData(title="Not the HM's"))
    other_app = await applications.create_application(
        scope, prospect_id=(await new_prospect(scope, "Bo")).id, job_id=theirs.id)
    before = await snapshot(scope, other_app.id)
    with pytest.raises(Forbidden):
        await applications.close_application(hm, application_id=other_app.id,
                                             outcome="rejected", reason="skills")
    assert await snapshot(scope, other_app.id) == before


async def test_scorecards_requested_submitted_and_summarised(world):
    scope, job, stages = await setup(world)
    app = await applications.create_application(scope, prospect_id=(await new_prospect(scope)).id,
                                                job_id=job.id, stage_id=stages[3].id)
    hm, viewer = world.members["hiring_manager"], world.members["viewer"]
    cards = await scorecards.request_scorecards(scope, application_id=app.id,
                                                interviewer_ids=[hm.user_id, viewer.user_id])
    again = await scorecards.request_scorecards(scope, application_id=app.id,
                                                interviewer_ids=[hm.user_id])
    assert again[0].id == cards[0].id
    assert {c.id for c in (await service.pending_scorecards(scope, [app.id]))[app.id]} == {
        c.id for c in cards}
    before = await snapshot(scope, app.id)
    hm_scope = await world.scope("hiring_manager")
    with pytest.raises(DomainError) as info:
        await scorecards.submit_scorecard(hm_scope, scorecard_id=cards[0].id, score=5)
    assert (info.value.field, info.value.code) == (["score"], "OUT_OF_RANGE")
    with pytest.raises(Forbidden):  # another interviewer's
        await scorecards.submit_scorecard(hm_scope, scorecard_id=cards[1].id, score=3)
    assert await snapshot(scope, app.id) == before
    await scorecards.submit_scorecard(hm_scope, scorecard_id=cards[0].id, score=4, notes="Yes!")
    summary = (await service.scorecard_summaries(scope, [app.id]))[app.id]
    assert summary == service.ScorecardSummary(submitted=1, awaiting=1, average_score=4.0)
    admin = await world.scope("admin")
    await scorecards.submit_scorecard(admin, scorecard_id=cards[1].id, score=1)
    assert (await service.scorecard_summaries(scope, [app.id]))[app.id] == \
        service.ScorecardSummary(submitted=2, awaiting=0, average_score=2.5)
    assert await service.pending_scorecards(scope, [app.id]) == {}


async def test_reads_of_another_tenant_find_nothing(world, other_world):
    scope, job, stages = await setup(world)
    app = await applications.create_application(scope, prospect_id=(await new_prospect(scope)).id,
                                                job_id=job.id)
    theirs = await other_world.scope()
    assert await service.jobs_by_ids(theirs, [job.id]) == {}
    assert await service.applications_by_ids(theirs, [app.id]) == {}
    assert await service.stages_by_job(theirs, [job.id]) == {}
    assert await service.scorecard_summaries(theirs, [app.id]) == {}
    assert await service.history_by_application(theirs, [app.id]) == {}
    with pytest.raises(DomainError) as info:
        await applications.move_application(theirs, application_id=app.id,
                                            stage_id=stages[1].id)
    assert info.value.code == "NOT_FOUND"


async def test_a_stale_write_is_refused_even_without_the_lock(world):
    """The version check guards the cache and the history by itself (SQLite has no row lock;
    a caller could forget it): a change from a stale read writes nothing."""
    scope, job, stages = await setup(world)
    app = await applications.create_application(scope, prospect_id=(await new_prospect(scope)).id,
                                                job_id=job.id)
    async with db.tenant_tx(scope):
        stale = await Application.get(id=app.id)
    await applications.move_application(scope, application_id=app.id, stage_id=stages[1].id)
    before = await snapshot(scope, app.id)
    with pytest.raises(DomainError) as info:
        async with db.tenant_tx(scope):
            await applications.record_move(scope, stale, job, stages[2], when=clock.now(),
                                           source="app")
    assert (info.value.field, info.value.code) == (["applicationId"], "CONFLICT")
    assert await snapshot(scope, app.id) == before
