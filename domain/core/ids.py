"""Time-ordered UUIDs (version 7): keyset pagination on the primary key follows creation order."""

from __future__ import annotations

import os
import time
import uuid

_RAND_BITS = 74  # rand_a (12) and rand_b (62) of RFC 9562's layout
_last = 0


def uuid7() -> uuid.UUID:
    """Monotonic within the process (RFC 9562, method 3): ids made in the same millisecond
    are ordered too (an event batch's activities, for one), by counting on from the last
    one's random part."""
    global _last
    ms = time.time_ns() // 1_000_000 & ((1 << 48) - 1)
    payload = ms << _RAND_BITS | int.from_bytes(os.urandom(10), "big") >> 6
    if payload <= _last:
        payload = _last + 1
    _last = payload
    value = payload >> _RAND_BITS << 80
    value |= 0x7 << 76
    value |= (payload >> 62 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= payload & ((1 << 62) - 1)
    return uuid.UUID(int=value)
