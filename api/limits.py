"""Query limits checked before validation: depth, aliases and cost in one walk.

Cost counts list fields by their page size, so one request cannot ask for millions of rows
through nested connections (strawberry has no cost limit). Depth and aliases are counted in
the same walk rather than with strawberry's limiters because theirs walk a fragment again at
every spread: fragments that spread the next one twice make that exponential, and a
one-kilobyte document could block the event loop. Here each fragment is measured once.
The token limit is the parser's (max_tokens)."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
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


@dataclass(frozen=True)
class Measure:
    cost: int = 0
    depth: int = 0  # nesting of fields that have selections, as strawberry counts it
    aliases: int = 0


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_cost: int
    max_page: int


def measure(selection_set: SelectionSetNode | None,
            fragments: dict[str, FragmentDefinitionNode], max_page: int,
            visiting: frozenset[str] = frozenset(),
            memo: dict[str, Measure] | None = None) -> Measure:
    """Each fragment is measured once (memo), so fan-out spreads stay linear."""
    if selection_set is None:
        return Measure()
    memo = {} if memo is None else memo
    cost = depth = aliases = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            aliases += selection.alias is not None
            if selection.name.value.startswith("__"):  # introspection is not limited here
                continue
            inner = measure(selection.selection_set, fragments, max_page, visiting, memo)
            cost += 1 + _multiplier(selection, max_page) * inner.cost
            aliases += inner.aliases
            if selection.selection_set is not None:
                depth = max(depth, 1 + inner.depth)
            continue
        if isinstance(selection, InlineFragmentNode):
            inner = measure(selection.selection_set, fragments, max_page, visiting, memo)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:  # unknown or cyclic: validation says so
                continue
            if name not in memo:
                memo[name] = measure(fragment.selection_set, fragments, max_page,
                                     visiting | {name}, memo)
            inner = memo[name]
        else:
            continue
        cost += inner.cost
        aliases += inner.aliases
        depth = max(depth, inner.depth)
    return Measure(cost, depth, aliases)


def selection_cost(selection_set: SelectionSetNode | None,
                   fragments: dict[str, FragmentDefinitionNode], max_page: int) -> int:
    return measure(selection_set, fragments, max_page).cost


def check_limits(document: DocumentNode, limits: Limits) -> list[GraphQLError]:
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    memo: dict[str, Measure] = {}
    errors = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else "anonymous"
        found = measure(definition.selection_set, fragments, limits.max_page, memo=memo)
        if found.depth > limits.max_depth:
            errors.append(GraphQLError(
                f"'{name}' exceeds maximum operation depth of {limits.max_depth}",
                definition, extensions={"code": "QUERY_TOO_DEEP", "maxDepth": limits.max_depth}))
        if found.aliases > limits.max_aliases:
            errors.append(GraphQLError(
                f"{found.aliases} aliases found. Allowed: {limits.max_aliases}",
                definition, extensions={"code": "TOO_MANY_ALIASES",
                                        "maxAliases": limits.max_aliases}))
        if found.cost > limits.max_cost:
            errors.append(_too_costly(name, found.cost, limits.max_cost, definition))
    return errors


def _too_costly(name: str, cost: int, max_cost: int,
                node: OperationDefinitionNode) -> GraphQLError:
    return GraphQLError(
        f"Operation '{name}' costs {cost}, over the limit of {max_cost}; "
        "ask for smaller pages or fewer nested lists.",
        node, extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": max_cost})


def cost_limit_rule(max_cost: int, max_page: int) -> type[ValidationRule]:
    """The cost limit as a graphql-core validation rule, for schemas validated the usual way."""

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
                    context.report_error(_too_costly(name, cost, max_cost, definition))

    return CostLimit
