"""Prospect queries (the search is in search.py)."""

from __future__ import annotations

import strawberry


@strawberry.type
class ProspectQuery:
    pass
