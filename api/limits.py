"""Query cost: list fields count by their page size, so one request cannot ask for millions
of rows through nested connections. Strawberry has depth, alias and token limits built in;
cost it has not."""

from __future__ import annotations

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)


def _multiplier(field: FieldNode, max_page: int) -> int:
    for arg in field.arguments or ():
        if arg.name.value in ("first", "last"):
            value = arg.value
            if isinstance(value, IntValueNode):
                return max(1, min(int(value.value), max_page))
            return max_page  # a variable: assume the worst
        if arg.name.value == "ids" and isinstance(arg.value, ListValueNode):
            return max(1, len(arg.value.values))
        if arg.name.value == "ids":
            return max_page
    return 1


def selection_cost(selection_set: SelectionSetNode | None,
                   fragments: dict[str, FragmentDefinitionNode], max_page: int,
                   visiting: frozenset[str] = frozenset(),
                   memo: dict[str, int] | None = None) -> int:
    """Each fragment's cost is computed once (memo), so fan-out spreads stay linear."""
    if selection_set is None:
        return 0
    memo = {} if memo is None else memo
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            children = selection_cost(selection.selection_set, fragments, max_page, visiting,
                                      memo)
            total += 1 + _multiplier(selection, max_page) * children
        elif isinstance(selection, InlineFragmentNode):
            total += selection_cost(selection.selection_set, fragments, max_page, visiting, memo)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:  # cycles are another rule's error
                continue
            if name not in memo:
                memo[name] = selection_cost(fragment.selection_set, fragments, max_page,
                                            visiting | {name}, memo)
            total += memo[name]
    return total


def cost_limit_rule(max_cost: int, max_page: int) -> type[ValidationRule]:
    class CostLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = {d.name.value: d for d in context.document.definitions
                         if isinstance(d, FragmentDefinitionNode)}
            for definition in context.document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                cost = selection_cost(definition.selection_set, fragments, max_page)
                if cost > max_cost:
                    name = definition.name.value if definition.name else "anonymous"
                    context.report_error(GraphQLError(
                        f"Operation '{name}' costs {cost}, over the limit of {max_cost}; "
                        "ask for smaller pages or fewer nested lists.",
                        definition, extensions={"code": "QUERY_TOO_COSTLY", "cost": cost,
                                                "maxCost": max_cost},
                    ))

    return CostLimit

