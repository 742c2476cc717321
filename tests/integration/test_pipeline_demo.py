"""The demo's pipeline: open jobs with applications over their stages, waits of hours, days
and weeks (every urgency on the board), closed ones with reasons, hires, awaited scorecards."""

from __future__ import annotations

from datetime import timedelta

from domain.core import clock, db
from domain.demo import service as demo
from domain.pipeline.models import Application, ApplicationMove, Job, Scorecard
from domain.tenancy import service as tenancy


async def test_the_demo_pipeline_has_something_for_every_view(settings, queue):
    await demo.recreate()
    tenant = await tenancy.tenant_by_slug(demo.DEMO_SLUG)
    now = clock.now()
    async with db.system_tenant_tx(str(tenant.id)):
        jobs = await Job.filter(tenant_id=tenant.id)
        apps = await Application.filter(tenant_id=tenant.id)
        moves = await ApplicationMove.filter(tenant_id=tenant.id)
        cards = await Scorecard.filter(tenant_id=tenant.id)
    assert sorted(j.status for j in jobs) == ["on_hold", "open", "open", "open"]
    active = [a for a in apps if a.status == "active"]
    for job in jobs:
        stages = {a.stage_id for a in active if a.job_id == job.id}
        assert len(stages) >= 3, job.title
    waits = [now - a.stage_entered_at for a in active]
    assert any(w < timedelta(days=1) for w in waits)
    assert any(timedelta(days=2) <= w <= timedelta(days=4) for w in waits)
    assert any(w > timedelta(days=8) for w in waits)
    assert max(now - a.created_at for a in apps) > timedelta(days=60)  # months of history
    closed = [a for a in apps if a.status != "active"]
    assert {a.outcome for a in closed} >= {"hired", "rejected", "withdrew"}
    assert all(a.outcome_reason for a in closed if a.outcome != "hired")
    assert any(c.submitted_at is None for c in cards) and any(c.score for c in cards)
    # Every application's history starts at its creation and is time-ordered.
    by_app: dict = {}
    for m in sorted(moves, key=lambda m: (m.occurred_at, m.seq)):
        by_app.setdefault(m.application_id, []).append(m)
    for app in apps:
        history = by_app[app.id]
        assert history[0].occurred_at == app.created_at
        assert [m.seq for m in history] == sorted(m.seq for m in history)
