"""Demo pipeline: open jobs with applications spread over their stages and months of history,
timed backwards from now so that the board shows every urgency (hours, days and weeks in a
stage), closed applications with reasons, hires, and scorecards (some still awaited).
Deterministic (seeded); written through the pipeline's services, as the API would."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.core import clock, db
from domain.core.scope import Scope
from domain.pipeline import applications, jobs, rules, scorecards, service
from domain.prospects import service as prospects
from domain.tenancy.models import Membership
from domain.tenancy.rules import ROLE_PERMISSIONS


@dataclass(frozen=True)
class DemoJob:
    title: str
    department: str
    location: str
    hiring_manager: str  # member email prefix
    recruiter: str
    active: int
    closed: int
    status: str = "open"


JOBS = [
    DemoJob("Senior Backend Engineer", "Engineering", "Remote", "hank", "rita", 14, 10),
    DemoJob("Product Designer", "Design", "New York, NY", "hana", "rob", 9, 7),
    DemoJob("Data Scientist", "Data", "London, UK", "hank", "rob", 8, 6),
    DemoJob("Engineering Manager", "Engineering", "Berlin, Germany", "hana", "rita", 5, 4,
            status="on_hold"),
]
# How long an active application has waited in its stage: green, yellow and red on any sane
# SLA policy (hours, a few days, weeks).
WAITS = [(timedelta(hours=2), timedelta(hours=20)), (timedelta(days=2), timedelta(days=4)),
         (timedelta(days=8), timedelta(days=25))]


def _scope(tenant_id: UUID, membership: Membership) -> Scope:
    return Scope(tenant_id=tenant_id, permissions=ROLE_PERMISSIONS[membership.role],
                 user_id=membership.user_id, role=membership.role)


async def _move(scope: Scope, application_id: UUID, stage: Any, when: datetime) -> None:
    async with db.tenant_tx(scope):
        app = await service.get_application(scope, application_id, lock=True)
        job = await service.get_job(scope, app.job_id)
        await applications.record_move(scope, app, job, stage, when=when, source="demo")


async def seed(recruiter: Scope, members: list[tuple[str, Membership]]) -> None:
    """members: (email, membership) of the demo tenant; the first recruiter writes."""
    rng = random.Random(5)
    now = clock.now()
    by_name = {email.split("@")[0]: m for email, m in members}
    scopes = {name: _scope(recruiter.tenant_id, m) for name, m in by_name.items()}
    async with db.tenant_tx(recruiter):
        pool = list(await prospects.visible(recruiter).order_by("id").values_list("id",
                                                                                  flat=True))
    rng.shuffle(pool)
    reasons = {o: [k for oo, k, _, note in rules.DEFAULT_CLOSING_REASONS if oo == o and not note]
               for o in rules.REASONED_OUTCOMES}
    for spec in JOBS:
        scope = scopes[spec.recruiter]
        job = await jobs.create_job(scope, data=jobs.JobData(
            title=spec.title, department=spec.department, location=spec.location,
            hiring_manager_id=by_name[spec.hiring_manager].user_id,
            recruiter_id=by_name[spec.recruiter].user_id,
            coordinator_id=by_name["cora"].user_id, target_hires=rng.choice([1, 2, 3]),
            target_date=(now + timedelta(days=rng.randint(30, 120))).date()))
        stages = (await service.stages_by_job(scope, [job.id]))[job.id]
        hm = scopes[spec.hiring_manager]
        for i in range(spec.active + spec.closed):
            prospect_id = pool.pop()
            active = i < spec.active
            # Active ones sit in any stage before "hired"; closed ones ended anywhere.
            last = rng.choice(range(len(stages) - 1))
            if not active and rng.random() < 0.25:
                last = len(stages) - 1  # a hire
            if active:
                low, high = WAITS[i % 3]
                end = now - low - (high - low) * rng.random()
            else:
                end = now - timedelta(days=rng.uniform(10, 150))
            times = [end]
            for _ in range(last):
                times.append(times[-1] - timedelta(days=rng.uniform(1, 9),
                                                   hours=rng.uniform(0, 12)))
            times.reverse()
            app = await applications.create_application(
                scope, prospect_id=prospect_id, job_id=job.id, occurred_at=times[0],
                source=rng.choice(["linkedin", "referral", "inbound", "agency", "sourced"]),
                via="demo")
            for position in range(1, last + 1):
                await _move(scope, app.id, stages[position], times[position])
            stage = stages[last]
            if stage.kind in ("hm_review", "interview") or (not active and last >= 3):
                interviewers = [spec.hiring_manager, rng.choice(["ada", "rob", "rita", "cora"])]
                cards = await scorecards.request_scorecards(
                    scope, application_id=app.id,
                    interviewer_ids=[by_name[n].user_id for n in dict.fromkeys(interviewers)])
                for card, name in zip(cards, dict.fromkeys(interviewers), strict=True):
                    if not active or rng.random() < 0.6:  # the rest are still awaited
                        await scorecards.submit_scorecard(
                            scopes[name], scorecard_id=card.id, score=rng.choice([1, 2, 3, 3, 4]),
                            notes=rng.choice(["Strong systems thinking.", "Communication was "
                                              "unclear.", "Great culture add.", ""]))
            if active:
                continue
            closed_at = end + timedelta(hours=rng.uniform(1, 48))
            if stage.kind == "hired":
                await applications.close_application(hm, application_id=app.id, outcome="hired",
                                                     occurred_at=closed_at, source="demo")
                continue
            outcome = "offer_declined" if stage.kind == "offer" else rng.choice(
                ["rejected", "rejected", "rejected", "withdrew"])
            await applications.close_application(
                scope, application_id=app.id, outcome=outcome,
                reason=rng.choice(reasons[outcome]), occurred_at=closed_at, source="demo")
        if spec.status != "open":
            await jobs.set_job_status(scope, job_id=job.id, status=spec.status)
