"""HTTP benchmark: `{ viewer { user { id } } }` through the real server against a bare
Starlette endpoint returning the same bytes, both under wrk.

    python bench/http_bench.py [--duration 10] [--connections 32] [--database sqlite|postgres]

Steps: install wrk when missing (apt-get), make a throw-away data folder (and, with
--database postgres, a throw-away database), seed the demo tenant, get a token for its admin,
start `talentgraph serve` and bench/bare_app.py on free loopback ports, check that the GraphQL
answer is a 200 with the viewer's user id and no errors, then warm up and measure each with
wrk (bench/post.lua) and print req/s, p50, p99, non-2xx and the ratio graphql/bare with
PASS/FAIL against --target (0.50).

Exit status: 0 pass, 1 ratio under the target, 2 wrong answers (non-2xx, other bodies,
socket errors or timeouts) or a setup failure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
QUERY = "{ viewer { user { id } } }"
DEMO_EMAIL = "ada@demo.talentgraph.dev"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"


class BenchError(Exception):
    pass


def say(message: str = "") -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# tools


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if not shutil.which("apt-get"):
        raise BenchError("wrk is not installed and there is no apt-get to install it")
    say("wrk not found: installing it from Debian's packages (apt-get install -y wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get install wrk did not provide a wrk binary")
    return found


def talentgraph_cmd() -> list[str]:
    """The `talentgraph` next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "talentgraph"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("talentgraph")
    if found:
        return [found]
    return [sys.executable, "-m", "api.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a fresh database per run


async def _pg_admin(server_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url.rstrip("/") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    name = f"tg_bench_{os.getpid()}_{int(time.time())}"
    asyncio.run(_pg_admin(server_url, f'CREATE DATABASE "{name}"'))
    say(f"created database {name} on {server_url}")
    try:
        yield server_url.rstrip("/") + f"/{name}"
    finally:
        asyncio.run(_pg_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        say(f"dropped database {name}")


# ---------------------------------------------------------------------------------------------
# servers


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def stop_all(servers: list[Server]) -> None:
    for server in reversed(servers):
        server.stop()


def start_server(name: str, cmd: list[str], env: dict[str, str], port: int,
                 log: Path, timeout: float = 60.0) -> Server:
    handle = log.open("wb")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    server = Server(name, proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with {proc.returncode}:\n{server.tail()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    server.stop()
    raise BenchError(f"{name} did not answer /healthz within {timeout:.0f}s:\n{server.tail()}")


def post(url: str, body: bytes, auth: str | None) -> tuple[int, str, bytes]:
    headers = {"content-type": "application/json"}
    if auth:
        headers["authorization"] = auth
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read()


def token_user_id(token: str) -> str:
    """The `sub` claim of the access token (no signature check: the server does that)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def check_graphql_answer(status: int, content_type: str, body: bytes, user_id: str) -> None:
    """A 200 JSON answer, no errors, and viewer.user.id is the token's user."""
    problem = None
    if status != 200:
        problem = f"status {status}"
    elif not content_type.startswith("application/json"):
        problem = f"content-type {content_type!r}"
    else:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            problem = "not a JSON object"
        elif doc.get("errors"):
            problem = "errors in the answer"
        else:
            gid = (((doc.get("data") or {}).get("viewer") or {}).get("user") or {}).get("id")
            decoded = ""
            if isinstance(gid, str):
                with contextlib.suppress(ValueError):
                    decoded = base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode()
            if not gid or user_id not in decoded or gid.encode() not in body:
                problem = f"viewer.user.id {gid!r} is not user {user_id}"
    if problem:
        raise BenchError(f"GraphQL answer is wrong ({problem}): {body[:500]!r}")


# ---------------------------------------------------------------------------------------------
# wrk


@dataclass
class WrkResult:
    endpoint: str
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non2xx: int
    bad_body: int
    socket_errors: int
    first_bad: str = ""
    server_cpu_s: float = 0.0
    wrk_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0
    duration_s: float = 0.0
    raw: str = field(default="", repr=False)

    @property
    def cpu_us_per_request(self) -> float:
        return 1e6 * self.server_cpu_s / self.requests if self.requests else 0.0

    @property
    def other_cpu_s(self) -> float:
        """CPU used meanwhile by everything but the server and wrk (noise on a shared box)."""
        return max(0.0, self.machine_cpu_s - self.server_cpu_s - self.wrk_cpu_s)

    @property
    def failures(self) -> int:
        return self.non2xx + self.bad_body + self.socket_errors


BENCH_LINE = re.compile(r"^BENCH (.*)$", re.MULTILINE)


def process_cpu_seconds(pid: int | None) -> float:
    """user+system CPU time of a process, all its threads, plus that of its live children
    (`serve --workers N` serves from child processes) (Linux /proc)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_cpu_seconds(int(child)) for child in children)


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine spent so far (every core, /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_wrk(wrk: str, endpoint: str, url: str, *, duration: float, connections: int,
            threads: int, auth: str | None, request_body: bytes, expect: bytes,
            timeout_s: int, server_pid: int | None = None) -> WrkResult:
    env = {**os.environ, "BENCH_BODY": request_body.decode(), "BENCH_AUTH": auth or "",
           "BENCH_EXPECT": expect.decode()}
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
           f"--timeout={timeout_s}s", "--latency", "-s", str(BENCH_DIR / "post.lua"), url]
    cpu_before = process_cpu_seconds(server_pid)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_before = machine_busy_seconds()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    cpu = process_cpu_seconds(server_pid) - cpu_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine = machine_busy_seconds() - machine_before
    wrk_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    out = done.stdout + done.stderr
    match = BENCH_LINE.search(out)
    if done.returncode != 0 or not match:
        raise BenchError(f"wrk failed on {endpoint} ({done.returncode}):\n{out}")
    values = dict(item.split("=", 1) for item in match.group(1).split())
    first_bad = re.search(r"^BENCH_FIRST_BAD (.*)$", out, re.MULTILINE)
    return WrkResult(
        endpoint=endpoint, rps=float(values["rps"]), p50_ms=float(values["p50_ms"]),
        p90_ms=float(values["p90_ms"]), p99_ms=float(values["p99_ms"]),
        max_ms=float(values["max_ms"]), requests=int(values["requests"]),
        non2xx=int(values["non2xx"]), bad_body=int(values["bad_body"]),
        socket_errors=sum(int(values[k]) for k in
                          ("err_connect", "err_read", "err_write", "err_timeout")),
        first_bad=first_bad.group(1) if first_bad else "", server_cpu_s=cpu,
        wrk_cpu_s=wrk_cpu, machine_cpu_s=machine, duration_s=float(values["duration_s"]), raw=out)


def print_table(rows: list[WrkResult]) -> None:
    header = (f"{'endpoint':<10} {'req/s':>10} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} "
              f"{'max ms':>9} {'requests':>9} {'non-2xx':>8} {'bad body':>9} {'sock err':>9} "
              f"{'srv us/req':>10} {'srv CPU':>7} {'wrk CPU':>7} {'others':>7}")
    say(header)
    say("-" * len(header))
    for r in rows:
        say(f"{r.endpoint:<10} {r.rps:>10.1f} {r.p50_ms:>9.2f} {r.p90_ms:>9.2f} "
            f"{r.p99_ms:>9.2f} {r.max_ms:>9.2f} {r.requests:>9} {r.non2xx:>8} "
            f"{r.bad_body:>9} {r.socket_errors:>9} {r.cpu_us_per_request:>10.0f} "
            f"{r.server_cpu_s / r.duration_s:>7.0%} {r.wrk_cpu_s / r.duration_s:>7.0%} "
            f"{r.other_cpu_s / r.duration_s:>7.0%}")


# ---------------------------------------------------------------------------------------------
# profile (optional): py-spy on the GraphQL server during an extra, unmeasured wrk run


def profile_run(args: argparse.Namespace, wrk: str, server: Server, auth: str,
                request_body: bytes, expect: bytes) -> None:
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        raise BenchError("--profile needs py-spy (pip install py-spy)")
    out = Path(args.profile).resolve()
    out.mkdir(parents=True, exist_ok=True)
    collapsed = out / f"graphql-{args.database}.collapsed"
    seconds = max(1, round(args.duration))
    say(f"\nprofiling the GraphQL server (pid {server.proc.pid}) with py-spy for {seconds}s ...")
    spy = subprocess.Popen(
        [pyspy, "record", "--pid", str(server.proc.pid), "--rate", str(args.profile_rate),
         "--duration", str(seconds + 1), "--format", "raw", "--output", str(collapsed),
         "--nonblocking"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.5)
    result = run_wrk(wrk, "graphql", server.url + "/graphql", duration=seconds,
                     connections=args.connections, threads=args.threads, auth=auth,
                     request_body=request_body, expect=expect, timeout_s=args.timeout)
    spy_out, _ = spy.communicate(timeout=60)
    if spy.returncode != 0 or not collapsed.exists():
        raise BenchError(f"py-spy failed ({spy.returncode}):\n{spy_out}")
    say(f"(under the profiler: {result.rps:.0f} req/s; not comparable with the table)")
    sys.path.insert(0, str(BENCH_DIR))
    from profile_summary import summarise

    say(summarise(collapsed.read_text()))
    say(f"collapsed stacks: {collapsed}  (flamegraph.pl or speedscope.app read them)")


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1,
                        help="wrk threads (1 leaves the second core to the server)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG,
                        help="PostgreSQL server (trust auth) where a fresh database is made")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measured runs per endpoint, alternating; medians are compared")
    parser.add_argument("--target", type=float, default=0.50, help="required graphql/bare ratio")
    parser.add_argument("--log-level", default="WARNING",
                        help="LOG_LEVEL of the GraphQL server (INFO logs every request)")
    parser.add_argument("--timeout", type=int, default=5, help="wrk per-request timeout, s")
    parser.add_argument("--profile", metavar="DIR",
                        help="after measuring, run py-spy on the GraphQL server during another "
                             "run and print where the time goes (collapsed stacks into DIR)")
    parser.add_argument("--profile-rate", type=int, default=250, help="py-spy samples/s")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output too")
    return parser.parse_args(argv)


BenchFunction = Callable[[argparse.Namespace, Path, list[Server], contextlib.ExitStack], int]


def run_bench(bench: BenchFunction, args: argparse.Namespace, prefix: str,
              keep: bool = False) -> int:
    """Every bench script's main: a throw-away data folder, servers stopped and databases
    dropped on the way out (through the exit stack), BenchError reported as exit status 2."""
    servers: list[Server] = []
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with contextlib.ExitStack() as stack:
            return bench(args, data_dir, servers, stack)
    except BenchError as exc:
        say(f"\nFAIL: {exc}")
        return 2
    finally:
        if keep:
            say(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def bench_tenant(args: argparse.Namespace, data_dir: Path, stack: contextlib.ExitStack, *,
                 slug: str, name: str, admin: str) -> tuple[dict[str, str], list[str], str]:
    """A throw-away PostgreSQL database on args.pg_url, migrated, with a tenant and its admin:
    the servers' environment, the talentgraph command and the admin's access token."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "TALENTGRAPH_ENV", "MIGRATION_DATABASE_URL")}
    env["TALENTGRAPH_DATA_DIR"] = str(data_dir)
    env["LOG_LEVEL"] = args.log_level
    tg = talentgraph_cmd()
    env["DATABASE_URL"] = stack.enter_context(postgres_database(args.pg_url))
    say(run([*tg, "migrate", "up"], env, "talentgraph migrate up").strip())
    run([*tg, "create-tenant", "--slug", slug, "--name", name, "--admin-email", admin,
         "--admin-password", "bench-password-123"], env, "talentgraph create-tenant")
    token = run([*tg, "token", "--tenant", slug, "--email", admin], env,
                "talentgraph token").strip().splitlines()[-1]
    return env, tg, token


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(bench, args, "tg-bench-", keep=args.keep)


def bench(args: argparse.Namespace, data_dir: Path, servers: list[Server],
          stack: contextlib.ExitStack) -> int:
    wrk = ensure_wrk()
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "TALENTGRAPH_ENV", "MIGRATION_DATABASE_URL")}
    env["TALENTGRAPH_DATA_DIR"] = str(data_dir)
    env["LOG_LEVEL"] = args.log_level
    tg = talentgraph_cmd()
    if args.database == "postgres":
        env["DATABASE_URL"] = stack.enter_context(postgres_database(args.pg_url))
        say(run([*tg, "migrate", "up"], env, "talentgraph migrate up").strip())
    else:
        env["DATABASE_URL"] = f"sqlite://{data_dir / 'talentgraph.sqlite3'}"
    # Registered after the database: servers stop before it is dropped.
    stack.callback(stop_all, servers)
    run([*tg, "demo"], env, "talentgraph demo")
    token = run([*tg, "token", "--tenant", "demo", "--email", DEMO_EMAIL], env,
                "talentgraph token").strip().splitlines()[-1]
    auth = f"Bearer {token}"
    user_id = token_user_id(token)
    say(f"seeded the demo tenant in {data_dir} ({args.database}); token for {DEMO_EMAIL}")

    port = free_port()
    per_request = logging.getLevelName(args.log_level.upper()) == logging.INFO or \
        args.log_level.upper() == "DEBUG"
    say(f"GraphQL server LOG_LEVEL={args.log_level} (the setting used for this run: "
        f"{'one JSON log line per request' if per_request else 'per-request info logs off'})")
    graphql = start_server("talentgraph serve",
                           [*tg, "serve", "--host", "127.0.0.1", "--port", str(port)],
                           env, port, data_dir / "server.log")
    servers.append(graphql)
    request_body = json.dumps({"query": QUERY}, separators=(",", ":")).encode()
    status, content_type, answer = post(graphql.url + "/graphql", request_body, auth)
    check_graphql_answer(status, content_type, answer, user_id)
    say(f"GraphQL answer: {status} {content_type} {answer.decode()}")

    body_file = data_dir / "bare_body.json"
    body_file.write_bytes(answer)
    bare_port = free_port()
    bare = start_server("bench/bare_app.py",
                        [sys.executable, str(BENCH_DIR / "bare_app.py"), "--host", "127.0.0.1",
                         "--port", str(bare_port), "--body-file", str(body_file)],
                        env, bare_port, data_dir / "bare.log")
    servers.append(bare)
    bare_status, bare_type, bare_answer = post(bare.url + "/graphql", request_body, None)
    if (bare_status, bare_type, bare_answer) != (200, "application/json", answer):
        raise BenchError(f"bare endpoint answers {bare_status} {bare_type} {bare_answer!r}")

    say(f"\n{wrk_version}; {os.cpu_count()} CPUs; wrk -t{args.threads} -c{args.connections}, "
        f"{args.warmup:g}s warm-up + {args.duration:g}s measured per endpoint, "
        f"{args.rounds} round(s)")
    say(f"query: {QUERY}   (POST /graphql, Authorization: Bearer, application/json)\n")
    targets = [("graphql", graphql.url + "/graphql", auth, graphql.proc.pid),
               ("bare", bare.url + "/graphql", None, bare.proc.pid)]
    common = dict(connections=args.connections, threads=args.threads, request_body=request_body,
                  expect=answer, timeout_s=args.timeout)
    for name, url, credential, _ in targets:
        if args.warmup > 0:
            warm = run_wrk(wrk, name, url, duration=args.warmup, auth=credential, **common)
            if warm.failures:
                raise BenchError(f"warm-up of {name}: {warm.failures} failures; first: "
                                 f"{warm.first_bad}\n{warm.raw}")
    results: dict[str, list[WrkResult]] = {"graphql": [], "bare": []}
    rows = []
    for _ in range(args.rounds):
        for name, url, credential, pid in targets:
            result = run_wrk(wrk, name, url, duration=args.duration, auth=credential,
                             server_pid=pid, **common)
            results[name].append(result)
            rows.append(result)
            if args.verbose:
                say(result.raw)
    print_table(rows)

    # The server must still answer correctly after the load (token, session cache).
    status, content_type, after = post(graphql.url + "/graphql", request_body, auth)
    check_graphql_answer(status, content_type, after, user_id)

    g_rps = statistics.median(r.rps for r in results["graphql"])
    b_rps = statistics.median(r.rps for r in results["bare"])
    ratio = g_rps / b_rps if b_rps else 0.0
    passed = ratio >= args.target
    say(f"\nratio graphql/bare req/s = {g_rps:.1f} / {b_rps:.1f} = {ratio:.3f}  "
        f"-> {'PASS' if passed else 'FAIL'} (target >= {args.target:.2f})")
    g_us = statistics.median(r.cpu_us_per_request for r in results["graphql"])
    b_us = statistics.median(r.cpu_us_per_request for r in results["bare"])
    if g_us and b_us:
        say(f"server CPU per request: graphql {g_us:.0f} us, bare {b_us:.0f} us -> "
            f"{b_us / g_us:.3f} = the ratio to expect when both servers are CPU-bound "
            "(informational; less sensitive to other load)")
    others = max(r.other_cpu_s / r.duration_s for r in rows)
    if others > 0.25:
        say(f"WARNING: other programs used up to {others:.0%} of a core during the runs "
            f"({os.cpu_count()} cores here): req/s and latencies are disturbed; rerun when quiet")
    failures = [r for r in rows if r.failures]
    for r in failures:
        say(f"FAIL: {r.endpoint}: {r.non2xx} non-2xx, {r.bad_body} unexpected bodies, "
            f"{r.socket_errors} socket errors/timeouts; first: {r.first_bad or '-'}")
    if not failures:
        say("all responses were 2xx with the expected body (viewer.user.id of the token's user)")
    if args.profile:
        profile_run(args, wrk, graphql, auth, request_body, answer)
    if failures:
        return 2
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
