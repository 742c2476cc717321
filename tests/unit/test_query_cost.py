"""Query cost (api/limits.py): list fields count by their page size, through fragments."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    build_schema,
    parse,
    validate,
)

from api import limits
from api.limits import cost_limit_rule, selection_cost

MAX_PAGE = 100

SCHEMA = build_schema("""
    type Query {
      a: Int
      b: Int
      viewer: Viewer
      members(first: Int, last: Int, after: String): MemberConnection
      nodes(ids: [ID!]!): [Node]
    }
    interface Node { id: ID! }
    type Viewer { name: String, memberships: [Member] }
    type Member implements Node { id: ID!, name: String, friends(first: Int): MemberConnection }
    type MemberConnection { edges: [MemberEdge], count: Int }
    type MemberEdge { cursor: String, node: Member }
""")


def cost(query: str, max_page: int = MAX_PAGE) -> int:
    """The cost of the document's only operation."""
    document = parse(query)
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return selection_cost(operation.selection_set, fragments, max_page)


def cost_errors(query: str, max_cost: int) -> list[GraphQLError]:
    return validate(SCHEMA, parse(query), [cost_limit_rule(max_cost, MAX_PAGE)])


def test_each_plain_field_costs_one():
    assert cost("{ a b }") == 2
    assert cost("{ viewer { name } }") == 2


def test_lists_without_page_arguments_count_once():
    assert cost("{ viewer { memberships { id name } } }") == 1 + (1 + 2)


def test_first_multiplies_the_selection_below():
    # members + 10 * (edges + (cursor + (node + id)))
    assert cost("{ members(first: 10) { edges { cursor node { id } } } }") == 1 + 10 * (1 + (1 + 2))


def test_last_counts_like_first():
    assert cost("{ members(last: 7) { count } }") == cost("{ members(first: 7) { count } }") == 8


def test_page_size_is_capped_at_the_max_page_and_floored_at_one():
    assert cost("{ members(first: 100000) { count } }") == 1 + MAX_PAGE
    assert cost("{ members(first: 0) { count } }") == 2


def test_nested_pages_multiply():
    query = "{ members(first: 10) { edges { node { friends(first: 20) { count } } } } }"
    assert cost(query) == 1 + 10 * (1 + (1 + (1 + 20 * 1)))


def test_variables_count_as_the_max_page_size():
    query = "query ($n: Int) { members(first: $n) { count } }"
    assert cost(query) == 1 + MAX_PAGE
    assert cost(query, max_page=30) == 31


def test_ids_count_by_length_and_variables_as_the_max_page():
    assert cost('{ nodes(ids: ["1", "2", "3"]) { id } }') == 1 + 3
    assert cost("{ nodes(ids: []) { id } }") == 2
    assert cost("query ($ids: [ID!]!) { nodes(ids: $ids) { id } }") == 1 + MAX_PAGE


def test_introspection_fields_are_free():
    assert cost("{ __typename a }") == 1
    assert cost("{ members(first: 5) { __typename count } }") == 1 + 5


def test_named_fragments_cost_what_their_fields_cost():
    inline = "{ members(first: 10) { edges { node { id name } } } }"
    spread = ("{ members(first: 10) { edges { node { ...M } } } } "
              "fragment M on Member { id name }")
    assert cost(spread) == cost(inline) == 1 + 10 * (1 + (1 + 2))


def test_inline_fragments_cost_what_their_fields_cost():
    query = '{ nodes(ids: ["1", "2"]) { ... on Member { id name } ... { id } } }'
    assert cost(query) == 1 + 2 * 3


def test_fragments_within_fragments_and_repeated_spreads_add_up():
    query = ("{ ...Q ...Q } fragment Q on Query { members(first: 4) { ...C } } "
             "fragment C on MemberConnection { count edges { cursor } }")
    assert cost(query) == 2 * (1 + 4 * (1 + 2))


def test_unknown_fragments_cost_nothing():
    assert cost("{ a ...Missing }") == 1


@pytest.mark.parametrize("query", [
    "{ ...A } fragment A on Query { a ...A }",
    "{ ...A } fragment A on Query { a ...B } fragment B on Query { b ...A }",
    "{ viewer { ...V } } fragment V on Viewer { memberships { friends(first: 9) { "
    "edges { node { ... on Member { friends(first: 9) { ...C } } } } } } } "
    "fragment C on MemberConnection { edges { node { friends(first: 9) { ...C } } } }",
])
def test_fragment_cycles_do_not_hang(query):
    assert cost(query) > 0  # each cycle is walked once; NoFragmentCyclesRule reports it


def test_the_rule_reports_costly_operations_by_name_with_a_code():
    query = "query Big { members(first: 100) { edges { node { id name } } } }"
    [error] = cost_errors(query, max_cost=300)
    assert error.message.startswith("Operation 'Big' costs 401, over the limit of 300")
    assert error.extensions == {"code": "QUERY_TOO_COSTLY", "cost": 401, "maxCost": 300}


def test_the_rule_lets_operations_at_the_limit_through():
    assert cost_errors("{ members(first: 100) { count } }", max_cost=101) == []


def test_the_rule_costs_each_operation_on_its_own():
    query = ("query A { members(first: 60) { count } } "
             "query B { members(first: 60) { count } }")
    assert cost_errors(query, max_cost=61) == []
    assert [e.extensions["cost"] for e in cost_errors(query, max_cost=60)] == [61, 61]


def test_the_rule_names_anonymous_operations():
    [error] = cost_errors("{ members(first: 100) { count } }", max_cost=10)
    assert "'anonymous'" in error.message


def test_fragment_fan_out_is_walked_in_linear_time(monkeypatch):
    levels = 40
    query = ("{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}"
                                     for i in range(levels)) + f" fragment F{levels} on Query {{ a }}")
    calls = 0
    walk = limits.selection_cost

    def counted(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > 50 * levels:
            raise RuntimeError(f"over {50 * levels} steps for {levels} fragments")
        return walk(*args, **kwargs)

    monkeypatch.setattr(limits, "selection_cost", counted)  # the recursion looks it up here
    assert cost(query) == 2 ** levels
