"""Time comes from here so that tests can move it (an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


clock: Clock = Clock()


def now() -> datetime:
    return clock.now()


def use_clock(new: Clock) -> Clock:
    """Swap the process clock; returns the previous one so callers can restore it."""
    global clock
    previous, clock = clock, new
    return previous
