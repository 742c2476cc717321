"""Pipeline board benchmark: `pipelineBoard` for one job with N active applications, first page
of 50 per stage, over HTTP on PostgreSQL; and the same answer by hand-written SQL on asyncpg.

    python bench/board_bench.py [--applications 2000] [--requests 300] [--noise-jobs 20]

Steps: make a throw-away database on --pg-url (trust auth), `talentgraph migrate up`,
`talentgraph create-tenant`; seed straight through asyncpg as the owner (COPY): one job with the
default six stages and --applications active applications spread over them (stage entries from
0 to 12 days ago, so red, yellow and green all occur; a history row each, two for those past the
first stage; awaited and submitted scorecards at the interview stage), plus --noise-jobs other
jobs of the tenant with --noise-applications each (the board must not read them); a tenant SLA
policy and a job override (so the policy tables are read as in production); VACUUM ANALYZE.
Start `talentgraph serve`, check the answer against the hand-written SQL (same cards in the
same order per stage), then one client POSTs the board query --requests times (after --warmup
requests): the board's jobs, summary, every column's count and passthrough, and its first 50
cards with prospect name, title, company, source, recruiter, time in stage, last activity,
scorecard summary and SLA status.

In the same run: the hand-written equivalent on one asyncpg connection (counts, passthrough and
a ROW_NUMBER() window over the stages with the cards' joins: three statements in a
transaction that sets the tenant like the app does), timed the same way, and the ratio.

Prints p50/p90/p99/max for both, the ratio of the p50s, PASS/FAIL against --p50 (80 ms) and
--p99 (200 ms). Exit status: 0 pass, 1 too slow, 2 wrong answers or a setup failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

from http_bench import (  # noqa: E402
    DEFAULT_PG,
    BenchError,
    Server,
    bench_tenant,
    free_port,
    run_bench,
    say,
    start_server,
    stop_all,
)

SLUG = "bench-board"
ADMIN = "admin@board.example.com"
KINDS = ["application_review", "screen", "hm_review", "interview", "offer", "hired"]
NAMES = ["Application review", "Phone screen", "HM review", "Onsite interview", "Offer", "Hired"]
# share of the active applications per stage
WEIGHTS = [0.40, 0.22, 0.12, 0.16, 0.07, 0.03]
QUERY = """query($filter: PipelineBoardFilter) {
  pipelineBoard(filter: $filter) {
    summary { activeCandidates totalApplicants averageTimeToHireSeconds }
    columns {
      key name count entered passedThrough passthrough
      applications(first: 50) {
        edges { node {
          applicationId prospectName title company source recruiter { id name }
          timeInStage lastActivityAt scorecardSummary { submitted awaiting averageScore }
          sla { color action ownerRole dueAt owner { id } }
        } }
        pageInfo { hasNextPage }
      }
    }
  }
}"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=2000)
    parser.add_argument("--noise-jobs", type=int, default=20)
    parser.add_argument("--noise-applications", type=int, default=500)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--p50", type=float, default=80.0, help="target p50 in ms")
    parser.add_argument("--p99", type=float, default=200.0, help="target p99 in ms")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server-workers", type=int, default=1,
                        help="API processes (`talentgraph serve --workers N`)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_bench(bench, parse_args(argv), "tg-board-bench-")


def bench(args: argparse.Namespace, data_dir: Path, servers: list[Server],
          stack: contextlib.ExitStack) -> int:
    env, tg, token = bench_tenant(args, data_dir, stack, slug=SLUG, name="Board bench",
                                  admin=ADMIN)
    url = env["DATABASE_URL"]
    started = time.monotonic()
    facts = asyncio.run(seed(url, args))
    say(f"seeded {args.applications} applications on the board's job and "
        f"{args.noise_jobs * args.noise_applications} on {args.noise_jobs} other jobs in "
        f"{time.monotonic() - started:.1f}s")
    stack.callback(stop_all, servers)
    port = free_port()
    server = start_server("talentgraph serve",
                          [*tg, "serve", "--host", "127.0.0.1", "--port", str(port),
                           "--workers", str(args.server_workers)],
                          env, port, data_dir / "server.log")
    servers.append(server)
    return asyncio.run(measure(args, server.url + "/graphql", f"Bearer {token}", url, facts))


# --- seeding ---------------------------------------------------------------------------------

def uid() -> uuid.UUID:
    return uuid.uuid4()


async def seed(url: str, args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    try:
        tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", SLUG)
        admin_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", ADMIN)
        jobs, stages, prospects, apps, moves, cards = [], [], [], [], [], []

        def add_job(title: str, count: int) -> uuid.UUID:
            job_id = uid()
            jobs.append((job_id, tenant_id, title, "Engineering", "", "open", admin_id, admin_id,
                         1, now - timedelta(days=90), now, now - timedelta(days=90)))
            ids = []
            for position, (kind, name) in enumerate(zip(KINDS, NAMES, strict=True), start=1):
                stage_id = uid()
                ids.append(stage_id)
                stages.append((stage_id, tenant_id, job_id, position, name, kind,
                               now - timedelta(days=90)))
            for n in range(count):
                index = rng.choices(range(6), WEIGHTS)[0]
                entered = now - timedelta(seconds=rng.uniform(0, 12 * 86400))
                created = entered - timedelta(days=index * rng.uniform(1, 5))
                pid, aid = uid(), uid()
                prospects.append((pid, tenant_id, f"First{n}", f"Last{n}",
                                  rng.choice(["Engineer", "Senior Engineer", "Staff Engineer"]),
                                  rng.choice(["Acme", "Globex", "Initech", "Umbrella"]), "{}",
                                  created, created, created, f"first{n} last{n}"))
                apps.append((aid, tenant_id, job_id, pid, ids[index], entered, "active",
                             rng.choice(["referral", "linkedin", "inbound"]), admin_id, created,
                             entered, index + 1, index + 1, 1))
                moves.append((uid(), tenant_id, aid, job_id, "move", None, ids[0], created,
                               created, 1))
                if index:
                    moves.append((uid(), tenant_id, aid, job_id, "move", ids[0], ids[index],
                                  entered, entered, 2))
                if KINDS[index] == "interview":
                    for k in range(2):
                        submitted = k == 0 and rng.random() < 0.5
                        cards.append((uid(), tenant_id, aid, job_id, ids[index], admin_id if k
                                      else uid(), rng.randint(1, 4) if submitted else None,
                                      entered, entered + timedelta(hours=5) if submitted
                                      else None))
            return job_id

        job_id = add_job("Board bench job", args.applications)
        for j in range(args.noise_jobs):
            add_job(f"Noise job {j}", args.noise_applications)
        # interviewers must not need to be members for a scorecard row: they are plain uuids
        await conn.copy_records_to_table("jobs", records=jobs, columns=[
            "id", "tenant_id", "title", "department", "location", "status", "hiring_manager_id",
            "recruiter_id", "target_hires", "created_at", "updated_at", "opened_at"])
        await conn.copy_records_to_table("job_stages", records=stages, columns=[
            "id", "tenant_id", "job_id", "position", "name", "kind", "created_at"])
        await conn.copy_records_to_table("prospects", records=prospects, columns=[
            "id", "tenant_id", "first_name", "last_name", "title", "company", "custom_fields",
            "created_at", "updated_at", "last_activity_at", "search_text"])
        await conn.copy_records_to_table("applications", records=apps, columns=[
            "id", "tenant_id", "job_id", "prospect_id", "stage_id", "stage_entered_at",
            "status", "source", "recruiter_id", "created_at", "updated_at", "furthest_position",
            "furthest_rank", "version"])
        await conn.copy_records_to_table("application_moves", records=moves, columns=[
            "id", "tenant_id", "application_id", "job_id", "kind", "from_stage_id",
            "to_stage_id", "occurred_at", "recorded_at", "seq"])
        await conn.copy_records_to_table("scorecards", records=cards, columns=[
            "id", "tenant_id", "application_id", "job_id", "stage_id", "interviewer_id",
            "score", "requested_at", "submitted_at"])
        await conn.execute(
            "INSERT INTO sla_policies (id, tenant_id, stage_kind, yellow_hours, red_hours, "
            "action, owner_role, updated_at) VALUES ($1, $2, 'screen', 72, 144, "
            "'needs_scheduling', 'recruiter', now())", uid(), tenant_id)
        await conn.execute(
            "INSERT INTO sla_job_overrides (id, tenant_id, job_id, stage_kind, yellow_hours, "
            "red_hours, action, owner_role, updated_at) VALUES ($1, $2, $3, 'offer', 24, 72, "
            "'needs_attention', 'recruiter', now())", uid(), tenant_id, job_id)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return {"tenant_id": tenant_id, "job_id": job_id}


# --- the hand-written equivalent -------------------------------------------------------------

# (kind, yellow hours, red hours, owner) in force for the bench job: defaults, the tenant's
# screen policy and the job's offer override, as seeded above.
POLICIES = [("application_review", 48, 96), ("screen", 72, 144), ("hm_review", 48, 72),
            ("interview", 72, 120), ("offer", 24, 72), ("hired", 168, 336)]
COUNTS_SQL = """
SELECT a.stage_id, a.status, count(*) AS n,
       sum(CASE WHEN a.status = 'hired' THEN extract(epoch FROM a.closed_at - a.created_at) END)
FROM applications a WHERE a.tenant_id = $1 AND a.job_id = $2 GROUP BY a.stage_id, a.status"""
PASSTHROUGH_SQL = """
SELECT m.to_stage_id, count(DISTINCT m.application_id),
       count(DISTINCT m.application_id) FILTER (WHERE a.furthest_position > s.position)
FROM application_moves m JOIN job_stages s ON s.id = m.to_stage_id
JOIN applications a ON a.id = m.application_id
WHERE m.tenant_id = $1 AND m.job_id = $2 AND m.kind = 'move' GROUP BY m.to_stage_id"""
PAGE_SQL = """
WITH kp(kind, y_cut, r_cut) AS (
  SELECT k, $3::timestamptz - make_interval(hours => y), $3::timestamptz - make_interval(hours => r)
  FROM unnest($4::text[], $5::int[], $6::int[]) AS p(k, y, r)),
x AS (
  SELECT a.id, a.stage_id, a.stage_entered_at, a.prospect_id, a.recruiter_id, a.source,
         a.updated_at, CASE WHEN a.stage_entered_at <= kp.r_cut THEN 0
                            WHEN a.stage_entered_at <= kp.y_cut THEN 1 ELSE 2 END AS urgency
  FROM applications a JOIN job_stages s ON s.id = a.stage_id JOIN kp ON kp.kind = s.kind
  WHERE a.tenant_id = $1 AND a.job_id = $2 AND a.status = 'active'),
n AS (
  SELECT x.*, row_number() OVER (PARTITION BY x.stage_id
                                 ORDER BY x.urgency, x.stage_entered_at, x.id) AS rn FROM x)
SELECT n.id, n.stage_id, n.urgency, n.source, n.stage_entered_at,
       p.first_name || ' ' || p.last_name AS name, p.title, p.company,
       greatest(p.last_activity_at, n.updated_at) AS last_activity, u.name AS recruiter,
       sc.submitted, sc.awaiting, sc.average
FROM n JOIN prospects p ON p.id = n.prospect_id
LEFT JOIN users u ON u.id = n.recruiter_id
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE c.score IS NOT NULL) AS submitted,
         count(*) FILTER (WHERE c.score IS NULL AND c.stage_id = n.stage_id) AS awaiting,
         avg(c.score) AS average
  FROM scorecards c WHERE c.tenant_id = $1 AND c.application_id = n.id) sc ON true
WHERE n.rn <= 50 ORDER BY n.stage_id, n.rn"""


async def hand_written(conn: Any, tenant_id: Any, job_id: Any) -> list[Any]:
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
        await conn.fetch(COUNTS_SQL, tenant_id, job_id)
        await conn.fetch(PASSTHROUGH_SQL, tenant_id, job_id)
        return list(await conn.fetch(PAGE_SQL, tenant_id, job_id, datetime.now(UTC),
                                     [p[0] for p in POLICIES], [p[1] for p in POLICIES],
                                     [p[2] for p in POLICIES]))


# --- measuring ---------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(label: str, samples: list[float]) -> str:
    return (f"{label:<28} p50 {pct(samples, 0.5):7.1f} ms  p90 {pct(samples, 0.9):7.1f} ms  "
            f"p99 {pct(samples, 0.99):7.1f} ms  max {max(samples):7.1f} ms  "
            f"mean {statistics.fmean(samples):7.1f} ms  (n={len(samples)})")


async def measure(args: argparse.Namespace, endpoint: str, auth: str, url: str,
                  facts: dict[str, Any]) -> int:
    import asyncpg
    import httpx

    from api.relay import to_global_id

    variables = {"filter": {"jobIds": [str(to_global_id("Job", facts["job_id"]))]}}
    body = {"query": QUERY, "variables": variables}
    conn = await asyncpg.connect(url)
    try:
        async with httpx.AsyncClient(headers={"authorization": auth}, timeout=30) as http:
            answer = (await http.post(endpoint, json=body)).json()
            expected = await hand_written(conn, facts["tenant_id"], facts["job_id"])
            check(answer, expected, args.applications)
            for _ in range(args.warmup):
                await http.post(endpoint, json=body)
            api: list[float] = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = await http.post(endpoint, json=body)
                api.append(1000 * (time.perf_counter() - started))
                if response.status_code != 200 or "errors" in response.json():
                    raise BenchError(f"failed request: {response.text[:500]}")
        for _ in range(args.warmup):
            await hand_written(conn, facts["tenant_id"], facts["job_id"])
        sql: list[float] = []
        for _ in range(args.requests):
            started = time.perf_counter()
            await hand_written(conn, facts["tenant_id"], facts["job_id"])
            sql.append(1000 * (time.perf_counter() - started))
    finally:
        await conn.close()
    say(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; one client, "
        f"{args.requests} requests after {args.warmup} warm-up ones")
    say(line("pipelineBoard over HTTP", api))
    say(line("hand-written SQL (asyncpg)", sql))
    say(f"ratio of p50s (GraphQL over HTTP / SQL): {pct(api, 0.5) / pct(sql, 0.5):.1f}x")
    passed = pct(api, 0.5) <= args.p50 and pct(api, 0.99) <= args.p99
    say(f"targets p50 <= {args.p50:g} ms, p99 <= {args.p99:g} ms -> "
        f"{'PASS' if passed else 'FAIL'}")
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        say("WARNING: the machine was busy; latencies are inflated. Rerun on a quiet machine.")
    return 0 if passed else 1


def check(answer: dict[str, Any], expected: list[Any], applications: int) -> None:
    """Same cards in the same order per stage as the hand-written SQL, 50 at most each."""
    if "errors" in answer:
        raise BenchError(f"the board answered errors: {answer['errors']}")
    board = answer["data"]["pipelineBoard"]
    if board["summary"]["activeCandidates"] != applications:
        raise BenchError(f"active candidates {board['summary']['activeCandidates']} != "
                         f"{applications}")
    from api.relay import to_global_id

    by_stage: dict[str, list[str]] = {}
    for row in expected:
        by_stage.setdefault(str(row["stage_id"]), []).append(
            str(to_global_id("Application", row["id"])))
    colours = set()
    for column in board["columns"]:
        got = [e["node"]["applicationId"] for e in column["applications"]["edges"]]
        if got != by_stage.get(column["key"], []):
            raise BenchError(f"column {column['name']}: the cards differ from the SQL's")
        if len(got) != min(50, column["count"]):
            raise BenchError(f"column {column['name']}: {len(got)} cards of {column['count']}")
        colours |= {e["node"]["sla"]["color"] for e in column["applications"]["edges"]}
    say(f"answers checked: {len(board['columns'])} columns, colours {sorted(colours)}")


if __name__ == "__main__":
    sys.exit(main())
