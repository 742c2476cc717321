"""Pure rules of SLAs: policies, their defaults and checks, and the urgency of an application.
No I/O; the clock is an argument.

Choices (documented in README.md, "SLAs"):
- Hours are wall-clock hours (no business hours): the clock runs nights and weekends.
- A job on hold pauses the clock: only time in the stage before `on_hold_since` counts, and
  nothing is due while it is on hold. Past holds are not subtracted after the job reopens (the
  job keeps only its current hold), so a reopened job's clock counts the hold as elapsed.
- Scorecards awaited at the current stage switch the action to awaiting_feedback, owned by the
  hiring manager (they chase their interview panel); the thresholds stay the stage's.
- Status: green before yellow_hours, yellow from exactly yellow_hours, red from exactly
  red_hours. `due_at` is when the next colour starts (yellow, then red; for red, when it did).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.core.errors import DomainError, ValidationFailed
from domain.pipeline.rules import STAGE_KINDS
from domain.slas.errors import InvalidThresholds

ACTIONS = ("needs_decision", "awaiting_feedback", "needs_scheduling", "needs_attention")
OWNER_ROLES = ("recruiter", "hiring_manager")
GREEN, YELLOW, RED = "green", "yellow", "red"
# The rank orders by urgency (red first); SQL uses the same numbers.
RANK = {RED: 0, YELLOW: 1, GREEN: 2}
MAX_HOURS = 24 * 365
FEEDBACK_ACTION, FEEDBACK_OWNER = "awaiting_feedback", "hiring_manager"


@dataclass(frozen=True)
class Policy:
    stage_kind: str
    yellow_hours: int
    red_hours: int
    action: str
    owner_role: str
    source: str = "default"  # default tenant job


# Sensible defaults when a tenant has set nothing for a kind.
DEFAULT_POLICIES: dict[str, Policy] = {p.stage_kind: p for p in [
    Policy("application_review", 48, 96, "needs_decision", "recruiter"),
    Policy("screen", 72, 120, "needs_scheduling", "recruiter"),
    Policy("hm_review", 48, 72, "needs_decision", "hiring_manager"),
    Policy("interview", 72, 120, "needs_scheduling", "recruiter"),
    Policy("offer", 48, 96, "needs_attention", "recruiter"),
    Policy("hired", 168, 336, "needs_attention", "recruiter"),
]}


def check_policy(*, stage_kind: str, yellow_hours: int, red_hours: int, action: str,
                 owner_role: str, source: str) -> Policy:
    """Every field error at once: yellow and red positive whole hours, yellow < red."""
    errors: list[DomainError] = []
    if stage_kind not in STAGE_KINDS:
        errors.append(DomainError(f"Unknown stage kind '{stage_kind}'.", field="stageKind",
                                  code="INVALID"))
    if not 1 <= yellow_hours <= MAX_HOURS:
        errors.append(InvalidThresholds(f"Yellow is 1 to {MAX_HOURS} hours.",
                                        field="yellowHours"))
    if not 1 <= red_hours <= MAX_HOURS:
        errors.append(InvalidThresholds(f"Red is 1 to {MAX_HOURS} hours.", field="redHours"))
    elif red_hours <= yellow_hours:
        errors.append(InvalidThresholds("Red must come after yellow (more hours).",
                                        field="redHours"))
    if action not in ACTIONS:
        errors.append(DomainError(f"Unknown action '{action}'.", field="action", code="INVALID"))
    if owner_role not in OWNER_ROLES:
        errors.append(DomainError(f"Unknown owner role '{owner_role}'.", field="ownerRole",
                                  code="INVALID"))
    if errors:
        raise errors[0] if len(errors) == 1 else ValidationFailed(errors)
    return Policy(stage_kind, yellow_hours, red_hours, action, owner_role, source)


def effective(kind: str, tenant: dict[str, Policy], job: dict[str, Policy] | None = None
              ) -> Policy:
    """The job's override, else the tenant's policy, else the default."""
    if job and kind in job:
        return job[kind]
    return tenant.get(kind) or DEFAULT_POLICIES[kind]


@dataclass(frozen=True)
class Urgency:
    status: str
    action: str
    owner_role: str
    due_at: datetime | None  # None while the job is on hold
    hours_in_stage: float  # wall-clock, for display; the SLA clock may be paused
    paused: bool

    @property
    def rank(self) -> int:
        return RANK[self.status]


def counted_time(*, stage_entered_at: datetime, on_hold_since: datetime | None,
                 now: datetime) -> timedelta:
    """Time the SLA clock has run: it stops when the job went on hold (and never started if
    the stage was entered during the hold)."""
    end = now if on_hold_since is None else min(now, max(on_hold_since, stage_entered_at))
    return max(end - stage_entered_at, timedelta(0))


def urgency(policy: Policy, *, stage_entered_at: datetime, pending_scorecards: int,
            on_hold_since: datetime | None, now: datetime) -> Urgency:
    counted = counted_time(stage_entered_at=stage_entered_at, on_hold_since=on_hold_since,
                           now=now)
    yellow, red = timedelta(hours=policy.yellow_hours), timedelta(hours=policy.red_hours)
    status = RED if counted >= red else YELLOW if counted >= yellow else GREEN
    action, owner = ((FEEDBACK_ACTION, FEEDBACK_OWNER) if pending_scorecards > 0
                     else (policy.action, policy.owner_role))
    paused = on_hold_since is not None
    due_at = None if paused else stage_entered_at + (yellow if status == GREEN else red)
    hours = max((now - stage_entered_at).total_seconds(), 0.0) / 3600
    return Urgency(status, action, owner, due_at, hours, paused)


def cutoffs(policy: Policy, *, on_hold_since: datetime | None, now: datetime
            ) -> tuple[datetime, datetime]:
    """(yellow, red) cut-offs on stage_entered_at for SQL: an application is at least yellow
    iff stage_entered_at <= yellow cut-off, red iff <= red cut-off. Equivalent to urgency():
    with a hold, counted >= h iff entered <= min(now, hold) - h (an entry during the hold
    counts nothing, and min(now, hold) - h is before the hold since h >= 1 hour)."""
    end = now if on_hold_since is None else min(now, on_hold_since)
    return end - timedelta(hours=policy.yellow_hours), end - timedelta(hours=policy.red_hours)


def breach_levels(status: str) -> list[str]:
    """The breaches an application in this status has reached (red implies yellow)."""
    return {GREEN: [], YELLOW: [YELLOW], RED: [YELLOW, RED]}[status]


def stage_entry_key(stage_id: object, stage_entered_at: datetime) -> str:
    """Identifies one stay in a stage: re-entering the stage later is a new stay."""
    return f"{stage_id}@{int(stage_entered_at.timestamp() * 1_000_000)}"
