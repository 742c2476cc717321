"""Pure rules of the talent pipeline: stage kinds and their order, the default template and
closing reasons, what closing and scoring need, reordering, the history's shape, and who may
act on a job. No I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from domain.core.errors import DomainError
from domain.core.scope import Scope

STAGE_KINDS = ("application_review", "screen", "hm_review", "interview", "offer", "hired")
# Ranks of "how far" a candidate got, comparable across jobs. A job's last interview stage
# counts as the final interview, one step above other interviews (silver medalists).
KIND_RANK = {"application_review": 1, "screen": 2, "hm_review": 3, "interview": 4, "offer": 6,
             "hired": 7}
FINAL_INTERVIEW_RANK = 5
JOB_STATUSES = ("open", "on_hold", "closed")
OUTCOMES = ("hired", "rejected", "withdrew", "offer_declined")
REASONED_OUTCOMES = ("rejected", "withdrew", "offer_declined")
# The application's status after each outcome: a declined offer is the candidate withdrawing.
STATUS_OF_OUTCOME = {"hired": "hired", "rejected": "rejected", "withdrew": "withdrew",
                     "offer_declined": "withdrew"}
SCORE_MIN, SCORE_MAX = 1, 4
MAX_STAGES = 30
MAX_INTERVIEWERS = 20
MAX_NOTE = 10_000

DEFAULT_TEMPLATE_NAME = "Default"
DEFAULT_STAGES: list[dict[str, str]] = [
    {"name": "Application review", "kind": "application_review"},
    {"name": "Phone screen", "kind": "screen"},
    {"name": "HM review", "kind": "hm_review"},
    {"name": "Onsite interview", "kind": "interview"},
    {"name": "Offer", "kind": "offer"},
    {"name": "Hired", "kind": "hired"},
]
# (outcome, key, label, requires_note): seeded per tenant on first use, editable afterwards.
DEFAULT_CLOSING_REASONS: list[tuple[str, str, str, bool]] = [
    ("rejected", "skills", "Lacks required skills", False),
    ("rejected", "experience", "Not enough experience", False),
    ("rejected", "better_candidate", "Another candidate was a better fit", False),
    ("rejected", "position_filled", "Position filled or closed", False),
    ("rejected", "no_show", "Did not show up", False),
    ("rejected", "other", "Other", True),
    ("withdrew", "accepted_other_offer", "Accepted another offer", False),
    ("withdrew", "not_interested", "No longer interested", False),
    ("withdrew", "compensation", "Compensation", False),
    ("withdrew", "timing", "Timing", False),
    ("withdrew", "other", "Other", True),
    ("offer_declined", "compensation", "Compensation", False),
    ("offer_declined", "accepted_other_offer", "Accepted another offer", False),
    ("offer_declined", "counter_offer", "Accepted a counter-offer", False),
    ("offer_declined", "location", "Location or remote policy", False),
    ("offer_declined", "other", "Other", True),
]


def check_text(value: str | None, *, field: str | list[str], max_length: int,
               required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError("This cannot be empty.", field=field, code="REQUIRED")
    if len(text) > max_length:
        raise DomainError(f"At most {max_length} characters.", field=field, code="OUT_OF_RANGE")
    return text


def check_kind(kind: str, *, field: str | list[str] = "kind") -> str:
    if kind not in STAGE_KINDS:
        raise DomainError(f"Unknown stage kind '{kind}'.", field=field, code="INVALID")
    return kind


def check_job_status(status: str) -> str:
    if status not in JOB_STATUSES:
        raise DomainError(f"Unknown job status '{status}'.", field="status", code="INVALID")
    return status


def check_target(target_hires: int | None, target_date: date | None) -> None:
    if target_hires is not None and not 1 <= target_hires <= 10_000:
        raise DomainError("Between 1 and 10000.", field="targetHires", code="OUT_OF_RANGE")


def check_template_stages(stages: Sequence[dict[str, Any]], *, field: str = "stages"
                          ) -> list[dict[str, str]]:
    if not stages:
        raise DomainError("Give at least one stage.", field=field, code="REQUIRED")
    if len(stages) > MAX_STAGES:
        raise DomainError(f"At most {MAX_STAGES} stages.", field=field, code="OUT_OF_RANGE")
    return [{"name": check_text(s.get("name"), field=[field, str(i), "name"], max_length=100),
             "kind": check_kind(s.get("kind", ""), field=[field, str(i), "kind"])}
            for i, s in enumerate(stages)]


def check_score(score: int) -> int:
    if not SCORE_MIN <= score <= SCORE_MAX:
        raise DomainError(f"A score is {SCORE_MIN} (strong no) to {SCORE_MAX} (strong yes).",
                          field="score", code="OUT_OF_RANGE")
    return score


@dataclass(frozen=True)
class Reason:
    key: str
    requires_note: bool


def check_close(outcome: str, reason_key: str | None, note: str | None,
                reasons: dict[str, Reason]) -> tuple[str | None, str | None]:
    """(reason key, note) fit to store for this outcome, given the tenant's active reasons for
    it. Hired takes no reason; the others need one of the tenant's; "other" needs a note."""
    if outcome not in OUTCOMES:
        raise DomainError(f"Unknown outcome '{outcome}'.", field="outcome", code="INVALID")
    text = (note or "").strip() or None
    if text is not None and len(text) > MAX_NOTE:
        raise DomainError(f"At most {MAX_NOTE} characters.", field="note", code="OUT_OF_RANGE")
    if outcome == "hired":
        if reason_key:
            raise DomainError("A hire takes no reason.", field="reason", code="INVALID")
        return None, text
    if not reason_key:
        raise DomainError("Give a reason for this outcome.", field="reason", code="REQUIRED")
    reason = reasons.get(reason_key)
    if reason is None:
        raise DomainError(f"'{reason_key}' is not a reason for {outcome}.", field="reason",
                          code="NOT_FOUND")
    if reason.requires_note and text is None:
        raise DomainError("This reason needs a note.", field="note", code="REQUIRED")
    return reason.key, text


def check_reason_key(key: str) -> str:
    if not re.match(r"^[a-z][a-z0-9_]{0,63}$", key or ""):
        raise DomainError("Use lowercase letters, digits and underscores.", field="key",
                          code="INVALID")
    return key


def check_reorder(current: Sequence[UUID], given: Sequence[UUID]) -> list[UUID]:
    """The new order: exactly the job's current stages, each once."""
    if len(set(given)) != len(given) or set(given) != set(current):
        raise DomainError("Give every stage of the job exactly once.", field="stageIds",
                          code="INVALID")
    return list(given)


class _Stage(Protocol):
    id: UUID
    kind: str
    position: int
    removed_at: datetime | None


def rank_of(stage: _Stage, stages: Sequence[_Stage]) -> int:
    """How far entering `stage` gets a candidate, among its job's (live) stages."""
    if stage.kind != "interview":
        return KIND_RANK[stage.kind]
    later = [s for s in stages if s.kind == "interview" and s.removed_at is None
             and s.position > stage.position]
    return KIND_RANK["interview"] if later else FINAL_INTERVIEW_RANK


def min_rank_for(kind: str) -> int:
    """`stageReachedAtLeast: kind` means a furthest rank at least this."""
    return KIND_RANK[check_kind(kind, field="stageReachedAtLeast")]


def changes_current(occurred_at: datetime, current_entered_at: datetime) -> bool:
    """A move older than the current stage's entry (an out-of-order ATS move) only goes into
    the history; an equal or newer one becomes current."""
    return occurred_at >= current_entered_at


@dataclass(frozen=True)
class HistoryEntry:
    move_id: UUID
    kind: str  # move, close, reopen
    stage_id: UUID
    from_stage_id: UUID | None
    entered_at: datetime
    exited_at: datetime | None
    actor_id: UUID | None
    source: str
    outcome: str | None
    outcome_reason: str | None


class _Move(Protocol):
    id: UUID
    seq: int
    kind: str
    to_stage_id: UUID
    from_stage_id: UUID | None
    occurred_at: datetime
    actor_id: UUID | None
    source: str
    outcome: str | None
    outcome_reason: str | None


def history(moves: Sequence[_Move]) -> list[HistoryEntry]:
    """Time-ordered entries; each one ends when the next begins (the last is open)."""
    ordered = sorted(moves, key=lambda m: (m.occurred_at, m.seq))
    out = []
    for i, m in enumerate(ordered):
        exited = ordered[i + 1].occurred_at if i + 1 < len(ordered) else None
        out.append(HistoryEntry(m.id, m.kind, m.to_stage_id, m.from_stage_id, m.occurred_at,
                                exited, m.actor_id, m.source, m.outcome, m.outcome_reason))
    return out


def seconds_in_stage(entered_at: datetime, now: datetime) -> int:
    return max(0, int((now - entered_at).total_seconds()))


# --- who may act -------------------------------------------------------------------------------

def can_manage(scope: Scope) -> bool:
    """Jobs, stages, templates and reasons: recruiting staff and partners with pipeline:write;
    hiring managers only decide on their own jobs' candidates."""
    return scope.can("pipeline:write") and scope.role != "hiring_manager"


def can_decide(scope: Scope, hiring_manager_id: UUID | None) -> bool:
    """Moving, closing, reopening and requesting scorecards on a job's applications."""
    if can_manage(scope):
        return True
    return (scope.can("pipeline:write") and scope.role == "hiring_manager"
            and scope.user_id is not None and scope.user_id == hiring_manager_id)


def can_submit_scorecard(scope: Scope, interviewer_id: UUID) -> bool:
    return scope.user_id == interviewer_id or scope.role == "admin"


def summary(scores: Sequence[int | None]) -> tuple[int, int, float | None]:
    """(submitted, awaiting, average of submitted scores)."""
    submitted = [s for s in scores if s is not None]
    average = round(sum(submitted) / len(submitted), 2) if submitted else None
    return len(submitted), len(scores) - len(submitted), average
