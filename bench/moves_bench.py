"""Pipeline moves benchmark: moving N applications one by one through the GraphQL API.

    python bench/moves_bench.py [--count 1000] [--clients 1] [--target 200]

Steps: make a throw-away PostgreSQL database on --pg-url (trust auth), `talentgraph migrate up`,
`talentgraph create-tenant` (a tenant and its admin), start `talentgraph serve`, then through
the API: create a job (the default six stages), --count prospects and an application for each
(setup, not measured). Measured: each application moved once (`moveApplication` to the
second stage, selecting the application's id, stage and version), one request at a time per
client over a kept-alive connection, --clients clients splitting the applications (1: strictly
one by one). Each move is a transaction that locks the application, appends its history row,
updates the cached stage and writes the outbox event. The event's activity-feed handler runs in
the server process by default (no REDIS_URL, the embedded default), where it adds to the cost
of each move; --jobs redis runs it in a `talentgraph worker` on --redis-url instead.

Checks afterwards, on a sample, that each application is in the second stage at version 2 with
two history entries and one stage_changed activity in its prospect's feed. Prints moves/s,
p50/p90/p99/max latency, CPU per move, and PASS/FAIL against --target (200 moves/s).
Exit status: 0 pass, 1 too slow, 2 wrong answers or a setup failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
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
    process_cpu_seconds,
    run_bench,
    say,
    start_server,
    stop_all,
)
from raw_http import RawHttp  # noqa: E402

SLUG = "bench-moves"
ADMIN = "admin@moves.example.com"
CREATE_JOB = """mutation { createJob(input: {job: {title: "Bench job"}}) {
    job { id stages { id } } errors { code } } }"""
CREATE_PROSPECT = """mutation($input: CreateProspectInput!) { createProspect(input: $input) {
    prospect { id } errors { code } } }"""
CREATE_APP = """mutation($input: CreateApplicationInput!) { createApplication(input: $input) {
    application { id } errors { field code } } }"""
MOVE = """mutation($input: MoveApplicationInput!) { moveApplication(input: $input) {
    application { id version stage { id } } errors { field code message } } }"""
CHECK = """query($id: ID!) { node(id: $id) { ... on Application { version stage { id }
    history { kind } prospect { activities(kinds: [STAGE_CHANGED]) { nodes { kind } } } } } }"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="applications to move")
    parser.add_argument("--clients", type=int, default=1, help="concurrent movers")
    parser.add_argument("--setup-clients", type=int, default=8)
    parser.add_argument("--target", type=float, default=200.0, help="moves/s to pass")
    parser.add_argument("--server-workers", type=int, default=1,
                        help="API processes (`talentgraph serve --workers N`)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--jobs", choices=["inprocess", "redis"], default="inprocess",
                        help="where event handlers (the activity feed) run: in the server "
                             "process (the embedded default) or in a `talentgraph worker` on "
                             "--redis-url (the production layout)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                              "redis://127.0.0.1:6379/12"))
    parser.add_argument("--profile", metavar="FILE", default=None,
                        help="py-spy the server during the measured moves into FILE (collapsed "
                             "stacks; summarise with bench/profile_summary.py)")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_bench(bench, parse_args(argv), "tg-moves-bench-")


def bench(args: argparse.Namespace, data_dir: Path, servers: list[Server],
          stack: contextlib.ExitStack) -> int:
    env, tg, token = bench_tenant(args, data_dir, stack, slug=SLUG, name="Moves bench",
                                  admin=ADMIN)
    stack.callback(stop_all, servers)
    if args.jobs == "redis":
        env["REDIS_URL"] = args.redis_url
        worker_log = data_dir / "worker.log"
        handle = worker_log.open("wb")
        proc = subprocess.Popen([*tg, "worker"], env=env, stdout=handle,
                                stderr=subprocess.STDOUT)
        handle.close()
        servers.append(Server("talentgraph worker", proc, "", worker_log))
    port = free_port()
    server = start_server("talentgraph serve",
                          [*tg, "serve", "--host", "127.0.0.1", "--port", str(port),
                           "--workers", str(args.server_workers)],
                          env, port, data_dir / "server.log")
    servers.append(server)
    pids = {s.name: s.proc.pid for s in servers}
    return asyncio.run(measure(args, server.url + "/graphql", f"Bearer {token}", pids))


async def gql(client: Any, endpoint: str, query: str, variables: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    response = await client.post(endpoint, json={"query": query, "variables": variables})
    if response.status_code != 200:
        raise BenchError(f"HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    if body.get("errors"):
        raise BenchError(f"GraphQL errors: {body['errors']}")
    return body["data"]  # type: ignore[no-any-return]


def _payload(data: dict[str, Any], name: str) -> dict[str, Any]:
    payload = data[name]
    if payload["errors"]:
        raise BenchError(f"{name}: {payload['errors']}")
    return payload  # type: ignore[no-any-return]


async def measure(args: argparse.Namespace, endpoint: str, auth: str,
                  pids: dict[str, int]) -> int:
    import httpx

    headers = {"authorization": auth}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        job = _payload(await gql(client, endpoint, CREATE_JOB), "createJob")["job"]
    target = job["stages"][1]["id"]
    say(f"setup: {args.count} prospects and applications through the API "
        f"({args.setup_clients} clients) ...")
    started = time.perf_counter()
    ids: list[str] = []

    async def setup(worker: int) -> None:
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            for i in range(worker, args.count, args.setup_clients):
                prospect = _payload(await gql(client, endpoint, CREATE_PROSPECT, {"input": {
                    "prospect": {"firstName": f"Bench {i}", "emails": [f"b{i}@bench.dev"]}}}),
                    "createProspect")["prospect"]
                app = _payload(await gql(client, endpoint, CREATE_APP, {"input": {
                    "prospectId": prospect["id"], "jobId": job["id"]}}), "createApplication")
                ids.append(app["application"]["id"])

    await asyncio.gather(*(setup(w) for w in range(args.setup_clients)))
    say(f"setup took {time.perf_counter() - started:.1f}s")

    latencies: list[float] = []

    async def mover(slice_: list[str]) -> None:
        async with RawHttp(endpoint, headers) as client:
            for app_id in slice_:
                t0 = time.perf_counter()
                status, body = await client.post_json({"query": MOVE, "variables": {"input": {
                    "applicationId": app_id, "stageId": target}}})
                latencies.append(time.perf_counter() - t0)
                if status != 200 or body.get("errors"):
                    raise BenchError(f"HTTP {status}: {body}")
                moved = _payload(body["data"], "moveApplication")
                if moved["application"]["stage"]["id"] != target:
                    raise BenchError(f"{app_id} did not move: {moved}")

    clients = max(1, args.clients)
    slices = [ids[i::clients] for i in range(clients)]
    load_before = os.getloadavg()[0]
    cpu_before = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
    spy = None
    if args.profile:
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid",  # noqa: ASYNC220 (once, before measuring)
                                str(pids["talentgraph serve"]), "--format", "raw", "--rate",
                                "250", "--nonblocking", "-o", args.profile],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await asyncio.sleep(1)
    started, client_cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(mover(s) for s in slices))
    elapsed, client_cpu = time.perf_counter() - started, time.process_time() - client_cpu
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=30)
        say(f"profile written to {args.profile}")

    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        deadline = time.monotonic() + 60
        while True:  # the handlers of the last moves (the activity feed) are done
            node = (await gql(client, endpoint, CHECK, {"id": ids[-1]}))["node"]
            if node["prospect"]["activities"]["nodes"]:
                break
            if time.monotonic() > deadline:
                raise BenchError("the last move's activity never reached the feed")
            await asyncio.sleep(0.2)
        cpu = {name: process_cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        for app_id in ids[:: max(1, len(ids) // 50)]:  # a sample of 50: moved exactly once
            node = (await gql(client, endpoint, CHECK, {"id": app_id}))["node"]
            if (node["version"], node["stage"]["id"], len(node["history"]),
                    len(node["prospect"]["activities"]["nodes"])) != (2, target, 2, 1):
                raise BenchError(f"{app_id} is not as expected after one move: {node}")

    ms = sorted(x * 1000 for x in latencies)
    rate = len(ms) / elapsed
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [ms[0]] * 99
    say(f"\n{os.cpu_count()} CPUs, load average {load_before:.1f} before the run; "
        f"{clients} client(s); event handlers: {args.jobs}")
    say(f"{len(ms)} moves in {elapsed:.2f}s: {rate:.0f} moves/s; latency p50 {q[49]:.1f} ms, "
        f"p90 {q[89]:.1f} ms, p99 {q[98]:.1f} ms, max {ms[-1]:.1f} ms")
    say("CPU per move: " + ", ".join(f"{name} {1000 * used / len(ms):.2f} ms"
                                     for name, used in cpu.items())
        + f", this client {1000 * client_cpu / len(ms):.2f} ms"
        + " (what a move costs an idle machine; PostgreSQL not included)")
    passed = rate >= args.target
    say(f"target >= {args.target:g} moves/s -> {'PASS' if passed else 'FAIL'}")
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        say("WARNING: the machine was busy (load above its CPU count): rerun on a quiet one.")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
