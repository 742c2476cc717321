"""A graphql-core executor with a fast path for flat objects.

A list of a few hundred result objects (the board's cards, a search page) spends most of its
time in graphql-core's per-field machinery: a resolve-info object, a path, awaitability
checks and completion dispatch for every field of every object. Where an object's selected
fields are all plain reads (marked by api.schema: attribute reads, or argument-free sync
methods) of scalars, enums or further such objects, that machinery does nothing the value
needs, so the object's result is built directly.

The fast path only ever returns what the normal path would: anything it is not sure of (a
null in a non-null field, a value that does not serialize, an awaitable, a deferred
fragment, an abstract or list type) makes it give up on that object, and the normal path
then completes it from the start, reporting errors exactly as it always does. A plain read
has no side effects, so reading a value twice is harmless.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.executor import Executor
from graphql.pyutils import Undefined

# Set by api.schema on the resolvers whose value is a plain read of the source object.
PLAIN_READ = "_talentgraph_plain_read"

# One entry per response key: (key, None, type name) for __typename; (key, read, coerce,
# non_null) for a leaf; (key, read, (is_type_of, sub-plan), non_null) for an object.
Plan = list[tuple[Any, ...]]


class _GiveUp(Exception):
    """This object is not flat after all: complete it the normal way."""


def _complete(plan: Plan, source: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, read, then, *non_null in plan:
        if read is None:
            out[key] = then
            continue
        value = read(source)
        if value is None:
            if non_null[0]:
                raise _GiveUp
            out[key] = None
        elif isinstance(value, Awaitable):
            if hasattr(value, "close"):
                value.close()  # a coroutine never awaited would warn
            raise _GiveUp
        elif isinstance(then, tuple):
            is_type_of, sub = then
            if is_type_of is not None and is_type_of(value, None) is not True:
                raise _GiveUp
            out[key] = _complete(sub, value)
        else:
            coerced = then(value)
            if coerced is None or coerced is Undefined:
                raise _GiveUp
            out[key] = coerced
    return out


class FlatExecutor(Executor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[Any, int], Plan | None] = {}

    def _plan(self, return_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        cache_key = (return_type, id(field_details_list))
        if cache_key in self._plans:
            return self._plans[cache_key]
        plan = self._build_plan(return_type, field_details_list)
        self._plans[cache_key] = plan
        return plan

    def _build_plan(self, return_type: GraphQLObjectType, field_details_list: Any
                    ) -> Plan | None:
        grouped, new_defer_usages, forbidden = self.collect_subfields(return_type,
                                                                      field_details_list)
        if new_defer_usages or forbidden:
            return None
        plan: Plan = []
        for key, details in grouped.items():
            if any(d.defer_usage is not None or d.fragment_variable_values for d in details):
                return None
            name = details[0].node.name.value
            if name == "__typename":
                plan.append((key, None, return_type.name))
                continue
            field = return_type.fields.get(name)
            read: Callable[[Any], Any] | None = field and getattr(field.resolve, PLAIN_READ,
                                                                   None)
            if field is None or read is None:
                return None
            non_null = isinstance(field.type, GraphQLNonNull)
            inner = field.type.of_type if non_null else field.type
            if is_leaf_type(inner):
                leaf: GraphQLLeafType = inner
                plan.append((key, read, leaf.coerce_output_value, non_null))
            elif is_object_type(inner):
                sub = self._plan(inner, details)
                if sub is None:
                    return None
                plan.append((key, read, (inner.is_type_of, sub), non_null))
            else:
                return None
        return plan

    def collect_and_execute_subfields(self, return_type: GraphQLObjectType,
                                      field_details_list: Any, path: Any, result: Any,
                                      position_context: Any) -> Any:
        plan = self._plan(return_type, field_details_list)
        if plan is not None:
            # A value the fast path cannot take, or an error a read raised, is the normal
            # path's to report (with its path and location), so it starts again from here.
            with contextlib.suppress(Exception):
                return _complete(plan, result)
        return super().collect_and_execute_subfields(return_type, field_details_list, path,
                                                     result, position_context)
