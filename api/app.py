"""The ASGI application: /graphql, /healthz, /readyz, with tortoise opened in the lifespan
(tortoise's Starlette helper relies on on_event, which Starlette 1.x removed)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html
from tortoise import Tortoise

from api.graphql_http import GraphQLEndpoint
from api.mailboxes import routes as mailbox_routes
from api.prospects import uploads as prospect_uploads
from api.schema import build_schema
from domain import subscriptions
from domain.core import config, db, jobs
from domain.core.config import Settings
from workers.queue import ArqQueue, InProcessQueue
from workers.runtime import tune_gc

log = logging.getLogger("talentgraph.app")


def create_app(settings: Settings | None = None, *, manage_db: bool = True) -> Starlette:
    """manage_db=False leaves opening the database and the job queue to the caller (tests)."""
    settings = settings or config.load_settings()
    config.configure(settings)
    subscriptions.register()
    schema = build_schema(settings)
    endpoint = GraphQLEndpoint(
        schema, production=settings.production, max_body=settings.max_body_bytes,
        graphiql_html=None if settings.production else get_graphql_ide_html())
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_db:
            yield
            return
        await db.open_db(settings)
        redis = None
        if settings.redis_url:
            from arq import create_pool
            from arq.connections import RedisSettings

            redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
            jobs.install(ArqQueue(redis))
        else:
            queue = InProcessQueue()
            queue.start_periodic()
            jobs.install(queue)
            state["queue"] = queue
        state["redis"] = redis
        tune_gc()
        try:
            yield
        finally:
            if "queue" in state:
                await state["queue"].close()
            if redis is not None:
                await redis.aclose()
            await db.close_db()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await Tortoise.get_connection("default").execute_query("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            checks["database"] = f"error: {type(exc).__name__}"
        redis = state.get("redis")
        if redis is not None:
            try:
                await redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                            status_code=200 if ready else 503)

    routes = [
        Route("/graphql", endpoint.endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *prospect_uploads.ROUTES,
        *mailbox_routes.ROUTES,
    ]
    return _App(endpoint, routes=routes, lifespan=lifespan)


class _App(Starlette):
    """Starlette, with POST/GET /graphql handed straight to its endpoint: the router and
    middleware layers cost a fifth of a small query's time and add nothing there (the
    endpoint answers every method and failure itself). Any other path, /graphql/ included,
    goes through the router as usual."""

    def __init__(self, graphql: GraphQLEndpoint, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            await self._graphql.asgi(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)
