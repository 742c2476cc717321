"""Answering the flat parts of a query without graphql-core's per-field machinery.

A list of a few hundred result objects (the board's cards, a search page) spends most of its
time in graphql-core's per-field machinery: a resolve-info object, a path, awaitability
checks and completion dispatch for every field of every object. Where an object's selected
fields are all plain reads (marked by api.schema: attribute reads, or argument-free sync
methods) of scalars, enums, lists or further such objects, that machinery does nothing the
value needs, so the object's result is built directly. `FlatExecutor` does this per object
inside graphql-core's execution; `plan_operation`/`run_operation` do it for a whole query
whose every field is a plain read (`{ viewer { user { id } } }`), where setting up
graphql-core's executor alone costs more than the answer.

The fast path only ever returns what the normal path would: anything it is not sure of (a
null in a non-null field, a value that does not serialize, an awaitable, a deferred
fragment, an abstract type, a resolver that raises) makes it give up, and the normal path
then completes the object (or the whole operation) from the start, reporting errors exactly
as it always does. A plain read has no side effects, so reading a value twice is harmless.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    CollectedFields,
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.executor import Executor
from graphql.execution.values import get_variable_values
from graphql.pyutils import Undefined

# Set by api.schema on the resolvers whose value is a plain read of the source object:
# PLAIN_READ holds read(source), CONTEXT_READ read(source, context) for those that look at
# the request's context (through an Info that offers nothing else).
PLAIN_READ = "_talentgraph_plain_read"
CONTEXT_READ = "_talentgraph_context_read"


class _Object(NamedTuple):
    is_type_of: Callable[[Any, Any], Any] | None
    plan: Plan


class _List(NamedTuple):
    item_non_null: bool
    item: Then


# What to do with a field's value: coerce a leaf, complete an object, or each item of a list.
Then = Callable[[Any], Any] | _Object | _List
# One entry per response key: (key, None, False, type name, False) for __typename;
# (key, read, wants_context, then, non_null) otherwise.
Plan = list[tuple[str, Any, bool, Any, bool]]


# Whether values of a type are awaitable, by type: isinstance against the Awaitable ABC costs
# more than a dictionary lookup, once per value.
_AWAITABLE: dict[type, bool] = {}


class _GiveUp(Exception):
    """This value is not flat after all: complete it the normal way."""


def _complete(plan: Plan, source: Any, context: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, read, wants_context, then, non_null in plan:
        if read is None:
            out[key] = then
            continue
        value = read(source, context) if wants_context else read(source)
        if value is None:
            if non_null:
                raise _GiveUp
            out[key] = None
        else:
            out[key] = _value(then, value, context)
    return out


def _value(then: Then, value: Any, context: Any) -> Any:
    awaitable = _AWAITABLE.get(type(value))
    if awaitable is None:
        awaitable = _AWAITABLE[type(value)] = isinstance(value, Awaitable)
    if awaitable:
        if hasattr(value, "close"):
            value.close()  # a coroutine never awaited would warn
        raise _GiveUp
    if type(then) is _Object:
        if then.is_type_of is not None and then.is_type_of(value, None) is not True:
            raise _GiveUp
        return _complete(then.plan, value, context)
    if type(then) is _List:
        if not isinstance(value, list | tuple):
            raise _GiveUp
        items: list[Any] = []
        for item in value:
            if item is None:
                if then.item_non_null:
                    raise _GiveUp
                items.append(None)
            else:
                items.append(_value(then.item, item, context))
        return items
    coerced = then(value)  # type: ignore[operator]
    if coerced is None or coerced is Undefined:
        raise _GiveUp
    return coerced


class _Planner:
    """Plans per (object type, field group), given how to collect a group's subfields."""

    def __init__(self, collect: Callable[[GraphQLObjectType, list[FieldDetails]],
                                         CollectedFields]) -> None:
        self._collect = collect
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[Any, Plan | None]] = {}

    def plan(self, return_type: GraphQLObjectType, details: list[FieldDetails]
             ) -> Plan | None:
        cache_key = (return_type, id(details))
        cached = self._plans.get(cache_key)
        if cached is None:
            # The field group stays referenced so that its id is not reused while cached.
            cached = (details, self.plan_collected(return_type,
                                                   self._collect(return_type, details)))
            self._plans[cache_key] = cached
        return cached[1]

    def plan_collected(self, return_type: GraphQLObjectType, collected: CollectedFields
                       ) -> Plan | None:
        grouped, new_defer_usages, forbidden = collected
        if new_defer_usages or forbidden:
            return None
        plan: Plan = []
        for key, details in grouped.items():
            if any(d.defer_usage is not None or d.fragment_variable_values for d in details):
                return None
            name = details[0].node.name.value
            if name == "__typename":
                plan.append((key, None, False, return_type.name, False))
                continue
            field = return_type.fields.get(name)
            if field is None:
                return None
            read = getattr(field.resolve, PLAIN_READ, None)
            wants_context = read is None
            if wants_context:
                read = getattr(field.resolve, CONTEXT_READ, None)
            if read is None:
                return None
            non_null = isinstance(field.type, GraphQLNonNull)
            then = self._then(field.type.of_type if non_null else field.type, details)
            if then is None:
                return None
            plan.append((key, read, wants_context, then, non_null))
        return plan

    def _then(self, graphql_type: GraphQLOutputType, details: list[FieldDetails]
              ) -> Then | None:
        if is_leaf_type(graphql_type):
            return graphql_type.coerce_output_value
        if is_object_type(graphql_type):
            assert isinstance(graphql_type, GraphQLObjectType)
            sub = self.plan(graphql_type, details)
            return None if sub is None else _Object(graphql_type.is_type_of, sub)
        if isinstance(graphql_type, GraphQLList):
            item_type = graphql_type.of_type
            item_non_null = isinstance(item_type, GraphQLNonNull)
            item = self._then(item_type.of_type if item_non_null else item_type, details)
            return None if item is None else _List(item_non_null, item)
        return None  # interfaces and unions need type resolution: the normal path's job


def plan_operation(schema: GraphQLSchema, document: DocumentNode,
                   operation: OperationDefinitionNode) -> Plan | None:
    """The plan of a whole query operation, or None when some part of it is not flat.

    Only operations without variables: with none, what is selected (@skip/@include) and every
    argument are fixed by the document, so one plan serves every request sending it.
    """
    if operation.operation is not OperationType.QUERY or operation.variable_definitions:
        return None
    fragments: dict[str, FragmentDetails] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                return None
            fragments[definition.name.value] = FragmentDetails(definition)
    root_type = schema.query_type
    variable_values = get_variable_values(schema, (), {})
    if root_type is None or isinstance(variable_values, list):
        return None
    planner = _Planner(lambda return_type, details: collect_subfields(
        schema, fragments, variable_values, operation, return_type, details))
    return planner.plan_collected(root_type, collect_fields(
        schema, fragments, variable_values, root_type, operation))


def run_operation(plan: Plan, context: Any) -> dict[str, Any] | None:
    """The operation's data (root value None, as the endpoint executes), or None to say
    that the normal path must answer it."""
    try:
        return _complete(plan, None, context)
    except Exception:  # whatever it is, the normal path answers and reports it
        return None


class FlatExecutor(Executor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._planner = _Planner(self.collect_subfields)

    def collect_and_execute_subfields(self, return_type: GraphQLObjectType,
                                      field_details_list: Any, path: Any, result: Any,
                                      position_context: Any) -> Any:
        plan = self._planner.plan(return_type, field_details_list)
        if plan is not None:
            # A value the fast path cannot take, or an error a read raised, is the normal
            # path's to report (with its path and location), so it starts again from here.
            try:
                return _complete(plan, result, self.context_value)
            except Exception:  # noqa: S110 - the normal path below reports it
                pass
        return super().collect_and_execute_subfields(return_type, field_details_list, path,
                                                     result, position_context)
