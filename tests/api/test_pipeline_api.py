"""The pipeline over GraphQL: jobs and stages, applications and their history, closing and
reopening, scorecards, closing reasons and templates; typed errors that write nothing;
permissions; a fixed number of queries whatever the page; rediscovery filters."""

from __future__ import annotations

from typing import Any

import pytest

from api.relay import to_global_id
from tests.conftest import World
from tests.query_count import counting_selects

E = "errors { field code message }"
JOB_FIELDS = """id title department status externalId targetHires onHoldSince
    hiringManager { id } recruiter { id }
    stages { id name kind position activeCount }
    counts { active hired rejected withdrew total }"""
APP_FIELDS = """id status outcome outcomeReason outcomeNote source version timeInStage
    stage { id name } job { id title } prospect { id name } recruiter { id }
    history { kind stage { name } fromStage { name } enteredAt exitedAt actor { id } source
              outcome outcomeReason }
    scorecards { id score interviewer { id } awaiting }
    scorecardSummary { submitted awaiting averageScore }"""
CREATE_JOB = f"""mutation($input: CreateJobInput!) {{ createJob(input: $input) {{
    job {{ {JOB_FIELDS} }} {E} }} }}"""
UPDATE_JOB = f"""mutation($input: UpdateJobInput!) {{ updateJob(input: $input) {{
    job {{ {JOB_FIELDS} }} {E} }} }}"""
SET_STATUS = f"""mutation($input: SetJobStatusInput!) {{ setJobStatus(input: $input) {{
    job {{ {JOB_FIELDS} }} {E} }} }}"""
ADD_STAGE = f"""mutation($input: AddJobStageInput!) {{ addJobStage(input: $input) {{
    stage {{ id name position }} job {{ {JOB_FIELDS} }} {E} }} }}"""
RENAME_STAGE = f"""mutation($input: RenameJobStageInput!) {{ renameJobStage(input: $input) {{
    stage {{ id name kind }} {E} }} }}"""
REORDER = f"""mutation($input: ReorderJobStagesInput!) {{ reorderJobStages(input: $input) {{
    job {{ stages {{ id }} }} {E} }} }}"""
REMOVE_STAGE = f"""mutation($input: RemoveJobStageInput!) {{ removeJobStage(input: $input) {{
    stage {{ id removedAt }} job {{ stages {{ id }} }} {E} }} }}"""
CREATE_APP = f"""mutation($input: CreateApplicationInput!) {{ createApplication(input: $input) {{
    application {{ {APP_FIELDS} }} {E} }} }}"""
MOVE = f"""mutation($input: MoveApplicationInput!) {{ moveApplication(input: $input) {{
    application {{ {APP_FIELDS} }} {E} }} }}"""
CLOSE = f"""mutation($input: CloseApplicationInput!) {{ closeApplication(input: $input) {{
    application {{ {APP_FIELDS} }} {E} }} }}"""
REOPEN = f"""mutation($input: ReopenApplicationInput!) {{ reopenApplication(input: $input) {{
    application {{ {APP_FIELDS} }} {E} }} }}"""
REQUEST = f"""mutation($input: RequestScorecardsInput!) {{ requestScorecards(input: $input) {{
    scorecards {{ id awaiting interviewer {{ id }} stage {{ name }} }} {E} }} }}"""
SUBMIT = f"""mutation($input: SubmitScorecardInput!) {{ submitScorecard(input: $input) {{
    scorecard {{ id score notes awaiting submittedAt application {{ id }} }} {E} }} }}"""
CREATE_REASON = f"""mutation($input: CreateClosingReasonInput!) {{
    createClosingReason(input: $input) {{ reason {{ id key label outcome requiresNote archived }}
    {E} }} }}"""
UPDATE_REASON = f"""mutation($input: UpdateClosingReasonInput!) {{
    updateClosingReason(input: $input) {{ reason {{ id key label archived }} {E} }} }}"""
SAVE_TEMPLATE = f"""mutation($input: SaveStageTemplateInput!) {{
    saveStageTemplate(input: $input) {{ template {{ id name isDefault stages {{ name kind }} }}
    {E} }} }}"""
CREATE_PROSPECT = """mutation($input: CreateProspectInput!) { createProspect(input: $input) {
    prospect { id } errors { field code } } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename id } }"""
AWAITING = """query($app: ID) { awaitingScorecards(applicationId: $app, first: 20) {
    nodes { id interviewer { id } application { id } } } }"""


def codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def uid(world: World, role: str) -> str:
    return to_global_id("User", world.members[role].user_id)


class Pipeline:
    """A few calls every test needs, as a given member."""

    def __init__(self, gql: Any, world: World, role: str = "recruiter") -> None:
        self.gql, self.world, self.token = gql, world, world.members[role].token

    async def run(self, query: str, name: str, input: dict[str, Any], *,
                  token: str | None = None) -> dict[str, Any]:
        body = await self.gql(query, {"input": input}, token=token or self.token)
        return body["data"][name]  # type: ignore[no-any-return]

    async def job(self, title: str = "Backend Engineer", **fields: Any) -> dict[str, Any]:
        payload = await self.run(CREATE_JOB, "createJob", {"job": {
            "title": title, "department": "Engineering",
            "hiringManagerId": uid(self.world, "hiring_manager"),
            "recruiterId": uid(self.world, "recruiter"), **fields}})
        assert payload["errors"] == []
        return payload["job"]  # type: ignore[no-any-return]

    async def prospect(self, name: str = "Ada") -> str:
        payload = await self.run(CREATE_PROSPECT, "createProspect", {"prospect": {
            "firstName": name, "source": "referral"}})
        return payload["prospect"]["id"]  # type: ignore[no-any-return]

    async def application(self, job: dict[str, Any], name: str = "Ada", **extra: Any
                          ) -> dict[str, Any]:
        payload = await self.run(CREATE_APP, "createApplication", {
            "prospectId": await self.prospect(name), "jobId": job["id"], **extra})
        assert payload["errors"] == []
        return payload["application"]  # type: ignore[no-any-return]

    async def node(self, gid: str, token: str | None = None) -> dict[str, Any] | None:
        from api.relay import from_global_id

        decoded = from_global_id(gid)
        fields = JOB_FIELDS if decoded and decoded[0] == "Job" else APP_FIELDS
        kind = "Job" if decoded and decoded[0] == "Job" else "Application"
        body = await self.gql(f"""query($id: ID!) {{ node(id: $id) {{ __typename
            ... on {kind} {{ {fields} }} }} }}""", {"id": gid}, token=token or self.token)
        return body["data"]["node"]  # type: ignore[no-any-return]


async def test_jobs_stages_and_listing(gql, world):
    p = Pipeline(gql, world)
    job = await p.job(targetHires=2, externalId="REQ-1")
    assert [(s["name"], s["kind"], s["position"]) for s in job["stages"]] == [
        ("Application review", "APPLICATION_REVIEW", 1), ("Phone screen", "SCREEN", 2),
        ("HM review", "HM_REVIEW", 3), ("Onsite interview", "INTERVIEW", 4), ("Offer", "OFFER", 5),
        ("Hired", "HIRED", 6)]
    assert (job["status"], job["targetHires"], job["externalId"]) == ("OPEN", 2, "REQ-1")
    assert job["hiringManager"]["id"] == uid(world, "hiring_manager")
    updated = await p.run(UPDATE_JOB, "updateJob", {"jobId": job["id"], "job": {
        "title": "Senior Backend Engineer", "coordinatorId": uid(world, "coordinator")}})
    assert updated["errors"] == [] and updated["job"]["title"] == "Senior Backend Engineer"
    held = await p.run(SET_STATUS, "setJobStatus", {"jobId": job["id"], "status": "ON_HOLD"})
    assert held["job"]["status"] == "ON_HOLD" and held["job"]["onHoldSince"] is not None
    await p.job("Designer", department="Design")
    body = await gql("""{ jobs(first: 10, filter: {departments: ["Design"]}) {
        nodes { title } } all: jobs(first: 10, filter: {statuses: [ON_HOLD]}) { nodes { title } }
        stageTemplates { name isDefault stages { kind } } }""", token=p.token)
    assert [j["title"] for j in body["data"]["jobs"]["nodes"]] == ["Designer"]
    assert [j["title"] for j in body["data"]["all"]["nodes"]] == ["Senior Backend Engineer"]
    assert [(t["name"], t["isDefault"], len(t["stages"]))
            for t in body["data"]["stageTemplates"]] == [("Default", True, 6)]
    saved = await p.run(SAVE_TEMPLATE, "saveStageTemplate", {"name": "Lean", "isDefault": True,
                        "stages": [{"name": "Screen", "kind": "SCREEN"},
                                   {"name": "Offer", "kind": "OFFER"}]})
    assert saved["errors"] == [] and saved["template"]["isDefault"] is True
    lean = await p.job("Lean job")
    assert [s["name"] for s in lean["stages"]] == ["Screen", "Offer"]
    bad = await p.run(CREATE_JOB, "createJob", {"job": {"title": " "}})
    assert codes(bad) == [(["input", "job", "title"], "REQUIRED")]


async def test_stage_editing_and_removal(gql, world):
    p = Pipeline(gql, world)
    job = await p.job()
    stages = job["stages"]
    await p.application(job, stageId=stages[1]["id"])
    refused = await p.run(REMOVE_STAGE, "removeJobStage", {"stageId": stages[1]["id"]})
    assert codes(refused) == [(["input", "stageId"], "STAGE_NOT_EMPTY")] and \
        refused["stage"] is None
    assert len((await p.node(job["id"]))["stages"]) == 6  # type: ignore[index]
    removed = await p.run(REMOVE_STAGE, "removeJobStage", {"stageId": stages[2]["id"]})
    assert removed["errors"] == [] and removed["stage"]["removedAt"] is not None
    added = await p.run(ADD_STAGE, "addJobStage", {"jobId": job["id"], "name": "Take-home",
                                                   "kind": "INTERVIEW", "position": 2})
    assert [s["name"] for s in added["job"]["stages"]] == [
        "Application review", "Take-home", "Phone screen", "Onsite interview", "Offer", "Hired"]
    renamed = await p.run(RENAME_STAGE, "renameJobStage", {"stageId": stages[0]["id"],
                                                           "name": "Inbox"})
    assert renamed["stage"]["name"] == "Inbox"
    order = [s["id"] for s in reversed(added["job"]["stages"])]
    reordered = await p.run(REORDER, "reorderJobStages", {"jobId": job["id"], "stageIds": order})
    assert [s["id"] for s in reordered["job"]["stages"]] == order
    partial = await p.run(REORDER, "reorderJobStages", {"jobId": job["id"],
                                                        "stageIds": order[:-1]})
    assert codes(partial) == [(["input", "stageIds"], "INVALID")]
    bad = await p.run(ADD_STAGE, "addJobStage", {"jobId": job["id"], "name": "X",
                                                 "kind": "OFFER", "position": 9})
    assert codes(bad) == [(["input", "position"], "OUT_OF_RANGE")]


async def test_an_application_moves_closes_and_reopens(gql, world):
    p = Pipeline(gql, world)
    job = await p.job()
    stages = job["stages"]
    app = await p.application(job)
    assert (app["status"], app["stage"]["name"], app["source"], app["version"]) == (
        "ACTIVE", "Application review", "referral", 1)
    assert app["recruiter"]["id"] == uid(world, "recruiter")
    moved = await p.run(MOVE, "moveApplication", {"applicationId": app["id"],
                                                  "stageId": stages[3]["id"]})
    moved = await p.run(MOVE, "moveApplication", {"applicationId": app["id"],
                                                  "stageId": stages[1]["id"],
                                                  "expectedVersion": 2})
    a = moved["application"]
    assert (a["stage"]["name"], a["version"]) == ("Phone screen", 3)
    assert [(h["kind"], h["stage"]["name"], h["fromStage"] and h["fromStage"]["name"])
            for h in a["history"]] == [("MOVE", "Application review", None),
                                       ("MOVE", "Onsite interview", "Application review"),
                                       ("MOVE", "Phone screen", "Onsite interview")]
    assert [h["exitedAt"] for h in a["history"]] == [a["history"][1]["enteredAt"],
                                                     a["history"][2]["enteredAt"], None]
    assert {h["actor"]["id"] for h in a["history"]} == {uid(world, "recruiter")}
    stale = await p.run(MOVE, "moveApplication", {"applicationId": app["id"],
                                                  "stageId": stages[2]["id"],
                                                  "expectedVersion": 2})
    assert codes(stale) == [(["input", "expectedVersion"], "CONFLICT")]
    no_reason = await p.run(CLOSE, "closeApplication", {"applicationId": app["id"],
                                                        "outcome": "REJECTED"})
    assert codes(no_reason) == [(["input", "reason"], "REQUIRED")]
    no_note = await p.run(CLOSE, "closeApplication", {"applicationId": app["id"],
                                                      "outcome": "WITHDREW", "reason": "other"})
    assert codes(no_note) == [(["input", "note"], "REQUIRED")]
    assert (await p.node(app["id"]))["version"] == 3  # type: ignore[index]
    closed = await p.run(CLOSE, "closeApplication", {"applicationId": app["id"],
                                                     "outcome": "REJECTED", "reason": "skills"})
    c = closed["application"]
    assert (c["status"], c["outcome"], c["outcomeReason"]) == ("REJECTED", "REJECTED", "skills")
    assert c["history"][-1]["kind"] == "CLOSE" and c["history"][-1]["outcomeReason"] == "skills"
    reopened = await p.run(REOPEN, "reopenApplication", {"applicationId": app["id"]})
    assert reopened["application"]["status"] == "ACTIVE"
    assert reopened["application"]["stage"]["name"] == "Phone screen"
    hired = await p.run(CLOSE, "closeApplication", {"applicationId": app["id"],
                                                    "outcome": "HIRED"})
    assert (hired["application"]["status"], hired["application"]["stage"]["name"]) == (
        "HIRED", "Hired")
    refused = await p.run(REOPEN, "reopenApplication", {"applicationId": app["id"]})
    assert codes(refused) == [(["input", "confirmHired"], "CONFIRMATION_REQUIRED")]
    assert (await p.node(app["id"]))["status"] == "HIRED"  # type: ignore[index]
    confirmed = await p.run(REOPEN, "reopenApplication", {"applicationId": app["id"],
                                                          "confirmHired": True})
    assert confirmed["application"]["status"] == "ACTIVE"
    counts = (await p.node(job["id"]))["counts"]  # type: ignore[index]
    assert counts == {"active": 1, "hired": 0, "rejected": 0, "withdrew": 0, "total": 1}
    other = await p.application(job, "Bea")
    await p.run(CLOSE, "closeApplication", {"applicationId": other["id"], "outcome": "WITHDREW",
                                            "reason": "timing"})
    body = await gql("""query($id: ID!) { node(id: $id) { ... on Job {
        active: applications(statuses: [ACTIVE]) { nodes { id } }
        gone: applications(statuses: [WITHDREW, REJECTED]) { nodes { id } }
        page: applications(first: 1) { nodes { id } pageInfo { hasNextPage endCursor } } } } }""",
                     {"id": job["id"]}, token=p.token)
    node = body["data"]["node"]
    assert [a["id"] for a in node["active"]["nodes"]] == [app["id"]]
    assert [a["id"] for a in node["gone"]["nodes"]] == [other["id"]]
    assert node["page"]["nodes"] == [{"id": app["id"]}] and node["page"]["pageInfo"]["hasNextPage"]
    rest = await gql("""query($id: ID!, $after: String) { node(id: $id) { ... on Job {
        applications(first: 5, after: $after) { nodes { id } pageInfo { hasNextPage } } } } }""",
                     {"id": job["id"], "after": node["page"]["pageInfo"]["endCursor"]},
                     token=p.token)
    assert rest["data"]["node"]["applications"] == {"nodes": [{"id": other["id"]}],
                                                    "pageInfo": {"hasNextPage": False}}


async def test_refusals_name_the_field_and_change_nothing(gql, world):
    p = Pipeline(gql, world)
    job, other = await p.job(), await p.job("Other")
    app = await p.application(job)
    before = await p.node(app["id"])
    wrong = await p.run(MOVE, "moveApplication", {"applicationId": app["id"],
                                                  "stageId": other["stages"][2]["id"]})
    assert codes(wrong) == [(["input", "stageId"], "STAGE_OF_ANOTHER_JOB")]
    same = await p.run(MOVE, "moveApplication", {"applicationId": app["id"],
                                                 "stageId": job["stages"][0]["id"]})
    assert codes(same) == [(["input", "stageId"], "INVALID")]
    duplicate = await p.run(CREATE_APP, "createApplication", {
        "prospectId": app["prospect"]["id"], "jobId": job["id"]})
    assert codes(duplicate) == [(["input", "prospectId"], "DUPLICATE")]
    garbage = await p.run(MOVE, "moveApplication", {"applicationId": "nonsense",
                                                    "stageId": job["stages"][1]["id"]})
    assert codes(garbage) == [(["input", "applicationId"], "NOT_FOUND")]
    after = await p.node(app["id"])
    assert {k: v for k, v in after.items() if k != "timeInStage"} == {  # type: ignore[union-attr]
        k: v for k, v in before.items() if k != "timeInStage"}  # type: ignore[union-attr]


async def test_scorecards(gql, world):
    p = Pipeline(gql, world)
    job = await p.job()
    app = await p.application(job, stageId=job["stages"][3]["id"])
    requested = await p.run(REQUEST, "requestScorecards", {
        "applicationId": app["id"],
        "interviewerIds": [uid(world, "hiring_manager"), uid(world, "viewer")]})
    assert [(s["awaiting"], s["stage"]["name"]) for s in requested["scorecards"]] == [
        (True, "Onsite interview")] * 2
    hm_card = requested["scorecards"][0]["id"]
    hm = world.members["hiring_manager"].token
    mine = await gql(AWAITING, {"app": None}, token=hm)
    assert [n["id"] for n in mine["data"]["awaitingScorecards"]["nodes"]] == [hm_card]
    per_app = await gql(AWAITING, {"app": app["id"]}, token=p.token)
    assert len(per_app["data"]["awaitingScorecards"]["nodes"]) == 2
    for score in (0, 5):
        bad = await p.run(SUBMIT, "submitScorecard", {"scorecardId": hm_card, "score": score},
                          token=hm)
        assert codes(bad) == [(["input", "score"], "OUT_OF_RANGE")]
    forbidden = await gql(SUBMIT, {"input": {"scorecardId": requested["scorecards"][1]["id"],
                                             "score": 3}}, token=hm, expect_errors=True)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await p.node(app["id"]))["scorecardSummary"] == {  # type: ignore[index]
        "submitted": 0, "awaiting": 2, "averageScore": None}
    done = await p.run(SUBMIT, "submitScorecard", {"scorecardId": hm_card, "score": 4,
                                                   "notes": "Strong"}, token=hm)
    assert (done["scorecard"]["score"], done["scorecard"]["awaiting"]) == (4, False)
    own = await p.run(SUBMIT, "submitScorecard", {"applicationId": app["id"], "score": 2})
    assert own["errors"] == []
    node = await p.node(app["id"])
    assert node["scorecardSummary"] == {"submitted": 2, "awaiting": 1,  # type: ignore[index]
                                        "averageScore": 3.0}
    assert (await gql(AWAITING, {"app": None}, token=hm))["data"]["awaitingScorecards"][
        "nodes"] == []


async def test_closing_reasons(gql, world):
    p = Pipeline(gql, world)
    body = await gql("""{ closingReasons(outcome: OFFER_DECLINED) { key requiresNote } }""",
                     token=p.token)
    assert [(r["key"], r["requiresNote"]) for r in body["data"]["closingReasons"]] == [
        ("counter_offer", False), ("accepted_other_offer", False), ("compensation", False),
        ("location", False), ("other", True)]
    created = await p.run(CREATE_REASON, "createClosingReason", {
        "outcome": "REJECTED", "key": "visa", "label": "Needs a visa we cannot sponsor"})
    assert created["errors"] == [] and created["reason"]["key"] == "visa"
    again = await p.run(CREATE_REASON, "createClosingReason", {
        "outcome": "REJECTED", "key": "visa", "label": "Again"})
    assert codes(again) == [(["input", "key"], "DUPLICATE")]
    hired = await p.run(CREATE_REASON, "createClosingReason", {
        "outcome": "HIRED", "key": "x", "label": "X"})
    assert codes(hired) == [(["input", "outcome"], "INVALID")]
    archived = await p.run(UPDATE_REASON, "updateClosingReason", {
        "reasonId": created["reason"]["id"], "archived": True})
    assert archived["reason"]["archived"] is True
    job = await p.job()
    app = await p.application(job)
    refused = await p.run(CLOSE, "closeApplication", {"applicationId": app["id"],
                                                      "outcome": "REJECTED", "reason": "visa"})
    assert codes(refused) == [(["input", "reason"], "NOT_FOUND")]


async def test_permissions(gql, world):
    p = Pipeline(gql, world)
    job = await p.job()
    app = await p.application(job)
    viewer = world.members["viewer"].token
    denied = await gql(CREATE_JOB, {"input": {"job": {"title": "X"}}}, token=viewer,
                       expect_errors=True)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    hm = world.members["hiring_manager"].token
    own = await p.run(MOVE, "moveApplication", {"applicationId": app["id"],
                                                "stageId": job["stages"][2]["id"]}, token=hm)
    assert own["errors"] == []  # the job's hiring manager decides
    hm_job = await gql(CREATE_JOB, {"input": {"job": {"title": "X"}}}, token=hm,
                       expect_errors=True)
    assert hm_job["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = await p.job("Not the HM's", hiringManagerId=uid(world, "admin"))
    other_app = await p.application(other, "Bo")
    not_theirs = await gql(MOVE, {"input": {"applicationId": other_app["id"],
                                            "stageId": other["stages"][1]["id"]}}, token=hm,
                           expect_errors=True)
    assert not_theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await p.node(other_app["id"]))["version"] == 1  # type: ignore[index]
    sourcer = world.members["sourcer"].token
    body = await gql("{ jobs(first: 5) { nodes { id } } }", token=sourcer)
    assert len(body["data"]["jobs"]["nodes"]) == 2


LIST = f"""{{ jobs(first: 3) {{ nodes {{ {JOB_FIELDS}
    applications(first: 5) {{ nodes {{ {APP_FIELDS} }} }} }} }} }}"""


async def test_queries_do_not_grow_with_the_page(gql, world, queue):
    p = Pipeline(gql, world)

    async def grow(jobs: int, per_job: int) -> None:
        for j in range(jobs):
            job = await p.job(f"Job {j}")
            for i in range(per_job):
                a = await p.application(job, f"P{j}-{i}")
                await p.run(MOVE, "moveApplication", {"applicationId": a["id"],
                                                      "stageId": job["stages"][3]["id"]})
                await p.run(REQUEST, "requestScorecards", {
                    "applicationId": a["id"], "interviewerIds": [uid(world, "admin")]})

    await grow(1, 1)
    await queue.drain()  # the moves' events: their dispatch is not the listing's statements
    await gql(LIST, token=p.token)  # warm caches (auth) outside the count
    with counting_selects() as small:
        await gql(LIST, token=p.token)
    await grow(2, 3)
    await queue.drain()
    with counting_selects() as large:
        body = await gql(LIST, token=p.token)
    assert sum(len(j["applications"]["nodes"]) for j in body["data"]["jobs"]["nodes"]) == 7
    # Every relation, the per-job applications pages included, is one batch per level.
    assert len(large) == len(small), (len(small), len(large))


async def test_rediscovery_filters_over_graphql(gql, world):
    p = Pipeline(gql, world)
    job = await p.job()
    hired = await p.application(job, "Hal")
    await p.run(CLOSE, "closeApplication", {"applicationId": hired["id"], "outcome": "HIRED"})
    silver = await p.application(job, "Sil", stageId=job["stages"][4]["id"])
    await p.run(CLOSE, "closeApplication", {"applicationId": silver["id"],
                                            "outcome": "OFFER_DECLINED", "reason": "compensation"})
    await p.prospect("Nobody")
    query = """query($f: ProspectFilterInput) { prospects(first: 10, filter: $f,
        orderBy: {field: NAME}) { nodes { name } } }"""

    async def names(f: dict[str, Any]) -> list[str]:
        body = await gql(query, {"f": f}, token=p.token)
        return [n["name"] for n in body["data"]["prospects"]["nodes"]]

    assert await names({"jobIds": [job["id"]]}) == ["Hal", "Sil"]
    assert await names({"silverMedalist": True}) == ["Sil"]
    assert await names({"hired": True}) == ["Hal"]
    assert await names({"hired": False, "stageReachedAtLeast": "OFFER"}) == ["Sil"]
    assert await names({"closingReasons": ["compensation"], "departments": ["Engineering"]}) == [
        "Sil"]
    assert await names({"jobIds": ["nonsense"]}) == []


@pytest.fixture
async def theirs(gql, other_world) -> dict[str, Any]:
    """Another tenant's job, stages, application, scorecard, reason and template."""
    p = Pipeline(gql, other_world)
    job = await p.job()
    app = await p.application(job)
    cards = await p.run(REQUEST, "requestScorecards", {"applicationId": app["id"],
                                                       "interviewerIds": [uid(other_world,
                                                                              "recruiter")]})
    body = await gql("{ closingReasons { id } stageTemplates { id } }", token=p.token)
    return {"job": job, "app": app, "card": cards["scorecards"][0]["id"],
            "reason": body["data"]["closingReasons"][0]["id"],
            "template": body["data"]["stageTemplates"][0]["id"],
            "prospect": app["prospect"]["id"], "user": uid(other_world, "recruiter"),
            "world": other_world}


async def test_another_tenants_ids_are_not_found(gql, world, theirs):
    p = Pipeline(gql, world)
    mine = await p.job()
    my_app = await p.application(mine)
    closed = await p.application(mine, "Cy")
    await p.run(CLOSE, "closeApplication", {"applicationId": closed["id"], "outcome": "REJECTED",
                                            "reason": "skills"})
    t_job, t_app = theirs["job"], theirs["app"]
    t_stage = t_job["stages"][1]["id"]
    for gid in (t_job["id"], t_stage, t_app["id"], theirs["card"], theirs["reason"],
                theirs["template"]):
        body = await gql(NODE, {"id": gid}, token=p.token)
        assert body["data"]["node"] is None, gid
    body = await gql("{ jobs(first: 50) { nodes { id } } }", token=p.token)
    assert [j["id"] for j in body["data"]["jobs"]["nodes"]] == [mine["id"]]
    body = await gql(AWAITING, {"app": t_app["id"]}, token=p.token)
    assert body["data"]["awaitingScorecards"]["nodes"] == []
    body = await gql("""query($hm: ID!, $job: ID!) {
        jobs(first: 10, filter: {hiringManagerId: $hm}) { nodes { id } }
        prospects(first: 10, filter: {jobIds: [$job]}) { nodes { id } } }""",
                     {"hm": theirs["user"], "job": t_job["id"]}, token=p.token)
    assert body["data"] == {"jobs": {"nodes": []}, "prospects": {"nodes": []}}
    cases = [
        (UPDATE_JOB, "updateJob", {"jobId": t_job["id"], "job": {"title": "X"}}, "jobId"),
        (SET_STATUS, "setJobStatus", {"jobId": t_job["id"], "status": "CLOSED"}, "jobId"),
        (ADD_STAGE, "addJobStage", {"jobId": t_job["id"], "name": "X", "kind": "SCREEN"},
         "jobId"),
        (RENAME_STAGE, "renameJobStage", {"stageId": t_stage, "name": "X"}, "stageId"),
        (REORDER, "reorderJobStages", {"jobId": t_job["id"],
                                       "stageIds": [s["id"] for s in t_job["stages"]]}, "jobId"),
        (REMOVE_STAGE, "removeJobStage", {"stageId": t_stage}, "stageId"),
        (CREATE_JOB, "createJob", {"job": {"title": "X", "hiringManagerId": theirs["user"]}},
         "hiringManagerId"),
        (CREATE_JOB, "createJob", {"job": {"title": "X"}, "templateId": theirs["template"]},
         "templateId"),
        (SAVE_TEMPLATE, "saveStageTemplate", {"templateId": theirs["template"], "name": "X",
                                              "stages": [{"name": "A", "kind": "SCREEN"}]},
         "templateId"),
        (CREATE_APP, "createApplication", {"prospectId": theirs["prospect"],
                                           "jobId": mine["id"]}, "prospectId"),
        (CREATE_APP, "createApplication", {"prospectId": await p.prospect("Zed"),
                                           "jobId": t_job["id"]}, "jobId"),
        (CREATE_APP, "createApplication", {"prospectId": await p.prospect("Yan"),
                                           "jobId": mine["id"], "recruiterId": theirs["user"]},
         "recruiterId"),
        (CREATE_APP, "createApplication", {"prospectId": await p.prospect("Xi"),
                                           "jobId": mine["id"], "stageId": t_stage}, "stageId"),
        (UPDATE_JOB, "updateJob", {"jobId": mine["id"],
                                   "job": {"coordinatorId": theirs["user"]}}, "coordinatorId"),
        (REOPEN, "reopenApplication", {"applicationId": closed["id"], "stageId": t_stage},
         "stageId"),
        (MOVE, "moveApplication", {"applicationId": t_app["id"], "stageId": t_stage},
         "applicationId"),
        (MOVE, "moveApplication", {"applicationId": my_app["id"], "stageId": t_stage},
         "stageId"),
        (CLOSE, "closeApplication", {"applicationId": t_app["id"], "outcome": "REJECTED",
                                     "reason": "skills"}, "applicationId"),
        (REOPEN, "reopenApplication", {"applicationId": t_app["id"]}, "applicationId"),
        (UPDATE_REASON, "updateClosingReason", {"reasonId": theirs["reason"], "label": "X"},
         "reasonId"),
        (REQUEST, "requestScorecards", {"applicationId": t_app["id"],
                                        "interviewerIds": [uid(world, "admin")]},
         "applicationId"),
        (REQUEST, "requestScorecards", {"applicationId": my_app["id"],
                                        "interviewerIds": [theirs["user"]]},
         "interviewerIds"),
        (SUBMIT, "submitScorecard", {"scorecardId": theirs["card"], "score": 3}, "scorecardId"),
        (SUBMIT, "submitScorecard", {"applicationId": t_app["id"], "score": 3},
         "applicationId"),
    ]
    token = world.admin.token
    for query, name, input, field in cases:
        payload = await p.run(query, name, input, token=token)
        assert [(field in e["field"], e["code"]) for e in payload["errors"]] == [
            (True, "NOT_FOUND")], (name, payload)
    untouched = await Pipeline(gql, theirs["world"]).node(t_app["id"])
    assert (untouched["version"], untouched["status"]) == (1, "ACTIVE")  # type: ignore[index]
    job = await Pipeline(gql, theirs["world"]).node(t_job["id"])
    assert (job["title"], job["status"], len(job["stages"])) == (  # type: ignore[index]
        "Backend Engineer", "OPEN", 6)


async def test_a_prospect_in_several_processes(gql, world, queue):
    p = Pipeline(gql, world)
    first, second = await p.job(), await p.job("Staff Engineer")
    prospect = await p.prospect("Multi")
    for job in (first, second):
        payload = await p.run(CREATE_APP, "createApplication", {"prospectId": prospect,
                                                                "jobId": job["id"]})
        assert payload["errors"] == []
    await queue.drain()  # the activity feed is written by the events' handlers
    body = await gql("""query($id: ID!) { node(id: $id) { ... on Prospect {
        engagementOwner { id } applications { job { title } status stage { name } }
        activities(kinds: [APPLICATION_CREATED]) { nodes { kind details } } } } }""",
                     {"id": prospect}, token=p.token)
    node = body["data"]["node"]
    assert [(a["job"]["title"], a["status"], a["stage"]["name"]) for a in node["applications"]
            ] == [("Backend Engineer", "ACTIVE", "Application review"),
                  ("Staff Engineer", "ACTIVE", "Application review")]
    assert node["engagementOwner"]["id"] == uid(world, "recruiter")
    assert sorted(a["details"]["jobTitle"] for a in node["activities"]["nodes"]) == [
        "Backend Engineer", "Staff Engineer"]
