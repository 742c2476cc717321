"""Relay conventions: opaque global IDs, the Node interface, cursor connections."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from api.errors import BadInput
from domain.core.config import settings
from domain.core.errors import DomainError, NotFound
from domain.core.pagination import Page, PageArgs, check_page_args


def to_global_id(type_name: str, raw_id: UUID) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{raw_id}".encode())
                         .decode().rstrip("="))


def from_global_id(global_id: str) -> tuple[str, UUID] | None:
    """(type name, uuid), or None for anything malformed: treated like an unknown ID."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def expect_id(global_id: str, type_name: str) -> UUID | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]


def require_id(global_id: str | None, type_name: str, field: str | list[str],
               message: str | None = None) -> UUID:
    """The raw id of an input's global ID, or NotFound naming the field: a malformed ID or
    another type's is as unknown as another tenant's (which the service then reports)."""
    raw = expect_id(global_id, type_name) if global_id else None
    if raw is None:
        raise NotFound(message or f"No such {type_name}.", field=field)
    return raw


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    @strawberry.field(description="Opaque and stable; pass it to node(id:).")
    def id(self) -> strawberry.ID:
        raise NotImplementedError


# type name -> batch loader of ids in the request's scope, used by node()/nodes()
NodeLoader = Callable[[Any, Sequence[UUID]], Awaitable[dict[UUID, Any]]]
NODE_TYPES: dict[str, NodeLoader] = {}


def node_type(type_name: str, loader: NodeLoader) -> None:
    NODE_TYPES[type_name] = loader


def _fields(selections: Sequence[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:  # a fragment: its fields are the enclosing object's
            yield from _fields(selection.selections)


def selected_node_fields(info: strawberry.Info) -> set[str]:
    """Names of the fields the query selects on a connection's nodes, through `edges { node }`
    or `nodes`, fragments included."""
    names: set[str] = set()
    for connection_field in _fields(info.selected_fields):
        for part in _fields(connection_field.selections):
            if part.name == "nodes":
                names.update(f.name for f in _fields(part.selections))
            elif part.name == "edges":
                for edge_field in _fields(part.selections):
                    if edge_field.name == "node":
                        names.update(f.name for f in _fields(edge_field.selections))
    return names


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


T = TypeVar("T")


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field(description="The nodes of the edges, for clients that need no cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def encode_cursor(raw_id: UUID) -> str:
    return base64.urlsafe_b64encode(f"c:{raw_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, argument: str) -> UUID | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        if prefix != "c":
            raise ValueError(cursor)
        return UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"'{argument}' is not a valid cursor.", argument) from exc


def page_args(first: int | None, after: str | None, last: int | None,
              before: str | None) -> PageArgs:
    """Checked connection arguments; errors name the argument like every other BadInput."""
    args = PageArgs(first=first, after=decode_cursor(after, "after"), last=last,
                    before=decode_cursor(before, "before"))
    try:
        check_page_args(args, settings().max_page_size)
    except DomainError as exc:
        raise BadInput(exc.message, exc.field[-1]) from exc
    return args


def connection(page: Page[Any], convert: Callable[[Any], T]) -> Connection[T]:
    edges = [Edge(cursor=encode_cursor(item.id), node=convert(item)) for item in page.items]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=page.has_next_page, has_previous_page=page.has_previous_page,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    ))
