"""In-process cost of each stage of the GraphQL request path, without sockets or wrk.

    python bench/path_bench.py [--database sqlite|postgres] [--number 2000] [--repeat 7]
    py-spy record -o app.svg -- python bench/path_bench.py --loop-app 20

Each stage is run `--number` times in a row, `--repeat` times, and the best (lowest) mean of
the process's CPU time is reported, so other work on the machine inflates the numbers little:
this is what a stage costs when it has a core to itself. The last rows call the ASGI
applications directly (the real app and bench/bare_app.py) with a synthetic POST /graphql,
which is everything a request costs except uvicorn's HTTP parsing and the socket writes.

It needs the same setup as the HTTP bench (a throw-away data folder or database, the demo
tenant, a token) and prints a table: stage, microseconds per call, share of the real app's
per-request cost.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

QUERY = "{ viewer { user { id } } }"
DEMO_EMAIL = "ada@demo.talentgraph.dev"


async def best_of(fn: Callable[[], Any], number: int, repeat: int, is_async: bool) -> float:
    """Lowest mean CPU seconds per call over `repeat` batches of `number` calls.

    CPU time of this process (all threads), not wall time: time spent descheduled while other
    programs run does not count, which keeps the numbers steady on a busy machine."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        if is_async:
            for _ in range(number):
                await fn()
        else:
            for _ in range(number):
                fn()
        best = min(best, (time.process_time() - started) / number)
    return best


def asgi_call(app: Any, body: bytes, headers: list[tuple[bytes, bytes]]
              ) -> Callable[[], Awaitable[None]]:
    scope_headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                     (b"content-length", str(len(body)).encode()), *headers]

    async def call() -> None:
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
                 "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/graphql",
                 "raw_path": b"/graphql", "query_string": b"", "root_path": "",
                 "headers": scope_headers, "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000), "state": {}}
        await app(scope, receive, send)
        if status != 200:
            raise RuntimeError(f"status {status}")

    return call


async def measure(args: argparse.Namespace, env: dict[str, str]) -> None:
    os.environ.update(env)
    from domain.core import config, db, jobs, migrations

    settings = config.load_settings()
    config.configure(settings)
    await migrations.upgrade(settings)
    await db.open_db(settings)
    from workers.queue import InProcessQueue

    jobs.install(InProcessQueue())
    try:
        await stages(args, settings)
    finally:
        await db.close_db()


async def stages(args: argparse.Namespace, settings: Any) -> None:
    import orjson
    from bare_app import create_app as create_bare_app

    from api import logs
    from api.app import create_app
    from api.context import Context
    from domain.core import clock, security
    from domain.demo import service as demo
    from domain.tenancy import sessions

    members = await demo.recreate()
    token = next(m.access_token for m in members if m.email == DEMO_EMAIL)
    app = create_app(settings, manage_db=False)
    endpoint = next(getattr(r, "endpoint") for r in app.routes  # noqa: B009
                    if getattr(r, "path", "") == "/graphql")
    schema = endpoint.__self__.schema  # GraphQLEndpoint.endpoint is a bound method
    scope = await sessions.scope_from_bearer(token)
    result = await schema.execute(QUERY, context_value=Context(request_id="x", scope=scope))
    if result.errors:
        raise SystemExit(f"the query fails: {result.errors}")
    answer = orjson.dumps({"data": result.data})
    body = orjson.dumps({"query": QUERY})
    auth = [(b"authorization", f"Bearer {token}".encode())]
    graphql_call = asgi_call(app, body, auth)
    bare_call = asgi_call(create_bare_app(answer), body, [])
    await graphql_call()
    if args.loop_app:
        deadline = time.monotonic() + args.loop_app
        calls = 0
        while time.monotonic() < deadline:
            for _ in range(100):
                await graphql_call()
            calls += 100
        print(f"called the app {calls} times in {args.loop_app:g}s")
        return

    null_log = logging.StreamHandler(io.StringIO())
    null_log.setFormatter(logs.JsonFormatter())
    info_log = logging.getLogger("talentgraph.bench.info")
    info_log.handlers[:] = [null_log]
    info_log.propagate = False
    info_log.setLevel(logging.INFO)
    quiet_log = logging.getLogger("talentgraph.bench.quiet")
    quiet_log.setLevel(logging.WARNING)

    def forget_and_check() -> Awaitable[Any]:
        sessions.forget_cached_auth()
        return sessions.scope_from_bearer(token)

    async def execute() -> None:
        await schema.execute(QUERY, context_value=Context(request_id="x", scope=scope))

    # Reference points for suggestions (not product code paths): graphql-core executing the
    # already-parsed document directly, as strawberry does inside Schema.execute, and a scope
    # looked up in a dict by token, as a per-token cache would.
    from graphql import execute as gql_execute
    from graphql import parse as gql_parse
    from strawberry.schema._graphql_core import execution_context_class_kwargs

    document = gql_parse(QUERY)
    executor = execution_context_class_kwargs(schema.execution_context_class)

    def core_execute() -> None:
        outcome = gql_execute(schema._schema, document,
                              context_value=Context(request_id="x", scope=scope), **executor)
        errors = getattr(outcome, "errors", None)
        if errors or not hasattr(outcome, "data"):  # an awaitable: some resolver is async
            raise RuntimeError(errors or "not executed synchronously")

    token_cache = {token: (time.monotonic() + 2.0, scope)}

    def cached_scope() -> Any:
        hit = token_cache.get(token)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def jwt() -> None:
        security.read_access_token(settings.secret_key, token, clock.now())

    def io_reset() -> None:
        null_log.stream.seek(0)
        null_log.stream.truncate()
        info_log.info("graphql request", extra={"status": 200, "duration_ms": 1.0})

    plan: list[tuple[str, Callable[[], Any], bool, int]] = [
        ("JWT verify: security.read_access_token", jwt, False, 1),
        ("scope_from_bearer, session cache hit", lambda: sessions.scope_from_bearer(token),
         True, 1),
        ("scope_from_bearer, cache miss (DB session+role check)", forget_and_check, True, 10),
        ("  (reference) scope from a dict keyed by token", cached_scope, False, 1),
        ("Context(...) + schema.execute(viewer.user.id)", execute, True, 1),
        ("  (reference) graphql-core execute, parsed document", core_execute, False, 1),
        ("orjson.dumps(response body)", lambda: orjson.dumps({"data": result.data}), False, 1),
        ("uuid.uuid4().hex (request id)", lambda: uuid.uuid4().hex, False, 1),
        ("log.info under WARNING (dropped)",
         lambda: quiet_log.info("graphql request", extra={"status": 200}), False, 1),
        ("log.info under INFO (JSON line to memory)", io_reset, False, 1),
        ("ASGI: bare_app POST /graphql (no socket)", bare_call, True, 1),
        ("ASGI: talentgraph POST /graphql (no socket)", graphql_call, True, 1),
    ]
    rows: list[tuple[str, float | None, str]] = []
    for name, fn, is_async, divisor in plan:
        try:
            seconds = await best_of(fn, max(1, args.number // divisor), args.repeat, is_async)
        except Exception as exc:  # a stage the current code no longer has
            rows.append((name, None, f"{type(exc).__name__}: {exc}"))
            continue
        rows.append((name, seconds * 1e6, ""))
    sessions.forget_cached_auth()
    full = next((us for name, us, _ in rows if name.startswith("ASGI: talentgraph")), None)
    bare = next((us for name, us, _ in rows if name.startswith("ASGI: bare")), None)
    print(f"\n{'stage':<56} {'us/call':>9} {'of app':>7}")
    print("-" * 74)
    for name, us, error in rows:
        if us is None:
            print(f"{name:<56} {'n/a':>9}  {error[:60]}")
        else:
            share = f"{us / full:7.0%}" if full else ""
            print(f"{name:<56} {us:>9.1f} {share}")
    if full and bare:
        print(f"\nthe app costs {full:.0f} us per request in-process, the bare app {bare:.0f} us; "
              f"the HTTP server adds the same to both (see http_bench's 'srv us/req').")
    print("(cache miss: every AUTH_CACHE_SECONDS per session; under load all requests in "
          "flight then miss at once)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--number", type=int, default=2000, help="calls per batch")
    parser.add_argument("--repeat", type=int, default=7, help="batches; the best counts")
    parser.add_argument("--loop-app", type=float, metavar="SECONDS",
                        help="instead: only call the real app for SECONDS (run under py-spy)")
    args = parser.parse_args()
    import uvloop

    data_dir = Path(tempfile.mkdtemp(prefix="tg-pathbench-"))
    env = {"TALENTGRAPH_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
    for name in ("REDIS_URL", "TALENTGRAPH_ENV", "MIGRATION_DATABASE_URL"):
        os.environ.pop(name, None)
    logging.getLogger().setLevel(logging.WARNING)
    try:
        with contextlib.ExitStack() as stack:
            if args.database == "postgres":
                from http_bench import postgres_database

                env["DATABASE_URL"] = stack.enter_context(postgres_database(args.pg_url))
            else:
                env["DATABASE_URL"] = f"sqlite://{data_dir / 'talentgraph.sqlite3'}"
            uvloop.run(measure(args, env))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
