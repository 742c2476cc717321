"""Parsing and validation, cached together by query text, in one schema extension.

Strawberry's ParserCache, ValidationCache, MaxTokensLimiter and AddValidationRules do this as
four extensions; strawberry pays a per-hook cost for every extension on every request, and
its validation cache hashes the whole document tree per request. Keying both on the query
string (whose hash Python caches) makes a repeated query cost two dictionary lookups.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from api.flat_executor import Plan
from api.limits import Limits, check_limits


class Parsed(NamedTuple):
    document: DocumentNode
    errors: list[GraphQLError]
    # operation name -> its plan on the flat path (api.flat_executor), None when not flat
    flat_plans: dict[str | None, Plan | None]


class Documents:
    """A bounded LRU of query text -> Parsed (document, validation errors, flat plans): unique
    query texts from the public cannot grow memory without limit."""

    def __init__(self, rules: Sequence[type[ASTValidationRule]], limits: Limits,
                 max_tokens: int, maxsize: int = 512) -> None:
        self.rules = tuple(specified_rules) + tuple(rules)
        self.limits = limits
        self.max_tokens = max_tokens
        self.maxsize = maxsize
        self._entries: OrderedDict[str, Parsed] = OrderedDict()

    def get(self, schema: GraphQLSchema, query: str) -> Parsed:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            return entry
        document = parse(query, max_tokens=self.max_tokens)  # raises on syntax errors: not cached
        # Limits first, in linear time: a document over them never reaches the validation
        # rules, some of which are slow on adversarial documents.
        errors = check_limits(document, self.limits) or validate_document(schema, document,
                                                                           self.rules)
        entry = Parsed(document, errors, {})
        self._entries[query] = entry
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return entry


class DocumentCache(SchemaExtension):
    def __init__(self, documents: Documents) -> None:
        self._documents = documents
        self._errors: list[GraphQLError] | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self._documents.max_tokens
        try:
            document, self._errors, _ = self._documents.get(context.schema._schema,
                                                            context.query or "")
            context.graphql_document = document
        except GraphQLError:
            pass  # strawberry parses again and reports it as a pre-execution error
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self._errors is not None:
            context.pre_execution_errors = self._errors
        document = context.graphql_document
        # Strawberry falls back to the first operation when no name is given; the spec says
        # a document with several operations needs operationName.
        if (document is not None and context._provided_operation_name is None and not self._errors
                and sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1):
            context.pre_execution_errors = [GraphQLError(
                "The document has several operations: say which with operationName.")]
        yield


def document_cache(documents: Documents) -> Callable[[], DocumentCache]:
    """A factory of per-request extensions sharing one cache."""
    return lambda: DocumentCache(documents)
