"""pipelineBoard and myActions over GraphQL: the cards' fields, paging per column, typed
errors naming the argument, another tenant's ids, and a fixed number of SQL queries whatever
the number of stages or applications."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from api.relay import to_global_id
from domain.core import db
from domain.core.ids import uuid7
from domain.pipeline import scorecards
from domain.pipeline.models import Application, ApplicationMove, Job, JobStage, Scorecard
from domain.prospects.models import Prospect
from domain.tenancy.sessions import forget_cached_auth
from tests.conftest import World
from tests.integration import test_slas
from tests.integration.test_board import seeded
from tests.integration.test_slas import apply, make_job

frozen = test_slas.frozen  # the fixture

H = timedelta(hours=1)
CARD = """
  applicationId prospectName title company source recruiter { name } timeInStage
  lastActivityAt scorecardSummary { submitted awaiting averageScore }
  sla { color action ownerRole dueAt hoursInStage paused owner { name } }
"""
BOARD = """
query($filter: PipelineBoardFilter, $first: Int, $after: String) {
  pipelineBoard(filter: $filter) {
    jobs { id title }
    summary { activeCandidates totalApplicants averageTimeToHireSeconds }
    columns {
      key name kind count entered passedThrough passthrough stages { id }
      applications(first: $first, after: $after) {
        edges { cursor node { %s } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
      }
    }
  }
}""".replace("%s", CARD)
ACTIONS = """
query($first: Int, $after: String) {
  myActions(first: $first, after: $after) {
    edges { cursor node { prospectName sla { color action ownerRole } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""


def gid(kind: str, raw: Any) -> str:
    return str(to_global_id(kind, raw))


async def test_the_board_over_graphql(gql, world, frozen):
    s = await seeded(world, frozen)
    await scorecards.request_scorecards(s["scope"], application_id=s["apps"]["Yellow"].id,
                                        interviewer_ids=[world.members["coordinator"].user_id])
    token = world.members["hiring_manager"].token
    body = await gql(BOARD, {"filter": {"jobIds": [gid("Job", s["job"].id)]}}, token=token)
    got = body["data"]["pipelineBoard"]
    assert got["jobs"] == [{"id": gid("Job", s["job"].id), "title": "Backend Engineer"}]
    assert got["summary"] == {"activeCandidates": 5, "totalApplicants": 6,
                              "averageTimeToHireSeconds": 240 * 3600.0}
    review = got["columns"][0]
    assert {k: review[k] for k in ("key", "name", "kind", "count", "entered", "passedThrough")
            } == {"key": str(s["stages"][0].id), "name": s["stages"][0].name,
                  "kind": "APPLICATION_REVIEW", "count": 4, "entered": 6, "passedThrough": 2}
    assert review["stages"] == [{"id": gid("JobStage", s["stages"][0].id)}]
    cards = [e["node"] for e in review["applications"]["edges"]]
    assert [c["prospectName"] for c in cards] == ["Red", "Yellow", "Green20", "Green10"]
    red = s["apps"]["Red"]
    assert cards[0] == {
        "applicationId": gid("Application", red.id), "prospectName": "Red",
        "title": "Engineer", "company": "Acme", "source": "referral",
        "recruiter": {"name": "Recruiter"}, "timeInStage": 100 * 3600,
        "lastActivityAt": cards[0]["lastActivityAt"],
        "scorecardSummary": {"submitted": 0, "awaiting": 0, "averageScore": None},
        "sla": {"color": "RED", "action": "NEEDS_DECISION", "ownerRole": "RECRUITER",
                "dueAt": (red.stage_entered_at + 96 * H).isoformat(), "hoursInStage": 100.0,
                "paused": False, "owner": {"name": "Recruiter"}}}
    assert cards[0]["lastActivityAt"] is not None
    assert cards[1]["scorecardSummary"] == {"submitted": 0, "awaiting": 1, "averageScore": None}
    assert cards[1]["sla"]["action"] == "AWAITING_FEEDBACK"
    assert cards[1]["sla"]["owner"] == {"name": "Hiring_Manager"}
    assert [c["passthrough"] for c in got["columns"]] == [2 / 6, 0.0, None, None, 1.0, 0.0]


async def test_paging_a_column_and_bad_arguments(gql, world, frozen):
    s = await seeded(world, frozen)
    token = world.members["recruiter"].token
    variables = {"filter": {"jobIds": [gid("Job", s["job"].id)],
                            "stageKinds": ["APPLICATION_REVIEW"]}, "first": 3}
    body = await gql(BOARD, variables, token=token)
    [column] = body["data"]["pipelineBoard"]["columns"]
    page = column["applications"]
    assert [e["node"]["prospectName"] for e in page["edges"]] == ["Red", "Yellow", "Green20"]
    assert page["pageInfo"]["hasNextPage"] is True
    body = await gql(BOARD, {**variables, "after": page["pageInfo"]["endCursor"]}, token=token)
    page = body["data"]["pipelineBoard"]["columns"][0]["applications"]
    assert [e["node"]["prospectName"] for e in page["edges"]] == ["Green10"]
    assert page["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True,
                                "endCursor": page["edges"][0]["cursor"]}

    for bad, field in (({"first": 101}, "first"), ({"first": -1}, "first"),
                       ({"after": "not-a-cursor"}, "after")):
        body = await gql(BOARD, {**variables, **bad}, token=token, expect_errors=True)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["field"] == [field]


async def test_my_actions_over_graphql(gql, world, frozen):
    s = await seeded(world, frozen)
    await apply(s["scope"], s["job"], s["stages"][2], "Hm", frozen.now() - 80 * H)
    body = await gql(ACTIONS, {"first": 2}, token=world.members["recruiter"].token)
    got = body["data"]["myActions"]
    assert [e["node"] for e in got["edges"]] == [
        {"prospectName": "Red", "sla": {"color": "RED", "action": "NEEDS_DECISION",
                                        "ownerRole": "RECRUITER"}},
        {"prospectName": "Yellow", "sla": {"color": "YELLOW", "action": "NEEDS_DECISION",
                                           "ownerRole": "RECRUITER"}}]
    assert got["pageInfo"]["hasNextPage"] is True
    body = await gql(ACTIONS, {"first": 10, "after": got["pageInfo"]["endCursor"]},
                     token=world.members["recruiter"].token)
    assert [e["node"]["prospectName"] for e in body["data"]["myActions"]["edges"]] == [
        "Green20", "Green10", "Screened"]
    body = await gql(ACTIONS, {}, token=world.members["hiring_manager"].token)
    assert [e["node"] for e in body["data"]["myActions"]["edges"]] == [
        {"prospectName": "Hm", "sla": {"color": "RED", "action": "NEEDS_DECISION",
                                       "ownerRole": "HIRING_MANAGER"}}]
    body = await gql(ACTIONS, {"after": "bad"}, token=world.members["recruiter"].token,
                     expect_errors=True)
    assert body["errors"][0]["extensions"]["field"] == ["after"]


async def test_another_tenants_ids_find_nothing(gql, world, other_world, frozen):
    s = await seeded(world, frozen)
    token = other_world.members["admin"].token
    for filter_ in ({"jobIds": [gid("Job", s["job"].id)]},
                    {"hiringManagerId": gid("User", world.members["hiring_manager"].user_id)},
                    {"recruiterId": gid("User", world.members["recruiter"].user_id)},
                    {"jobIds": ["garbage"]}, {}):
        body = await gql(BOARD, {"filter": filter_}, token=token)
        assert body["data"]["pipelineBoard"] == {
            "jobs": [], "columns": [], "summary": {"activeCandidates": 0, "totalApplicants": 0,
                                                   "averageTimeToHireSeconds": None}}
    body = await gql(ACTIONS, {}, token=other_world.members["recruiter"].token)
    assert body["data"]["myActions"]["edges"] == []
    # and a cursor from our tenant leads nowhere there
    ours = await gql(ACTIONS, {"first": 1}, token=world.members["recruiter"].token)
    cursor = ours["data"]["myActions"]["pageInfo"]["endCursor"]
    body = await gql(ACTIONS, {"after": cursor}, token=other_world.members["recruiter"].token)
    assert body["data"]["myActions"]["edges"] == []


async def test_the_board_needs_to_be_signed_in(gql):
    body = await gql(BOARD, {}, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- query count -------------------------------------------------------------------------------

class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(str(record.msg % record.args if record.args else record.msg))


async def bulk_job(world: World, frozen: Any, *, stages: int, per_stage: list[int],
                   title: str) -> Job:
    """A job with `stages` stages and per_stage[i] active applications in stage i, written in
    bulk (the services are tested elsewhere; this is about reading)."""
    kinds = ["application_review", "screen", "hm_review", "interview", "offer", "hired"]
    scope, job, _ = await make_job(world, title=title, stages=[
        {"name": f"S{i}", "kind": kinds[min(i, 3) if i < stages - 2 else 4 + (i - stages + 2)]}
        for i in range(stages)])
    now = frozen.now()
    async with db.tenant_tx(scope):
        live = list(await JobStage.filter(job_id=job.id).order_by("position"))
        prospects, apps, moves, cards = [], [], [], []
        for stage, count in zip(live, per_stage, strict=False):
            for n in range(count):
                p = Prospect(id=uuid7(), tenant_id=scope.tenant_id, first_name=f"{stage.name}-{n}",
                             title="Dev", company="Co", created_at=now, updated_at=now)
                entered = now - (n * 7 % 150) * H
                a = Application(id=uuid7(), tenant_id=scope.tenant_id, job_id=job.id,
                                prospect_id=p.id, stage_id=stage.id, stage_entered_at=entered,
                                source="bulk", recruiter_id=world.members["recruiter"].user_id,
                                created_at=entered, updated_at=entered,
                                furthest_position=stage.position)
                prospects.append(p)
                apps.append(a)
                moves.append(ApplicationMove(id=uuid7(), tenant_id=scope.tenant_id,
                                             application_id=a.id, job_id=job.id, kind="move",
                                             to_stage_id=stage.id, occurred_at=entered,
                                             recorded_at=entered, seq=1))
                if n % 3 == 0:
                    cards.append(Scorecard(id=uuid7(), tenant_id=scope.tenant_id,
                                           application_id=a.id, job_id=job.id,
                                           stage_id=stage.id,
                                           interviewer_id=world.members["coordinator"].user_id,
                                           score=None if n % 2 else 3, requested_at=now,
                                           submitted_at=None if n % 2 else now))
        await Prospect.bulk_create(prospects)
        await Application.bulk_create(apps)
        await ApplicationMove.bulk_create(moves)
        await Scorecard.bulk_create(cards)
    return job


async def _count(gql: Any, token: str, variables: dict[str, Any]) -> tuple[int, list[str], Any]:
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    forget_cached_auth()  # every request checks its session the same way
    try:
        body = await gql(BOARD, variables, token=token)
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    return len(counter.statements), counter.statements, body["data"]["pipelineBoard"]


async def test_the_board_costs_the_same_queries_whatever_its_size(gql, world, frozen, queue):
    small = await bulk_job(world, frozen, stages=3, per_stage=[2, 1, 0], title="Small")
    large = await bulk_job(world, frozen, stages=12, per_stage=[60, 55, 5, 1, 0, 9, 3, 2, 8, 4,
                                                                1, 1], title="Large")
    await queue.drain()  # the setup's events: their dispatch is not the board's statements
    token = world.members["recruiter"].token

    def only(job: Job) -> dict[str, Any]:
        return {"filter": {"jobIds": [gid("Job", job.id)]}}

    await _count(gql, token, only(small))  # warm: first-use lookups are not the point
    n_small, _, board_small = await _count(gql, token, only(small))
    n_large, statements, board_large = await _count(gql, token, only(large))
    assert [len(c["applications"]["edges"]) for c in board_small["columns"]] == [2, 1, 0]
    assert [len(c["applications"]["edges"]) for c in board_large["columns"]] == [
        50, 50, 5, 1, 0, 9, 3, 2, 8, 4, 1, 1]
    assert board_large["columns"][0]["applications"]["pageInfo"]["hasNextPage"] is True
    assert n_small == n_large, statements
    # several jobs at once (columns by kind) cost the same again
    n_both, statements, both = await _count(gql, token, {"filter": {}})
    assert len(both["jobs"]) == 2
    assert n_both == n_large, statements
    # auth (session, membership), jobs, stages, 2 policy reads, counts, passthrough, the pages
    # (one query with the cards' columns), members (memberships, users): 11 (on PostgreSQL
    # each transaction's tenant setting goes with its BEGIN)
    assert n_large == 11, statements


async def test_my_actions_cost_the_same_queries_whatever_its_size(gql, world, frozen, queue):
    token = world.members["recruiter"].token

    async def count(first: int) -> tuple[int, list[str], int]:
        logger = logging.getLogger("tortoise.db_client")
        counter = _Counter()
        level = logger.level
        logger.addHandler(counter)
        logger.setLevel(logging.DEBUG)
        forget_cached_auth()
        try:
            body = await gql(ACTIONS, {"first": first}, token=token)
        finally:
            logger.removeHandler(counter)
            logger.setLevel(level)
        return (len(counter.statements), counter.statements,
                len(body["data"]["myActions"]["edges"]))

    await bulk_job(world, frozen, stages=3, per_stage=[2, 1, 0], title="Small")
    await queue.drain()  # the setup's events: their dispatch is not myActions' statements
    await count(5)  # warm
    small, _, shown = await count(5)
    assert shown == 3
    await bulk_job(world, frozen, stages=8, per_stage=[40, 30, 20, 10, 5, 5, 3, 2], title="Big")
    await queue.drain()
    large, statements, shown = await count(100)
    # 118 active applications with the recruiter on them; the 36 in HM review or with awaited
    # scorecards are the hiring manager's to act on: 82 left
    assert shown == 82
    assert small == large, statements
