"""arq worker settings: `talentgraph worker` runs these (or `arq workers.settings.WorkerSettings`)."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import RedisSettings

from domain import subscriptions
from domain.core import config, db, jobs
from workers.jobs import FUNCTIONS, PERIODIC
from workers.queue import ArqQueue
from workers.runtime import tune_gc


async def startup(ctx: dict[str, Any]) -> None:
    settings = config.load_settings()
    config.configure(settings)
    subscriptions.register()
    await db.open_db(settings)
    jobs.install(ArqQueue(ctx["redis"]))
    tune_gc()


async def shutdown(ctx: dict[str, Any]) -> None:
    await db.close_db()


def _cron_minutes(seconds: int) -> set[int]:
    step = max(1, seconds // 60)
    return set(range(0, 60, step))


def redis_settings() -> RedisSettings:
    url = config.load_settings().redis_url
    if not url:
        raise SystemExit("the worker needs REDIS_URL")
    return RedisSettings.from_dsn(url)


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = [cron(f, minute=_cron_minutes(every), second=0, unique=True)
                 for f, every in PERIODIC]
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 5
    keep_result = 3600
