"""CSV import and export of prospects."""

from __future__ import annotations

import strawberry


@strawberry.type
class ImportQuery:
    pass


@strawberry.type
class ImportMutation:
    pass
