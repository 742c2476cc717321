"""Keyset pagination on time-ordered primary keys, forwards and backwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from tortoise.queryset import QuerySet

from domain.core.errors import DomainError

T = TypeVar("T")


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: UUID | None = None
    last: int | None = None
    before: UUID | None = None


@dataclass
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool
    has_previous_page: bool


def check_page_args(args: PageArgs, max_size: int) -> int:
    """The page size to use, or a field error naming the offending argument."""
    if args.first is not None and args.last is not None:
        raise DomainError("Pass either first or last, not both.", field="last", code="INVALID")
    for name, value in (("first", args.first), ("last", args.last)):
        if value is not None and not 0 <= value <= max_size:
            raise DomainError(f"{name} must be between 0 and {max_size}.", field=name,
                              code="OUT_OF_RANGE")
    size = args.last if args.last is not None else args.first
    return max_size if size is None else size


async def paginate(qs: QuerySet[Any], args: PageArgs, max_size: int, *,
                   newest_first: bool = False) -> Page[Any]:
    """Pages in id order (creation order), or newest first; after/before are ids."""
    size = check_page_args(args, max_size)
    later, earlier = ("id__lt", "id__gt") if newest_first else ("id__gt", "id__lt")
    if args.after is not None:
        qs = qs.filter(**{later: args.after})
    if args.before is not None:
        qs = qs.filter(**{earlier: args.before})
    backwards = args.last is not None
    ascending = backwards == newest_first
    rows = list(await qs.order_by("id" if ascending else "-id").limit(size + 1))
    return to_page(rows, args, size)


def to_page(rows: list[T], args: PageArgs, size: int) -> Page[T]:
    """The page of up to size + 1 rows read in the page's direction (backwards for `last`):
    the extra row only says that there is more."""
    more = len(rows) > size
    rows = rows[:size]
    if args.last is not None:
        rows.reverse()
        return Page(rows, has_next_page=args.before is not None, has_previous_page=more)
    return Page(rows, has_next_page=more, has_previous_page=args.after is not None)
