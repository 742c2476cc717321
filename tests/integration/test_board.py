"""The board and my actions on a real database: columns, counts, passthrough, urgency order,
paging per column, filters, jobs on hold, and another tenant's ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.core.errors import DomainError
from domain.pipeline import applications, board, jobs, scorecards
from domain.pipeline.board import BoardFilter, CardCursor
from domain.slas import service as slas
from tests.integration import test_slas
from tests.integration.test_slas import apply, make_job

frozen = test_slas.frozen  # the fixture

H = timedelta(hours=1)


async def seeded(world: Any, frozen: Any) -> dict[str, Any]:
    """One job: review has red (100h), yellow (50h) and two greens (10h, 20h); screen has one
    moved there now; one hired (10 days to hire)."""
    scope, job, stages = await make_job(world)
    now = frozen.now()
    review = stages[0]
    apps = {name: await apply(scope, job, review, name, now - hours * H)
            for name, hours in [("Green10", 10), ("Red", 100), ("Green20", 20), ("Yellow", 50)]}
    apps["Screened"] = await apply(scope, job, review, "Screened", now - 30 * H)
    await applications.move_application(scope, application_id=apps["Screened"].id,
                                        stage_id=stages[1].id)
    apps["Hired"] = await apply(scope, job, review, "Hired", now - 240 * H)
    await applications.move_application(scope, application_id=apps["Hired"].id,
                                        stage_id=stages[4].id)
    await applications.close_application(scope, application_id=apps["Hired"].id,
                                         outcome="hired")
    return {"scope": scope, "job": job, "stages": stages, "apps": apps}


def names(page: board.CardPage, apps: dict[str, Any]) -> list[str]:
    by_id = {a.id: n for n, a in apps.items()}
    return [by_id[c.application.id] for c in page.cards]


async def test_one_job_board_columns_counts_passthrough_and_summary(world, frozen):
    s = await seeded(world, frozen)
    got = await board.load_board(s["scope"], BoardFilter(job_ids=[s["job"].id]))
    assert [(c.key, c.name, c.kind) for c in got.columns] == [
        (str(st.id), st.name, st.kind) for st in s["stages"]]
    assert [(c.count, c.entered, c.went_on) for c in got.columns] == [
        (4, 6, 2), (1, 1, 0), (0, 0, 0), (0, 0, 0), (0, 1, 1), (0, 1, 0)]
    assert [c.passthrough for c in got.columns] == [2 / 6, 0.0, None, None, 1.0, 0.0]
    assert (got.active, got.total, got.average_time_to_hire) == (5, 6, 240 * 3600.0)


async def test_cards_are_ordered_red_yellow_green_then_oldest(world, frozen):
    s = await seeded(world, frozen)
    scope, apps = s["scope"], s["apps"]
    got = await board.load_board(scope, BoardFilter(job_ids=[s["job"].id]))
    review = got.columns[0].key
    [page] = await board.board_pages(scope, got, [(review, 50, None)])
    assert names(page, apps) == ["Red", "Yellow", "Green20", "Green10"]
    assert [c.urgency.status for c in page.cards] == ["red", "yellow", "green", "green"]
    red = page.cards[0]
    assert (red.urgency.action, red.urgency.owner_role, red.owner_id) == (
        "needs_decision", "recruiter", world.members["recruiter"].user_id)
    assert red.urgency.due_at == apps["Red"].stage_entered_at + 96 * H
    assert red.urgency.hours_in_stage == 100.0
    assert (page.has_next_page, page.has_previous_page) == (False, False)


async def test_pages_per_column_in_one_call(world, frozen):
    s = await seeded(world, frozen)
    scope, apps = s["scope"], s["apps"]
    got = await board.load_board(scope, BoardFilter(job_ids=[s["job"].id]))
    review, screen = got.columns[0].key, got.columns[1].key
    first, screened, empty = await board.board_pages(
        scope, got, [(review, 2, None), (screen, 5, None), (got.columns[2].key, 5, None)])
    assert names(first, apps) == ["Red", "Yellow"] and first.has_next_page
    assert names(screened, apps) == ["Screened"] and not screened.has_next_page
    assert empty.cards == []
    [second] = await board.board_pages(scope, got, [(review, 2, first.cards[-1].cursor)])
    assert names(second, apps) == ["Green20", "Green10"]
    assert (second.has_next_page, second.has_previous_page) == (False, True)
    # a cursor survives encoding
    cursor = first.cards[-1].cursor
    assert CardCursor.decode(cursor.encode()) == cursor
    with pytest.raises(DomainError) as raised:
        CardCursor.decode("nonsense")
    assert raised.value.field == ["after"]


async def test_a_job_override_and_a_hold_change_the_order(world, frozen):
    s = await seeded(world, frozen)
    scope, apps, job = s["scope"], s["apps"], s["job"]
    await slas.set_job_sla_override(scope, job_id=job.id, stage_kind="application_review",
                                    yellow_hours=15, red_hours=45, action="needs_attention",
                                    owner_role="hiring_manager")
    got = await board.load_board(scope, BoardFilter(job_ids=[job.id]))
    [page] = await board.board_pages(scope, got, [(got.columns[0].key, 50, None)])
    assert [(n, c.urgency.status) for n, c in zip(names(page, apps), page.cards, strict=True)] == [
        ("Red", "red"), ("Yellow", "red"), ("Green20", "yellow"), ("Green10", "green")]
    assert page.cards[0].owner_id == world.members["hiring_manager"].user_id

    await jobs.set_job_status(scope, job_id=job.id, status="on_hold")
    frozen.advance(hours=1000)  # the clock stands still while on hold
    got = await board.load_board(scope, BoardFilter(job_ids=[job.id]))
    [page] = await board.board_pages(scope, got, [(got.columns[0].key, 50, None)])
    assert [c.urgency.status for c in page.cards] == ["red", "red", "yellow", "green"]
    assert all(c.urgency.paused and c.urgency.due_at is None for c in page.cards)


async def test_several_jobs_group_columns_by_kind_and_filters_select_jobs(world, other_world,
                                                                           frozen):
    s = await seeded(world, frozen)
    scope = s["scope"]
    _, sales, _ = await make_job(world, title="Sales", department="Sales", stages=[
        {"name": "Review", "kind": "application_review"}, {"name": "Round 1", "kind": "interview"},
        {"name": "Round 2", "kind": "interview"}, {"name": "Hired", "kind": "hired"}])
    sales_stages = (await board.load_board(scope, BoardFilter(job_ids=[sales.id]))).columns
    await apply(scope, sales, sales_stages[1].stages[0], "R1", frozen.now() - 80 * H)
    await apply(scope, sales, sales_stages[2].stages[0], "R2", frozen.now() - 200 * H)

    both = await board.load_board(scope, BoardFilter())
    assert [(c.key, c.count, len(c.stages)) for c in both.columns] == [
        ("application_review", 4, 2), ("screen", 1, 1), ("hm_review", 0, 1),
        ("interview", 2, 3), ("offer", 0, 1), ("hired", 0, 2)]
    assert (both.active, both.total) == (7, 8)
    [interview] = await board.board_pages(scope, both, [("interview", 50, None)])
    assert [c.urgency.status for c in interview.cards] == ["red", "yellow"]

    only = await board.load_board(scope, BoardFilter(department="sales"))
    assert [j.id for j in only.jobs] == [sales.id]
    kinds = await board.load_board(scope, BoardFilter(stage_kinds=["interview", "offer"]))
    assert [c.key for c in kinds.columns] == ["interview", "offer"]
    hm = world.members["hiring_manager"].user_id
    assert len((await board.load_board(scope, BoardFilter(hiring_manager_id=hm))).jobs) == 2
    assert (await board.load_board(scope, BoardFilter(
        recruiter_id=world.members["sourcer"].user_id))).jobs == []
    with pytest.raises(DomainError) as raised:
        await board.load_board(scope, BoardFilter(stage_kinds=["lunch"]))
    assert raised.value.field == ["stageKinds", "0"]

    # another tenant's jobs and members select nothing; its own board does not see ours
    _, theirs, _ = await make_job(other_world)
    assert (await board.load_board(scope, BoardFilter(job_ids=[theirs.id]))).jobs == []
    other_hm = other_world.members["hiring_manager"].user_id
    assert (await board.load_board(scope, BoardFilter(hiring_manager_id=other_hm))).jobs == []
    other_scope = await other_world.scope("recruiter")
    mine = await board.load_board(other_scope, BoardFilter(job_ids=[s["job"].id, sales.id]))
    assert (mine.jobs, mine.columns, mine.total) == ([], [], 0)
    # pages of our columns asked with their board find nothing
    assert (await board.board_pages(other_scope, both, [("interview", 50, None)]))[0].cards == []


async def test_my_actions_for_recruiter_and_hiring_manager(world, other_world, frozen):
    s = await seeded(world, frozen)
    scope, apps, stages, job = s["scope"], s["apps"], s["stages"], s["job"]
    apps["Hm"] = await apply(scope, job, stages[2], "Hm", frozen.now() - 60 * H)
    apps["Panel"] = await apply(scope, job, stages[3], "Panel", frozen.now() - 80 * H)
    await scorecards.request_scorecards(scope, application_id=apps["Panel"].id,
                                        interviewer_ids=[world.members["coordinator"].user_id])
    recruiter = await world.scope("recruiter")
    hm = await world.scope("hiring_manager")
    mine = await board.my_actions(recruiter)
    # Screened entered the screen stage just now: the least urgent
    assert names(mine, apps) == ["Red", "Yellow", "Green20", "Green10", "Screened"]
    assert [c.urgency.status for c in mine.cards] == ["red", "yellow", "green", "green", "green"]
    theirs = await board.my_actions(hm)
    assert names(theirs, apps) == ["Panel", "Hm"]
    assert [(c.urgency.status, c.urgency.action) for c in theirs.cards] == [
        ("yellow", "awaiting_feedback"), ("yellow", "needs_decision")]

    first = await board.my_actions(recruiter, first=2)
    assert names(first, apps) == ["Red", "Yellow"] and first.has_next_page
    rest = await board.my_actions(recruiter, first=10, after=first.cards[-1].cursor)
    assert names(rest, apps) == ["Green20", "Green10", "Screened"]
    assert (rest.has_next_page, rest.has_previous_page) == (False, True)
    with pytest.raises(DomainError) as raised:
        await board.my_actions(recruiter, first=101)
    assert raised.value.field == ["first"]

    assert (await board.my_actions(await world.scope("viewer"))).cards == []
    assert (await board.my_actions(await other_world.scope("recruiter"))).cards == []
