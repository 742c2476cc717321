"""Rediscovery search: the prospects(filter:) query, saved searches, bulk actions."""

from __future__ import annotations

import strawberry


@strawberry.type
class SearchQuery:
    pass


@strawberry.type
class SearchMutation:
    pass
