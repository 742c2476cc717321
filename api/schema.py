"""The schema: root types assembled from each context, and the limits it runs under."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, cast

import strawberry
from graphql import GraphQLObjectType
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from api.context import context_of
from api.document_cache import Documents, document_cache
from api.flat_executor import CONTEXT_READ, PLAIN_READ
from api.limits import Limits
from api.mailboxes import loaders as mailbox_loaders
from api.mailboxes.mutations import MailboxMutation
from api.mailboxes.queries import MailboxQuery
from api.pipeline import loaders as pipeline_loaders
from api.pipeline.ats import AtsMutation
from api.pipeline.board import BoardQuery
from api.pipeline.mutations import PipelineMutation
from api.pipeline.queries import PipelineQuery
from api.projects import loaders as project_loaders
from api.projects.schema import ProjectMutation, ProjectQuery
from api.prospects import loaders as prospect_loaders
from api.prospects.imports import ImportMutation, ImportQuery
from api.prospects.imports import register as register_imports
from api.prospects.mutations import ProspectMutation
from api.prospects.queries import ProspectQuery
from api.prospects.search import SearchMutation, SearchQuery
from api.relay import NODE_TYPES, Node, from_global_id
from api.slas.mutations import SlaMutation
from api.slas.queries import SlaQuery
from api.tenancy import loaders as tenancy_loaders
from api.tenancy.mutations import TenancyMutation
from api.tenancy.queries import TenancyQuery
from domain.core.config import Settings

tenancy_loaders.register()
register_imports()
project_loaders.register()
prospect_loaders.register()
pipeline_loaders.register()
mailbox_loaders.register()


async def _resolve_nodes(info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
    ctx = context_of(info)
    ctx.require_scope()
    pending = []
    for gid in ids:
        decoded = from_global_id(gid)
        batch = NODE_TYPES.get(decoded[0]) if decoded else None
        pending.append(ctx.loader(batch).load(decoded[1]) if batch and decoded else None)
    return [await p if p is not None else None for p in pending]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID; null when it does not exist "
                                  "or is not yours.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return (await _resolve_nodes(info, [id]))[0]

    @strawberry.field(description="Objects by global IDs, in order; null where not found.")
    async def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > 100:
            from api.errors import BadInput

            raise BadInput("At most 100 ids at once.", "ids")
        return await _resolve_nodes(info, ids)


@strawberry.type
class Query(NodeQuery, TenancyQuery, ProspectQuery, SearchQuery, ProjectQuery, ImportQuery,
            MailboxQuery,
            PipelineQuery, BoardQuery, SlaQuery):
    pass


@strawberry.type
class Mutation(TenancyMutation, ProspectMutation, SearchMutation, ProjectMutation,
               ImportMutation, MailboxMutation,
               PipelineMutation, AtsMutation, SlaMutation):
    pass


class Schema(strawberry.Schema):
    """The documents cache is shared by the schema extension (for schema.execute) and the
    HTTP endpoint, which executes cached documents with graphql-core directly."""

    documents: Documents

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Logging happens where errors are formatted: only unexpected ones, with the id."""


def build_schema(settings: Settings | None = None) -> Schema:
    production = bool(settings and settings.production)
    max_page = settings.max_page_size if settings else 100
    max_tokens = settings.max_tokens if settings else 2000
    max_depth = settings.max_query_depth if settings else 12
    max_aliases = settings.max_aliases if settings else 30
    max_cost = settings.max_query_cost if settings else 5000
    limits = Limits(max_depth=max_depth, max_aliases=max_aliases, max_cost=max_cost,
                    max_page=max_page)
    rules = [NoSchemaIntrospectionCustomRule] if production else []
    documents = Documents(rules, limits, max_tokens)
    schema = Schema(query=Query, mutation=Mutation, extensions=[document_cache(documents)],
                    config=StrawberryConfig(auto_camel_case=True))
    schema.documents = documents
    _resolve_simple_fields_directly(schema)
    return schema


def _resolve_simple_fields_directly(schema: Schema) -> None:
    """Strawberry wraps every field's resolution in several layers (an Info object, argument
    conversion, an extension chain) even where there is nothing to convert. On a list of a few
    hundred objects with a dozen fields each (the board's cards, a search page) those layers
    cost more than the fields themselves. For fields with no arguments, no extensions and a
    plain (not async) resolver or none, they are replaced by the call itself: the same
    arguments reach the same function, and errors propagate to graphql-core as before."""
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for graphql_field in graphql_type.fields.values():
            field = graphql_field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(field, StrawberryField) or field.extensions or field.arguments:
                continue
            if field.base_resolver is None:
                graphql_field.resolve = _attribute_reader(field.python_name)
            elif not field.is_async and not field.base_resolver.root_parameter and \
                    not field.base_resolver.parent_parameter and \
                    field.base_resolver.self_parameter:
                graphql_field.resolve = _method_caller(schema, field)


def _attribute_reader(name: str) -> Callable[..., Any]:
    read = attrgetter(name)

    def resolve(source: Any, info: Any, **arguments: Any) -> Any:
        return read(source)

    setattr(resolve, PLAIN_READ, read)
    return resolve


def _method_caller(schema: Schema, field: StrawberryField) -> Callable[..., Any]:
    assert field.base_resolver is not None
    method = cast(Callable[..., Any], field.base_resolver.wrapped_func)
    info_parameter = field.base_resolver.info_parameter
    if info_parameter is None:
        def resolve(source: Any, info: Any, **arguments: Any) -> Any:
            return method(source)
        setattr(resolve, PLAIN_READ, method)
        return resolve
    info_name, info_class = info_parameter.name, schema.config.info_class

    def resolve_with_info(source: Any, info: Any, **arguments: Any) -> Any:
        return method(source, **{info_name: info_class(_raw_info=info, _field=field)})

    def read_with_context(source: Any, context: Any) -> Any:
        raw: Any = _ContextOnly(context)
        return method(source, **{info_name: info_class(_raw_info=raw, _field=field)})

    setattr(resolve_with_info, CONTEXT_READ, read_with_context)
    return resolve_with_info


class _ContextOnly:
    """The resolve info of the flat path: the request's context and nothing else, so a
    resolver that wants more (a path, the selection) fails there and is left to graphql-core.
    A resolver that needs to load hands back an awaitable, which is left there too."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context
