"""The periodic refresh job: ahead of expiry, per mailbox isolated, on the real arq worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from arq.connections import create_pool

import workers.jobs
from domain.core import clock, db
from domain.mailboxes.models import Mailbox
from tests.conftest import World
from tests.mailboxes_support import connect, mail_fixture, row, secrets_of  # noqa: F401
from tests.workers.test_arq_worker import redis_settings, run_worker

pytestmark = pytest.mark.usefixtures("mail")


async def expires_in(world: World, mailbox_id, minutes: float) -> None:
    async with db.system_tenant_tx(str(world.tenant.id)):
        await Mailbox.filter(tenant_id=world.tenant.id, id=mailbox_id).update(
            token_expires_at=clock.now() + timedelta(minutes=minutes))


async def test_the_job_refreshes_tokens_about_to_expire_and_only_those(mail, world: World,
                                                                       other_world: World):
    due = await connect(await world.scope("recruiter"), "microsoft", "due@outlook.test")
    later = await connect(await world.scope("sourcer"), "google", "later@gmail.test")
    elsewhere = await connect(await other_world.scope("recruiter"), "google", "other@gmail.test")
    broken = await connect(await world.scope("hiring_manager"), "google", "broken@gmail.test")
    await expires_in(world, due.id, 3)
    await expires_in(world, later.id, 50)
    await expires_in(other_world, elsewhere.id, 8)
    await expires_in(world, broken.id, 1)
    mail.revoke("google", "broken@gmail.test")
    before = await secrets_of(world.tenant.id, due.id)
    refreshed = await workers.jobs.refresh_mailbox_tokens({})
    assert refreshed == 2  # due and elsewhere; broken failed on its own
    assert mail.grants("microsoft", "due@outlook.test")["refreshes"] == 1
    assert mail.grants("google", "other@gmail.test")["refreshes"] == 1
    assert mail.grants("google", "later@gmail.test")["refreshes"] == 0
    assert (await secrets_of(world.tenant.id, due.id))["refresh_token_enc"] != before[
        "refresh_token_enc"]
    assert (await row(world.tenant.id, due.id)).token_expires_at > clock.now() + timedelta(
        minutes=50)
    assert (await row(world.tenant.id, broken.id)).status == "needs_reconnect"
    assert (await row(world.tenant.id, later.id)).status == "connected"


async def test_the_job_runs_on_the_arq_worker(mail, world: World):
    assert (workers.jobs.refresh_mailbox_tokens, 300) in workers.jobs.PERIODIC
    mailbox = await connect(await world.scope("recruiter"), "google", "rita@gmail.test")
    await expires_in(world, mailbox.id, 2)
    redis = await create_pool(redis_settings())
    await redis.flushdb()
    try:
        await redis.enqueue_job("refresh_mailbox_tokens", _job_id="refresh-test")
        worker = await run_worker()
    finally:
        await redis.flushdb()
        await redis.aclose(close_connection_pool=True)
    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
    assert mail.grants("google", "rita@gmail.test")["refreshes"] == 1
