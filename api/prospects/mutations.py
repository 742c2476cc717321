"""Prospect mutations."""

from __future__ import annotations

import strawberry


@strawberry.type
class ProspectMutation:
    pass
