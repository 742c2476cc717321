"""uuid7: version 7 ids, strictly increasing even within one millisecond."""

from __future__ import annotations

import itertools
import time
import uuid

from domain.core.ids import uuid7


def test_ids_made_in_a_tight_loop_are_strictly_increasing_version_7() -> None:
    before = time.time_ns() // 1_000_000
    ids = [uuid7() for _ in range(20_000)]  # many share a millisecond
    after = time.time_ns() // 1_000_000
    assert all(a.int < b.int for a, b in itertools.pairwise(ids))
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    stamps = {i.int >> 80 for i in ids}
    assert len(stamps) < len(ids)  # the loop did make ids within one millisecond
    assert before <= min(stamps) and max(stamps) <= after + 1
