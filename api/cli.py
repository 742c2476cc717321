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


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from api.logs import configure_logging
    from domain.demo import service as demo

    settings = _settings()
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))

    async def prepare() -> list[demo.DemoMember]:
        if settings.production or await demo.exists():
            return []
        return await demo.recreate()

    members = asyncio.run(_with_db(prepare))
    base = f"http://{args.host}:{args.port}"
    if members:
        admin = members[0]
        print(f"Seeded the demo tenant 'demo'. Access token for {admin.email} (admin):\n"
              f"  {admin.access_token}\n(other members: `talentgraph demo`)", flush=True)
    print(f"GraphiQL: {base}/graphql", flush=True)
    from api.app import create_app

    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None,
                access_log=False, loop="uvloop", http="httptools")


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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="talentgraph", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (embedded default: SQLite, in-process jobs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
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
