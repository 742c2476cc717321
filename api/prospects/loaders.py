"""Node resolution for prospect types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from api.prospects.types import Prospect
from api.relay import node_type
from domain.core.scope import Scope
from domain.prospects import service


async def _prospects(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Any]:
    return {k: Prospect.of(v) for k, v in (await service.prospects_by_ids(scope, ids)).items()}


def register() -> None:
    node_type("Prospect", _prospects)
