"""Pure pipeline rules: closing needs, scores, reordering, ranks, history shape, who may act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.core.errors import DomainError
from domain.core.scope import Scope
from domain.pipeline import rules
from domain.tenancy.rules import ROLE_PERMISSIONS

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REASONS = {"skills": rules.Reason("skills", False), "other": rules.Reason("other", True)}


def err(fn, *args, **kwargs) -> tuple[list[str], str]:
    with pytest.raises(DomainError) as info:
        fn(*args, **kwargs)
    return info.value.field, info.value.code


def test_close_rules():
    assert rules.check_close("hired", None, "  great ", {}) == (None, "great")
    assert rules.check_close("rejected", "skills", None, REASONS) == ("skills", None)
    assert rules.check_close("rejected", "other", "too far", REASONS) == ("other", "too far")
    assert err(rules.check_close, "rejected", None, None, REASONS) == (["reason"], "REQUIRED")
    assert err(rules.check_close, "rejected", "", None, REASONS) == (["reason"], "REQUIRED")
    assert err(rules.check_close, "withdrew", "nope", None, REASONS) == (["reason"], "NOT_FOUND")
    assert err(rules.check_close, "rejected", "other", "   ", REASONS) == (["note"], "REQUIRED")
    assert err(rules.check_close, "hired", "skills", None, REASONS) == (["reason"], "INVALID")
    assert err(rules.check_close, "fired", None, None, REASONS) == (["outcome"], "INVALID")


@pytest.mark.parametrize(("score", "ok"), [(0, False), (1, True), (4, True), (5, False),
                                           (-1, False)])
def test_score_range(score: int, ok: bool):
    if ok:
        assert rules.check_score(score) == score
    else:
        assert err(rules.check_score, score) == (["score"], "OUT_OF_RANGE")


def test_reorder_needs_every_stage_once():
    a, b, c = uuid4(), uuid4(), uuid4()
    assert rules.check_reorder([a, b, c], [c, a, b]) == [c, a, b]
    for given in ([a, b], [a, b, c, c], [a, b, uuid4()], []):
        assert err(rules.check_reorder, [a, b, c], given) == (["stageIds"], "INVALID")


@dataclass
class S:
    id: UUID
    kind: str
    position: int
    removed_at: datetime | None = None


def test_ranks_final_interview_is_the_last_live_interview():
    stages = [S(uuid4(), "screen", 1), S(uuid4(), "interview", 2), S(uuid4(), "interview", 3),
              S(uuid4(), "interview", 4, removed_at=T0), S(uuid4(), "offer", 5)]
    assert rules.rank_of(stages[0], stages) == 2
    assert rules.rank_of(stages[1], stages) == rules.KIND_RANK["interview"]
    assert rules.rank_of(stages[2], stages) == rules.FINAL_INTERVIEW_RANK
    assert rules.rank_of(stages[4], stages) == rules.KIND_RANK["offer"]
    assert rules.min_rank_for("interview") < rules.FINAL_INTERVIEW_RANK < rules.min_rank_for("offer")
    assert err(rules.min_rank_for, "lunch") == (["stageReachedAtLeast"], "INVALID")


@dataclass
class M:
    id: UUID
    kind: str
    to_stage_id: UUID
    occurred_at: datetime
    from_stage_id: UUID | None = None
    actor_id: UUID | None = None
    source: str = "app"
    outcome: str | None = None
    outcome_reason: str | None = None
    seq: int = 0


def test_history_is_time_ordered_and_each_entry_ends_at_the_next():
    s1, s2, s3 = uuid4(), uuid4(), uuid4()
    moves = [M(uuid4(), "move", s3, T0 + timedelta(days=5), seq=2),
             M(uuid4(), "move", s1, T0, seq=1),
             M(uuid4(), "close", s3, T0 + timedelta(days=5), outcome="rejected",
               outcome_reason="skills", seq=4),
             M(uuid4(), "move", s2, T0 + timedelta(days=2), seq=3)]  # an out-of-order ATS move
    entries = rules.history(moves)
    assert [(e.stage_id, e.kind, e.entered_at, e.exited_at) for e in entries] == [
        (s1, "move", T0, T0 + timedelta(days=2)),
        (s2, "move", T0 + timedelta(days=2), T0 + timedelta(days=5)),
        (s3, "move", T0 + timedelta(days=5), T0 + timedelta(days=5)),
        (s3, "close", T0 + timedelta(days=5), None)]
    assert entries[-1].outcome == "rejected" and entries[-1].outcome_reason == "skills"


def test_out_of_order_moves_do_not_change_the_current_stage():
    assert rules.changes_current(T0, T0)
    assert rules.changes_current(T0 + timedelta(seconds=1), T0)
    assert not rules.changes_current(T0 - timedelta(microseconds=1), T0)


def test_summary_and_time_in_stage():
    assert rules.summary([]) == (0, 0, None)
    assert rules.summary([4, None, 3, 3]) == (3, 1, 3.33)
    assert rules.seconds_in_stage(T0, T0 + timedelta(hours=2)) == 7200
    assert rules.seconds_in_stage(T0, T0 - timedelta(hours=2)) == 0


def _scope(role: str | None, user: UUID | None = None, perms: frozenset[str] | None = None
           ) -> Scope:
    return Scope(tenant_id=uuid4(), user_id=user, role=role,
                 permissions=perms if perms is not None else ROLE_PERMISSIONS[role or "viewer"])


def test_who_may_act():
    me, other = uuid4(), uuid4()
    for role in ("admin", "recruiter", "coordinator"):
        assert rules.can_manage(_scope(role, me)) and rules.can_decide(_scope(role, me), other)
    for role in ("sourcer", "viewer", "hiring_manager"):
        assert not rules.can_manage(_scope(role, me))
    hm = _scope("hiring_manager", me)
    assert rules.can_decide(hm, me) and not rules.can_decide(hm, other)
    assert not rules.can_decide(hm, None)
    assert not rules.can_decide(_scope("viewer", me), me)
    partner = _scope(None, None, frozenset({"pipeline:write", "pipeline:read"}))
    assert rules.can_manage(partner)
    assert rules.can_submit_scorecard(_scope("viewer", me), me)
    assert not rules.can_submit_scorecard(_scope("recruiter", me), other)
    assert rules.can_submit_scorecard(_scope("admin", me), other)


def test_template_stages_are_checked_per_entry():
    assert rules.check_template_stages([{"name": " Screen ", "kind": "screen"}]) == [
        {"name": "Screen", "kind": "screen"}]
    assert err(rules.check_template_stages, []) == (["stages"], "REQUIRED")
    assert err(rules.check_template_stages, [{"name": "A", "kind": "screen"},
                                             {"name": "", "kind": "offer"}]) == (
        ["stages", "1", "name"], "REQUIRED")
    assert err(rules.check_template_stages, [{"name": "A", "kind": "x"}]) == (
        ["stages", "0", "kind"], "INVALID")
    assert [s["kind"] for s in rules.DEFAULT_STAGES] == list(rules.STAGE_KINDS)
    assert {o for o, _, _, _ in rules.DEFAULT_CLOSING_REASONS} == set(rules.REASONED_OUTCOMES)
    assert all(note == (key == "other") for _, key, _, note in rules.DEFAULT_CLOSING_REASONS)
