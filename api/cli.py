"""The `talentgraph` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from domain.core import config, db, jobs, migrations


def _settings() -> config.Settings:
    settings = config.load_settings()
    config.configure(settings)
    return settings


async def _with_db(action: Callable[[], Awaitable[Any]]) -> Any:
    """Run an operator action with the database open and events dispatched in-process
    (finished before the command exits)."""
    from domain import subscriptions
    from workers.queue import InProcessQueue

    settings = _settings()
    await migrations.upgrade(settings)
    await db.open_db(settings)
    subscriptions.register()
    queue = InProcessQueue()
    previous = jobs.install(queue)
    try:
        return await action()
    finally:
        await queue.close()
        jobs.install(previous)
        await db.close_db()


_PROVIDER_VARS = ("PROVIDER_EMULATOR_URL", "SYSTEM_SMTP_URL", "GOOGLE_CLIENT_ID",
                  "MICROSOFT_CLIENT_ID", *config.PROVIDER_URL_VARS)


def _start_embedded_emulator() -> tuple[Any, str] | None:
    """The embedded default (not production, no provider configured): the provider emulator
    as a subprocess on free ports, with PROVIDER_EMULATOR_URL and SYSTEM_SMTP_URL pointing at
    it and the demo's accounts created through its control API. None when not embedded."""
    import json
    import subprocess

    if os.environ.get("TALENTGRAPH_ENV", "development") == "production" or any(
            os.environ.get(name) for name in _PROVIDER_VARS):
        return None
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--smtp-port", "0"],
        stdout=subprocess.PIPE)
    assert process.stdout is not None
    ports = json.loads(process.stdout.readline() or "{}")
    if "http" not in ports:
        process.kill()
        raise SystemExit("the provider emulator did not start")
    url = f"http://127.0.0.1:{ports['http']}"
    try:
        smtp_url = _prepare_emulator(url, ports["smtp"])
    except BaseException:
        process.kill()  # not orphaned when its set-up fails
        raise
    os.environ["PROVIDER_EMULATOR_URL"] = url
    os.environ["SYSTEM_SMTP_URL"] = smtp_url
    return process, f"{url} (SMTP 127.0.0.1:{ports['smtp']})"


def _prepare_emulator(url: str, smtp_port: int) -> str:
    """The system mailbox and the demo's send-as alias, through the control API; returns the
    SYSTEM_SMTP_URL for the system mailbox."""
    import secrets
    import time
    from urllib.parse import quote

    import httpx

    system, password = "system@talentgraph.local", secrets.token_urlsafe(16)
    with httpx.Client(base_url=url + "/_emulator", timeout=10) as control:
        for _ in range(100):
            try:
                control.get("/health").raise_for_status()
                break
            except httpx.TransportError:
                time.sleep(0.05)
        control.post("/accounts", json={"provider": "smtp", "address": system,
                                        "password": password}).raise_for_status()
        # Rita's Gmail lists Hank as a send-as alias, for alias sends in the demo.
        control.post("/accounts", json={"provider": "google", "address": "rita@demo.talentgraph.dev",
                                        "displayName": "Rita Recruiter", "sendAs": [
                                            {"email": "hank@demo.talentgraph.dev",
                                             "displayName": "Hank Hiring-Manager"}]}
                     ).raise_for_status()
    return f"smtp://{quote(system, safe='')}:{password}@127.0.0.1:{smtp_port}"


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from api.logs import configure_logging
    from domain.demo import service as demo

    embedded = _start_embedded_emulator()
    if embedded:
        import signal

        # uvicorn re-raises SIGTERM after its graceful shutdown; exit normally instead, so
        # that the emulator is stopped below rather than orphaned.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if embedded and not os.environ.get("PUBLIC_BASE_URL"):
        # OAuth redirects must come back to this server, wherever it listens.
        os.environ["PUBLIC_BASE_URL"] = f"http://{args.host}:{args.port}"
    try:
        _serve(args, embedded[1] if embedded else None, uvicorn, configure_logging, demo)
    finally:
        if embedded:
            embedded[0].terminate()
            embedded[0].wait(5)


def _serve(args: argparse.Namespace, emulator: str | None, uvicorn: Any, configure_logging: Any,
           demo: Any) -> None:
    settings = _settings()
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))

    async def prepare() -> list[Any]:
        if settings.production:
            return []
        members = [] if await demo.exists() else await demo.recreate()
        if emulator:  # a fresh emulator knows no grants: (re)connect the demo mailboxes
            await demo.connect_mailboxes()
        return list(members)

    members = asyncio.run(_with_db(prepare))
    if emulator:
        address = emulator.split(" ")[0]
        print(f"Provider emulator: {emulator}; sent mail: {address}/_emulator/messages",
              flush=True)
    base = f"http://{args.host}:{args.port}"
    if members:
        admin = members[0]
        print(f"Seeded the demo tenant 'demo'. Access token for {admin.email} (admin):\n"
              f"  {admin.access_token}\n(other members: `talentgraph demo`)", flush=True)
    print(f"GraphiQL: {base}/graphql", flush=True)
    options: dict[str, Any] = {"host": args.host, "port": args.port, "log_config": None,
                               "access_log": False, "loop": "uvloop", "http": "httptools"}
    if args.workers > 1:
        # Each process builds its app from the environment; they share nothing but the
        # database (and Redis), so SQLite, one writer at a time, is left to one process.
        if settings.dialect == "sqlite":
            raise SystemExit("--workers above 1 needs PostgreSQL (DATABASE_URL=postgres://...)")
        uvicorn.run("api.app:create_app", factory=True, workers=args.workers, **options)
        return
    from api.app import create_app

    uvicorn.run(create_app(settings), **options)


def cmd_worker(args: argparse.Namespace) -> None:
    from arq.worker import run_worker

    from api.logs import configure_logging
    from workers.settings import WorkerSettings, redis_settings

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    run_worker(WorkerSettings, redis_settings=redis_settings())  # type: ignore[arg-type]


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = _settings()
    if args.action == "up":
        ran = asyncio.run(migrations.upgrade(settings))
        print("applied: " + (", ".join(ran) if ran else "nothing, up to date"))
    elif args.action == "down":
        ran = asyncio.run(migrations.downgrade(settings, args.steps))
        print("reverted: " + (", ".join(ran) if ran else "nothing"))
    else:
        for migration, applied in asyncio.run(migrations.status(settings)):
            print(f"{'[x]' if applied else '[ ]'} {migration.name}")


def cmd_export_schema(args: argparse.Namespace) -> None:
    from api.schema import build_schema

    text = build_schema().as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as handle:
            handle.write(text)
        print(f"wrote {args.output}")


def cmd_demo(args: argparse.Namespace) -> None:
    from domain.demo import service as demo

    members = asyncio.run(_with_db(demo.recreate))
    print(f"demo tenant 'demo' recreated; every password is '{demo.DEMO_PASSWORD}'")
    for member in members:
        print(f"{member.role:15} {member.email:32} {member.access_token}")


def cmd_token(args: argparse.Namespace) -> None:
    from domain.demo import service as demo
    from domain.tenancy import service

    async def act() -> str:
        tenant = await service.tenant_by_slug(args.tenant)
        return (await demo.token_for(tenant, args.email)).access_token

    print(asyncio.run(_with_db(act)))


def cmd_create_tenant(args: argparse.Namespace) -> None:
    from domain.tenancy import service

    async def act() -> str:
        tenant = await service.create_tenant(slug=args.slug, name=args.name)
        if args.admin_email:
            await service.ensure_member(tenant=tenant, email=args.admin_email,
                                        name=args.admin_name or args.admin_email,
                                        role="admin", password=args.admin_password)
        return str(tenant.id)

    print(f"created tenant {args.slug} ({asyncio.run(_with_db(act))})")


def cmd_api_key(args: argparse.Namespace) -> None:
    from domain.tenancy import service

    async def act() -> str:
        tenant = await service.tenant_by_slug(args.tenant)
        scope = await service.system_scope(tenant)
        _, secret = await service.create_api_key(scope, name=args.name,
                                                 scopes=args.scopes.split(","))
        return secret

    print(asyncio.run(_with_db(act)))


def cmd_emulator(args: argparse.Namespace) -> None:
    # A separate program (never imported by product code): replace this process with it.
    argv = [sys.executable, "-m", "emulator", "--host", args.host, "--port", str(args.port),
            "--smtp-port", str(args.smtp_port)]
    os.execv(sys.executable, argv)  # noqa: S606 - a fixed argv, no shell involved


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="talentgraph", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (embedded default: SQLite, in-process jobs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1,
                       help="API processes (PostgreSQL only; one per core is typical)")
    serve.set_defaults(run=cmd_serve)
    sub.add_parser("worker", help="run the arq worker (needs REDIS_URL)").set_defaults(
        run=cmd_worker)
    migrate = sub.add_parser("migrate", help="apply or revert schema migrations")
    migrate.add_argument("action", choices=["up", "down", "status"], nargs="?", default="up")
    migrate.add_argument("steps", type=int, nargs="?", default=1)
    migrate.set_defaults(run=cmd_migrate)
    export = sub.add_parser("export-schema", help="write schema.graphql")
    export.add_argument("--output", default="schema.graphql")
    export.set_defaults(run=cmd_export_schema)
    sub.add_parser("demo", help="(re)create the demo tenant and print tokens").set_defaults(
        run=cmd_demo)
    token = sub.add_parser("token", help="print a fresh access token for a member")
    token.add_argument("--tenant", required=True)
    token.add_argument("--email", required=True)
    token.set_defaults(run=cmd_token)
    tenant = sub.add_parser("create-tenant", help="create a tenant, optionally with an admin")
    tenant.add_argument("--slug", required=True)
    tenant.add_argument("--name", required=True)
    tenant.add_argument("--admin-email")
    tenant.add_argument("--admin-name")
    tenant.add_argument("--admin-password")
    tenant.set_defaults(run=cmd_create_tenant)
    key = sub.add_parser("api-key", help="manage partner API keys")
    key_sub = key.add_subparsers(dest="key_command", required=True)
    create = key_sub.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--tenant", required=True)
    create.add_argument("--scopes", required=True, help="comma-separated, e.g. prospects:read")
    create.add_argument("--name", default="partner")
    create.set_defaults(run=cmd_api_key)
    emulator = sub.add_parser("emulator", help="run the mail provider emulator (Google, Microsoft, SMTP)")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8025, help="HTTP port (0 = any free port)")
    emulator.add_argument("--smtp-port", type=int, default=2525, help="SMTP port (0 = any free port)")
    emulator.set_defaults(run=cmd_emulator)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except config.ConfigError as exc:
        raise SystemExit(f"configuration error: {exc}") from exc
    except Exception as exc:
        from domain.core.errors import DomainError

        if isinstance(exc, DomainError):
            raise SystemExit(f"error: {exc.message}") from exc
        raise


if __name__ == "__main__":
    main()
