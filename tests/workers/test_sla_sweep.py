"""The SLA sweep as a job: on the real arq worker and Redis (two sweeps at once notify each
breach once), registered as a cron job and as an in-process periodic job."""

from __future__ import annotations

from arq.constants import default_queue_name

import workers.jobs
from tests.integration import test_slas
from tests.integration.test_slas import breach_world, notifications
from tests.workers import test_arq_worker
from tests.workers.test_arq_worker import run_worker
from workers.settings import WorkerSettings

# fixtures
frozen, pool, arq_queue = test_slas.frozen, test_arq_worker.pool, test_arq_worker.arq_queue


async def test_two_sweeps_on_the_arq_worker_notify_each_breach_once(
        world, other_world, frozen, pool, arq_queue):
    await breach_world(world, frozen)
    await breach_world(other_world, frozen)
    # two sweeps queued under different ids: the worker runs them concurrently
    await arq_queue.enqueue("sweep_sla_breaches", job_id="sla:a")
    await arq_queue.enqueue("sweep_sla_breaches", job_id="sla:b")
    worker = await run_worker()  # (with the setup's event dispatches)
    assert worker.jobs_failed == 0
    sweeps = {r.job_id: (r.success, r.result) for r in await pool.all_job_results()
              if r.function == "sweep_sla_breaches"}
    assert sorted(sweeps) == ["sla:a", "sla:b"]
    assert all(ok for ok, _ in sweeps.values())
    # together they found the 8 breaching applications here (and maybe other tests' tenants)
    assert sum(n for _, n in sweeps.values()) >= 8
    assert await pool.zcard(default_queue_name) == 0
    for w in (world, other_world):
        notes = await notifications(w)
        assert len(notes) == 4
        assert len(set(notes)) == 4


async def test_the_sweep_is_periodic_in_both_runners():
    assert workers.jobs.sweep_sla_breaches in workers.jobs.FUNCTIONS
    assert (workers.jobs.sweep_sla_breaches, 300) in workers.jobs.PERIODIC
    [cron] = [c for c in WorkerSettings.cron_jobs if c.name.endswith("sweep_sla_breaches")]
    assert cron.unique is True
    assert cron.minute == set(range(0, 60, 5))
