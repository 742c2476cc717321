"""Fields that are a column of the row a GraphQL type wraps (`row: Private[Model]`)."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import strawberry


def row_field(column: str, description: str | None = None) -> Any:
    """`title: str = row_field("title")`: the field's type is the annotation; the value is
    self.row.title. A plain read, so it takes the flat path (api/flat_executor.py)."""
    read = attrgetter(column)

    def resolve(self):  # unannotated: strawberry takes the type from the annotation
        return read(self.row)

    resolve.__name__ = column
    return strawberry.field(resolver=resolve, description=description)
