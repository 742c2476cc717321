"""Rediscovery over past processes: job, department, stage reached, closing reason, interview
score, hired, silver medalist — each condition on one application, combined with the rest of
the prospect filter."""

from __future__ import annotations

from typing import Any

import pytest

from domain.core.errors import DomainError
from domain.pipeline import applications, jobs, scorecards, service
from domain.prospects import search
from domain.prospects import service as prospects
from domain.prospects.rules import ProspectData


async def names(scope: Any, **conditions: Any) -> list[str]:
    result = await search.search_prospects(
        scope, filter=search.ProspectFilter(**conditions),
        order=search.ProspectOrder(field=search.OrderField.NAME), page=search.SearchPage(first=50))
    return [p.first_name for p in result.items]


async def test_pipeline_conditions(world):
    scope = await world.scope("recruiter")
    admin = await world.scope("admin")
    eng = await jobs.create_job(scope, data=jobs.JobData(title="Backend", department="Engineering"))
    design = await jobs.create_job(scope, data=jobs.JobData(title="Designer", department="Design"))
    s_eng = (await service.stages_by_job(scope, [eng.id]))[eng.id]
    s_design = (await service.stages_by_job(scope, [design.id]))[design.id]

    async def person(name: str) -> Any:
        return (await prospects.save_prospect(scope, ProspectData(first_name=name)))[0]

    ann, bob, cid, dee, eve, fay = [await person(n) for n in
                                    ("Ann", "Bob", "Cid", "Dee", "Eve", "Fay")]
    # Ann: hired for Backend. Bob: offer declined (compensation) at Backend. Cid: rejected at
    # the phone screen (skills). Dee: onsite at Design, active, scored 4 and 3. Eve: rejected
    # after the onsite at Backend (the final interview), scored 2; Fay: nowhere.
    a = await applications.create_application(scope, prospect_id=ann.id, job_id=eng.id)
    await applications.close_application(scope, application_id=a.id, outcome="hired")
    b = await applications.create_application(scope, prospect_id=bob.id, job_id=eng.id,
                                              stage_id=s_eng[4].id)
    await applications.close_application(scope, application_id=b.id, outcome="offer_declined",
                                         reason="compensation")
    c = await applications.create_application(scope, prospect_id=cid.id, job_id=eng.id,
                                              stage_id=s_eng[1].id)
    await applications.close_application(scope, application_id=c.id, outcome="rejected",
                                         reason="skills")
    d = await applications.create_application(scope, prospect_id=dee.id, job_id=design.id,
                                              stage_id=s_design[3].id)
    cards = await scorecards.request_scorecards(scope, application_id=d.id, interviewer_ids=[
        world.members["admin"].user_id, world.members["recruiter"].user_id])
    await scorecards.submit_scorecard(admin, scorecard_id=cards[0].id, score=4)
    await scorecards.submit_scorecard(admin, scorecard_id=cards[1].id, score=3)
    e = await applications.create_application(scope, prospect_id=eve.id, job_id=eng.id)
    await applications.move_application(scope, application_id=e.id, stage_id=s_eng[3].id)
    await scorecards.submit_scorecard(scope, application_id=e.id, score=2)
    await applications.move_application(scope, application_id=e.id, stage_id=s_eng[1].id)
    await applications.close_application(scope, application_id=e.id, outcome="rejected",
                                         reason="skills")
    assert fay  # in no process: never matches a pipeline condition

    assert await names(scope, job_ids=[eng.id]) == ["Ann", "Bob", "Cid", "Eve"]
    assert await names(scope, departments=["Design"]) == ["Dee"]
    assert await names(scope, stage_reached_at_least="interview") == ["Ann", "Bob", "Dee", "Eve"]
    assert await names(scope, stage_reached_at_least="offer") == ["Ann", "Bob"]
    assert await names(scope, closing_reasons=["skills"]) == ["Cid", "Eve"]
    assert await names(scope, closing_reasons=["compensation"]) == ["Bob"]
    assert await names(scope, interview_score_min=3) == ["Dee"]
    assert await names(scope, interview_score_min=2) == ["Dee", "Eve"]
    assert await names(scope, hired=True) == ["Ann"]
    assert await names(scope, hired=False) == ["Bob", "Cid", "Dee", "Eve"]
    assert await names(scope, silver_medalist=True) == ["Bob", "Eve"]
    # On one application: Eve's skills rejection is at Backend, not Design.
    assert await names(scope, closing_reasons=["skills"], departments=["Design"]) == []
    assert await names(scope, silver_medalist=True, text="eve") == ["Eve"]

    saved = search.ProspectFilter(job_ids=[eng.id], hired=False, stage_reached_at_least="offer")
    assert search.ProspectFilter.from_json(saved.to_json()) == saved


@pytest.mark.parametrize(("conditions", "field", "code"), [
    ({"stage_reached_at_least": "lunch"}, ["filter", "stageReachedAtLeast"], "INVALID"),
    ({"interview_score_min": 5}, ["filter", "interviewScoreMin"], "OUT_OF_RANGE"),
    ({"closing_reasons": ["x"] * 51}, ["filter", "closingReasons"], "OUT_OF_RANGE"),
])
async def test_bad_pipeline_conditions_are_field_errors(world, conditions, field, code):
    with pytest.raises(DomainError) as info:
        await names(await world.scope(), **conditions)
    assert (info.value.field, info.value.code) == (field, code)
