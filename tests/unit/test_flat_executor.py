"""The flat paths answer exactly as graphql-core's own executor does, errors included: per
object (FlatExecutor) and for a whole operation (plan_operation/run_operation)."""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult, OperationDefinitionNode, execute, get_operation_ast, parse

from api.flat_executor import FlatExecutor, plan_operation, run_operation
from api.schema import _resolve_simple_fields_directly


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type
class Owner:
    name: str
    row_name: strawberry.Private[str | None] = None

    @strawberry.field
    def label(self) -> str:
        return f"<{self.name}>"

    @strawberry.field(graphql_type=str)
    def lazy(self, info: strawberry.Info) -> str | Awaitable[str]:
        if self.row_name is not None:
            return self.row_name

        async def load() -> str:
            return "loaded"
        return load()


@strawberry.type
class Card:
    title: str
    colour: Colour
    due: datetime | None
    owner: Owner | None
    broken: str  # declared non-null; some cards hold None

    @strawberry.field
    def shout(self) -> str:
        if self.title == "boom":
            raise ValueError("cannot shout")
        return self.title.upper()


def _cards() -> list[Card]:
    due = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ann = Owner(name="Ann", row_name="ann-row")
    return [Card(title="a", colour=Colour.RED, due=due, owner=ann, broken="x"),
            Card(title="b", colour=Colour.GREEN, due=None, owner=None, broken="y"),
            Card(title="boom", colour=Colour.GREEN, due=None, owner=Owner(name="Bo"), broken=None),  # type: ignore[arg-type]
            Card(title="c", colour=Colour.RED, due=due, owner=Owner(name="Cy"), broken="z")]


@strawberry.type
class Query:
    @strawberry.field(description="Nullable items: a failed card is null, the list stays.")
    def cards(self) -> list[Card | None]:
        return list(_cards())

    @strawberry.field
    def good_cards(self) -> list[Card]:
        return [c for c in _cards() if c.broken is not None and c.title != "boom"]

    @strawberry.field
    def grid(self) -> list[list[int | None]]:
        return [[1, None], [], [3]]

    @strawberry.field(description="Reads the request's context, as the viewer does.")
    def caller(self, info: strawberry.Info) -> str:
        return str(info.context["who"])

    @strawberry.field(description="Wants more of the resolve info than the context.")
    def where(self, info: strawberry.Info) -> str:
        return info.field_name

    @strawberry.field
    def first_owner(self) -> Owner:
        return Owner(name="Ann", row_name="ann-row")


@strawberry.type
class Mutation:
    @strawberry.field
    def touch(self) -> str:
        return "touched"


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation)
_resolve_simple_fields_directly(SCHEMA)


CONTEXT = {"who": "ada"}


async def _run(query: str, executor: Any) -> ExecutionResult:
    outcome = execute(SCHEMA._schema, parse(query), executor_class=executor,
                      context_value=CONTEXT)
    return await outcome if isinstance(outcome, Awaitable) else outcome


def _plain(result: ExecutionResult) -> tuple[Any, Any]:
    return result.data, [(e.message, e.path) for e in result.errors or []]


# A null in a non-null field (graphql-core's error), a resolver that raises, an awaitable:
# each of these is the normal path's to answer.
NOT_FLAT = ["{ cards { title broken } }", "{ cards { title shout } }",
            "{ cards { owner { lazy } } }"]


@pytest.mark.parametrize("query", [
    "{ goodCards { title colour due shout __typename owner { name label lazy } } }",
    "{ goodCards { t: title t2: title owner { ... on Owner { name } } } }",
    "{ goodCards { title ...F } } fragment F on Card { colour owner { name } }",
    "{ goodCards { title @skip(if: true) colour @include(if: false) due } }",
    *NOT_FLAT,
])
async def test_same_answer_as_graphql_core(query: str) -> None:
    fast = await _run(query, FlatExecutor)
    normal = await _run(query, None)
    assert normal.data is not None  # the cases are about fields, not a failed root
    assert _plain(fast) == _plain(normal)


async def test_only_objects_that_are_not_flat_take_the_normal_path(
        normal_path_completions: list[str]) -> None:
    completed = normal_path_completions
    flat = await _run("{ goodCards { title colour owner { name } } }", FlatExecutor)
    assert flat.errors is None and len(flat.data["goodCards"]) == 3  # type: ignore[index]
    assert completed == []  # every card (and owner) built by the fast path
    await _run("{ cards { title shout } }", FlatExecutor)
    assert completed == ["Card"]  # only the card whose resolver raised


def _whole(query: str) -> dict[str, Any] | None:
    document = parse(query)
    operation = get_operation_ast(document)
    assert isinstance(operation, OperationDefinitionNode)
    plan = plan_operation(SCHEMA._schema, document, operation)
    return None if plan is None else run_operation(plan, CONTEXT)


@pytest.mark.parametrize("query", [
    "{ goodCards { title colour due shout __typename owner { name label } } }",
    "{ a: caller b: caller __typename firstOwner { name label } }",
    "{ grid }",
    "{ goodCards { ...F } } fragment F on Card { title owner { ... on Owner { name } } }",
    "query Named { caller firstOwner { name @skip(if: true) label @include(if: true) } }",
])
async def test_a_whole_flat_query_is_answered_without_graphql_core(query: str) -> None:
    normal = await _run(query, None)
    assert normal.errors is None
    assert _whole(query) == normal.data


@pytest.mark.parametrize("query", [
    *NOT_FLAT,
    "{ caller where }",             # a resolver that wants more than the context
    "query Q($skip: Boolean!) { caller @skip(if: $skip) }",  # variables: no plan
    "mutation { touch }",           # only queries
])
async def test_anything_else_is_left_to_graphql_core(query: str) -> None:
    assert _whole(query) is None
