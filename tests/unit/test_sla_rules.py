"""The urgency of an application: a pure function of policy, stage entry, awaited scorecards,
the job's hold and now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.core.errors import DomainError, ValidationFailed
from domain.slas import rules
from domain.slas.errors import InvalidThresholds
from domain.slas.rules import Policy, urgency

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
REVIEW = Policy("application_review", 48, 96, "needs_decision", "recruiter", "tenant")


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def u(now: datetime, *, pending: int = 0, hold: datetime | None = None,
      policy: Policy = REVIEW) -> rules.Urgency:
    return urgency(policy, stage_entered_at=T0, pending_scorecards=pending, on_hold_since=hold,
                   now=now)


def test_green_until_one_second_before_yellow():
    got = u(at(hours=48, seconds=-1))
    assert got == rules.Urgency("green", "needs_decision", "recruiter", at(hours=48),
                                (48 * 3600 - 1) / 3600, False)


def test_yellow_exactly_at_the_yellow_threshold():
    got = u(at(hours=48))
    assert (got.status, got.due_at, got.hours_in_stage, got.rank) == ("yellow", at(hours=96),
                                                                      48.0, 1)


def test_yellow_one_second_before_red_and_red_exactly_at_it():
    assert u(at(hours=96, seconds=-1)).status == "yellow"
    red = u(at(hours=96))
    assert (red.status, red.due_at, red.rank) == ("red", at(hours=96), 0)
    assert u(at(days=30)).status == "red"


def test_at_entry_and_before_it():
    assert u(T0).status == "green"
    assert u(T0).hours_in_stage == 0.0
    assert u(at(hours=-1)).hours_in_stage == 0.0  # a clock behind the entry counts nothing


def test_awaited_scorecards_make_it_awaiting_feedback_for_the_hiring_manager():
    got = u(at(hours=50), pending=2)
    assert (got.status, got.action, got.owner_role) == ("yellow", "awaiting_feedback",
                                                        "hiring_manager")
    assert u(at(hours=50), pending=0).action == "needs_decision"


def test_on_hold_the_clock_stops_at_the_hold():
    # on hold after 47 hours: a month later it is still green, paused, nothing due
    held = u(at(days=30), hold=at(hours=47))
    assert (held.status, held.paused, held.due_at) == ("green", True, None)
    assert held.hours_in_stage == 30 * 24  # the wall clock still shows the real time
    # on hold exactly at the yellow threshold: yellow, and it stays yellow
    assert u(at(days=30), hold=at(hours=48)).status == "yellow"
    assert u(at(days=30), hold=at(hours=48, seconds=-1)).status == "green"
    # a hold that starts in the future (clock skew) changes nothing yet
    assert u(at(hours=50), hold=at(hours=60)).status == "yellow"


def test_entering_a_stage_during_a_hold_counts_nothing():
    got = urgency(REVIEW, stage_entered_at=at(hours=10), pending_scorecards=0,
                  on_hold_since=T0, now=at(days=20))
    assert (got.status, got.paused) == ("green", True)


@pytest.mark.parametrize("hold", [None, at(hours=30), at(hours=48), at(hours=100)])
@pytest.mark.parametrize("hours", [0, 47.99, 48, 60, 95.999, 96, 200])
def test_sql_cutoffs_agree_with_urgency(hold, hours):
    now = at(hours=hours)
    yellow, red = rules.cutoffs(REVIEW, on_hold_since=hold, now=now)
    expected = u(now, hold=hold).status
    from_cutoffs = "red" if T0 <= red else "yellow" if T0 <= yellow else "green"
    assert from_cutoffs == expected


def test_breach_levels_and_stage_entry_keys():
    assert rules.breach_levels("green") == []
    assert rules.breach_levels("yellow") == ["yellow"]
    assert rules.breach_levels("red") == ["yellow", "red"]
    assert rules.stage_entry_key("s", T0) == f"s@{int(T0.timestamp()) * 1_000_000}"
    assert rules.stage_entry_key("s", T0) != rules.stage_entry_key("s", at(microseconds=1))


def test_effective_policy_prefers_the_job_then_the_tenant_then_the_default():
    tenant = {"screen": Policy("screen", 1, 2, "needs_attention", "recruiter", "tenant")}
    job = {"screen": Policy("screen", 3, 4, "needs_decision", "hiring_manager", "job")}
    assert rules.effective("screen", tenant, job).source == "job"
    assert rules.effective("screen", tenant, {}).source == "tenant"
    assert rules.effective("offer", tenant, job) == rules.DEFAULT_POLICIES["offer"]
    assert set(rules.DEFAULT_POLICIES) == set(rules.STAGE_KINDS)
    for p in rules.DEFAULT_POLICIES.values():
        assert 0 < p.yellow_hours < p.red_hours
        assert p.action in rules.ACTIONS and p.owner_role in rules.OWNER_ROLES


def check(**overrides):
    args = {"stage_kind": "screen", "yellow_hours": 24, "red_hours": 48,
            "action": "needs_decision", "owner_role": "recruiter", "source": "tenant"}
    return rules.check_policy(**{**args, **overrides})


def test_check_policy_accepts_a_good_policy():
    assert check() == Policy("screen", 24, 48, "needs_decision", "recruiter", "tenant")


@pytest.mark.parametrize(("overrides", "field", "code"), [
    ({"yellow_hours": 0}, "yellowHours", "OUT_OF_RANGE"),
    ({"yellow_hours": -5}, "yellowHours", "OUT_OF_RANGE"),
    ({"red_hours": 24}, "redHours", "OUT_OF_RANGE"),  # equal to yellow
    ({"red_hours": 12}, "redHours", "OUT_OF_RANGE"),  # before yellow
    ({"red_hours": 24 * 365 + 1}, "redHours", "OUT_OF_RANGE"),
    ({"stage_kind": "lunch"}, "stageKind", "INVALID"),
    ({"action": "panic"}, "action", "INVALID"),
    ({"owner_role": "ceo"}, "ownerRole", "INVALID"),
])
def test_check_policy_names_the_field(overrides, field, code):
    with pytest.raises(DomainError) as raised:
        check(**overrides)
    assert (raised.value.field, raised.value.code) == ([field], code)
    assert isinstance(raised.value, InvalidThresholds) == field.endswith("Hours")


def test_check_policy_reports_every_bad_field_at_once():
    with pytest.raises(ValidationFailed) as raised:
        check(yellow_hours=0, action="x", owner_role="y")
    assert [e.field for e in raised.value.errors] == [["yellowHours"], ["action"], ["ownerRole"]]
