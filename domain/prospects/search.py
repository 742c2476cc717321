"""Rediscovery search: which prospects match a filter, in which order, one keyset page at a time.

Invariants:
- Only the scope's tenant's prospects, never merged-away ones, archived ones only on request.
- Every value a user gives reaches SQL as a bound parameter; SQL templates here are constants.
- Pages are keyset pages on (sort key..., id): stable while rows are added or change, for every
  ordering. A cursor carries the ordering it belongs to, its sort key and the row id.
- Text: every word must match. On PostgreSQL a word matches a token of the prospect's search
  text (the last word as a prefix), through the GIN index on `search_vector`; on SQLite it
  must appear in the search text (substring, LIKE).
- Relevance is two tiers, each newest first: all words in the name, title or company, then
  the other matches. Each tier is its own query, so that a common word costs a page of rows
  (walking the creation index) rather than ranking every match; a rare word uses the text
  index. On PostgreSQL the first tier is an exact index lookup too (see m0003).

The filter is a dataclass of optional fields: capabilities that come later add fields and their
conditions in `_filtered`; the JSON form (saved searches) ignores keys it does not know. The
pipeline's (job, department, stage reached, closing reason, interview score, hired, silver
medalist) hold on one application each and come from domain.pipeline.rediscovery as subqueries.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pypika_tortoise.context import SqlContext
from pypika_tortoise.terms import Criterion, Term, ValueWrapper
from pypika_tortoise.utils import format_alias_sql
from tortoise.expressions import Q, ResolveContext, Subquery
from tortoise.query_utils import QueryModifier
from tortoise.queryset import QuerySet

from domain.core import db
from domain.core.config import settings
from domain.core.errors import DomainError, NotFound
from domain.core.pagination import Page, check_page_args
from domain.core.scope import Scope
from domain.pipeline import rediscovery
from domain.pipeline import rules as pipeline_rules
from domain.prospects import projects, rules
from domain.prospects.models import CustomFieldDefinition, ProjectProspect, Prospect, ProspectTag

MAX_TEXT = 200
MAX_VALUES = 50  # entries per list in a filter
MAX_CUSTOM_CONDITIONS = 20
MIN_PREFIX = 2  # the last word matches as a prefix from this length on (PostgreSQL)
_CHUNK = 500  # ids per IN (...) list


class ContactStatus(enum.Enum):
    """From last_contacted_at / last_replied_at; the three never overlap."""

    NEVER_CONTACTED = "never_contacted"  # neither contacted nor ever replied
    CONTACTED_NO_REPLY = "contacted_no_reply"  # contacted, and no reply ever
    REPLIED = "replied"  # replied at least once


class OrderField(enum.Enum):
    RELEVANCE = "relevance"
    CREATED_AT = "created_at"
    LAST_ACTIVITY_AT = "last_activity_at"
    NAME = "name"


@dataclass(frozen=True)
class CustomFieldCondition:
    """On one custom field: equals / any_of (GraphQL `in`) for every type (for multi-select:
    contains that option / one of those options), min / max (inclusive) for numbers and dates."""

    key: str
    equals: Any = None
    any_of: list[Any] | None = None
    min: Any = None
    max: Any = None


@dataclass(frozen=True)
class ProspectFilter:
    """Every field is optional and narrows the result; lists match any of their values
    (tags_all: all of them). Datetime bounds: `after` inclusive, `before` exclusive."""

    text: str | None = None
    tags_any: list[str] = field(default_factory=list)
    tags_all: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    owner_ids: list[UUID] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)  # substrings, case-insensitive
    custom_fields: list[CustomFieldCondition] = field(default_factory=list)
    created_after: datetime | None = None
    created_before: datetime | None = None
    last_activity_after: datetime | None = None
    last_activity_before: datetime | None = None
    project_ids: list[UUID] = field(default_factory=list)  # in any of these projects
    contact_status: ContactStatus | None = None
    include_archived: bool = False
    # Past and current processes (rediscovery), all on one application of the prospect.
    job_ids: list[UUID] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    stage_reached_at_least: str | None = None  # a stage kind: it, or a later kind, reached
    closing_reasons: list[str] = field(default_factory=list)  # rejection / decline reason keys
    interview_score_min: float | None = None  # average submitted scorecard score
    hired: bool | None = None
    silver_medalist: bool = False  # final interview or offer reached, not hired

    def to_json(self) -> dict[str, Any]:
        """The stored form (saved searches): only what is set, JSON types only."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value == [] or (value is False and f.name != "hired"):
                continue
            if f.name == "custom_fields":
                value = [{k: v for k, v in vars(c).items() if v is not None} for c in value]
            elif isinstance(value, list):
                value = [str(v) if isinstance(v, UUID) else v for v in value]
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, enum.Enum):
                value = value.value
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProspectFilter:
        """The inverse of to_json; keys it does not know are ignored."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in (data or {}).items() if k in known}
        for name in ("owner_ids", "project_ids", "job_ids"):
            if name in values:
                values[name] = [UUID(str(v)) for v in values[name]]
        for name in ("created_after", "created_before", "last_activity_after",
                     "last_activity_before"):
            if values.get(name):
                values[name] = datetime.fromisoformat(values[name])
        if values.get("contact_status"):
            values["contact_status"] = ContactStatus(values["contact_status"])
        if "custom_fields" in values:
            values["custom_fields"] = [CustomFieldCondition(**c) for c in values["custom_fields"]]
        return cls(**values)


@dataclass(frozen=True)
class ProspectOrder:
    """field None: by relevance when there is text, else newest first. RELEVANCE without text
    orders like CREATED_AT. descending None: the field's natural direction (NAME ascending,
    the others descending)."""

    field: OrderField | None = None
    descending: bool | None = None

    def resolved(self, has_text: bool) -> tuple[OrderField, bool]:
        chosen = self.field or (OrderField.RELEVANCE if has_text else OrderField.CREATED_AT)
        if chosen is OrderField.RELEVANCE and not has_text:
            chosen = OrderField.CREATED_AT
        descending = self.descending if self.descending is not None else \
            chosen is not OrderField.NAME
        return chosen, descending

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.field is not None:
            out["field"] = self.field.value
        if self.descending is not None:
            out["descending"] = self.descending
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ProspectOrder:
        data = data or {}
        return cls(field=OrderField(data["field"]) if data.get("field") else None,
                   descending=data.get("descending"))


@dataclass(frozen=True)
class SearchCursor:
    """A position in one ordering: the sort key of a row and its id."""

    order: OrderField
    key: tuple[Any, ...]
    id: UUID

    def to_json(self) -> list[Any]:
        return [self.order.value, [v.isoformat() if isinstance(v, datetime) else v
                                   for v in self.key], str(self.id)]

    @classmethod
    def from_json(cls, data: Any) -> SearchCursor:
        """Raises ValueError (or TypeError, KeyError) for anything that is not a cursor."""
        order_raw, key_raw, id_raw = data
        order = OrderField(order_raw)
        key = list(key_raw)
        if order is OrderField.CREATED_AT:
            [created] = key
            parsed: tuple[Any, ...] = (_aware(datetime.fromisoformat(created)),)
        elif order is OrderField.LAST_ACTIVITY_AT:
            has, when = key
            if has not in (0, 1) or (when is None) != (has == 0):
                raise ValueError("inconsistent last-activity cursor")
            parsed = (has, _aware(datetime.fromisoformat(when)) if when else None)
        elif order is OrderField.NAME:
            [name] = key
            if not isinstance(name, str):
                raise ValueError("name cursor")
            parsed = (name,)
        else:
            tier, created = key
            if tier not in (0, 1) or isinstance(tier, bool):
                raise ValueError("relevance cursor")
            parsed = (tier, _aware(datetime.fromisoformat(created)))
        return cls(order, parsed, UUID(str(id_raw)))


@dataclass(frozen=True)
class SearchPage:
    first: int | None = None
    after: SearchCursor | None = None
    last: int | None = None
    before: SearchCursor | None = None


# --- checking a filter (pure) ------------------------------------------------------------------

def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _short_list(values: Sequence[Any], name: str) -> None:
    if len(values) > MAX_VALUES:
        raise DomainError(f"At most {MAX_VALUES} values.", field=["filter", name],
                          code="OUT_OF_RANGE")


def words_of(text: str | None) -> list[str]:
    """The words of a search text, lower-cased, without surrounding punctuation."""
    out = []
    for raw in (text or "").lower().split():
        word = raw.strip(".,;:!?\"'()[]{}<>*|&")
        if word:
            out.append(word)
    return out


def normalise_filter(f: ProspectFilter) -> ProspectFilter:
    """Bounds and normal forms (tags lower-cased, blanks dropped); errors name the field as
    ["filter", <field>, ...]. Custom field keys are checked against the tenant in `check_filter`."""
    text = (f.text or "").strip()
    if len(text) > MAX_TEXT:
        raise DomainError(f"At most {MAX_TEXT} characters.", field=["filter", "text"],
                          code="OUT_OF_RANGE")
    tags: dict[str, list[str]] = {}
    for name in ("tags_any", "tags_all"):
        values = getattr(f, name)
        _short_list(values, _camel(name))
        try:
            tags[name] = list(dict.fromkeys(rules.check_tag(t) for t in values))
        except DomainError as exc:
            raise DomainError(exc.message, field=["filter", _camel(name)],
                              code=exc.code) from exc
    for name in ("sources", "owner_ids", "locations", "project_ids", "job_ids", "departments",
                 "closing_reasons"):
        _short_list(getattr(f, name), _camel(name))
    if f.stage_reached_at_least is not None:
        pipeline_rules.check_kind(f.stage_reached_at_least,
                                  field=["filter", "stageReachedAtLeast"])
    rediscovery.check_conditions(_pipeline_conditions(f))
    if len(f.custom_fields) > MAX_CUSTOM_CONDITIONS:
        raise DomainError(f"At most {MAX_CUSTOM_CONDITIONS} conditions.",
                          field=["filter", "customFields"], code="OUT_OF_RANGE")
    stamps: dict[str, Any] = {
        n: _aware(getattr(f, n)) if getattr(f, n) else None
        for n in ("created_after", "created_before", "last_activity_after",
                  "last_activity_before")}
    return replace(
        f, text=text or None, tags_any=tags["tags_any"], tags_all=tags["tags_all"],
        sources=list(dict.fromkeys(s.strip() for s in f.sources if s.strip())),
        owner_ids=list(dict.fromkeys(f.owner_ids)),
        locations=list(dict.fromkeys(s.strip().lower() for s in f.locations if s.strip())),
        project_ids=list(dict.fromkeys(f.project_ids)),
        job_ids=list(dict.fromkeys(f.job_ids)),
        departments=list(dict.fromkeys(d.strip() for d in f.departments if d.strip())),
        closing_reasons=list(dict.fromkeys(r.strip() for r in f.closing_reasons if r.strip())),
        **stamps)


def _pipeline_conditions(f: ProspectFilter) -> rediscovery.ApplicationConditions:
    return rediscovery.ApplicationConditions(
        job_ids=list(f.job_ids), departments=list(f.departments),
        min_rank=pipeline_rules.KIND_RANK.get(f.stage_reached_at_least or ""),
        closing_reasons=list(f.closing_reasons), interview_score_min=f.interview_score_min,
        hired=f.hired, silver_medalist=f.silver_medalist)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@dataclass(frozen=True)
class _CheckedCondition:
    key: str
    kind: str
    equals: Any
    any_of: list[Any]
    min: Any
    max: Any


def check_condition(index: int, condition: CustomFieldCondition,
                    definition: CustomFieldDefinition | None) -> _CheckedCondition:
    """A condition fit for the field's type, or an error naming it:
    ["filter", "customFields", <index>, <key|equals|in|min|max>]."""
    where = ["filter", "customFields", str(index)]
    if definition is None:
        raise DomainError(f"Unknown custom field '{condition.key}'.", field=[*where, "key"],
                          code="NOT_FOUND")
    kind = definition.type
    any_of = list(condition.any_of or [])
    if condition.equals is None and not any_of and condition.min is None and condition.max is None:
        raise DomainError("Give equals, in, min or max.", field=where, code="REQUIRED")
    if len(any_of) > MAX_VALUES:
        raise DomainError(f"At most {MAX_VALUES} values.", field=[*where, "in"],
                          code="OUT_OF_RANGE")
    ranged = kind in ("number", "date")
    for name, value in (("min", condition.min), ("max", condition.max)):
        if value is not None and not ranged:
            raise DomainError(f"{name} applies to number and date fields only.",
                              field=[*where, name], code="INVALID")
    element = "single_select" if kind == "multi_select" else kind

    def one(value: Any, name: str) -> Any:
        if kind == "text" and not isinstance(value, str):
            raise DomainError("Expected text.", field=[*where, name])
        try:
            checked = rules.check_custom_value(element, list(definition.options), value,
                                               condition.key)
        except DomainError as exc:
            raise DomainError(exc.message, field=[*where, name], code=exc.code) from exc
        return float(checked) if kind == "number" else checked

    return _CheckedCondition(
        key=condition.key, kind=kind,
        equals=None if condition.equals is None else one(condition.equals, "equals"),
        any_of=[one(v, "in") for v in any_of],
        min=None if condition.min is None else one(condition.min, "min"),
        max=None if condition.max is None else one(condition.max, "max"))


@dataclass(frozen=True)
class _Prepared:
    """A filter checked against the tenant, with what its SQL needs."""

    filter: ProspectFilter
    conditions: list[_CheckedCondition]
    words: list[str]  # SQLite text search
    tsquery: str | None  # PostgreSQL text search
    strong_tsquery: str | None = None  # the same, in name, title and company only
    impossible: bool = False  # a condition nothing can meet (e.g. no visible project)

    @property
    def has_text(self) -> bool:
        return bool(self.words) if db.dialect() != "postgres" else self.tsquery is not None


async def _prepare(scope: Scope, conn: Any, f: ProspectFilter) -> _Prepared:
    """Inside a tenant transaction: custom field keys looked up, the text made a tsquery."""
    f = normalise_filter(f)
    impossible = False
    conditions: list[_CheckedCondition] = []
    if f.custom_fields:
        keys = [c.key for c in f.custom_fields]
        definitions = {d.key: d for d in await CustomFieldDefinition.filter(
            tenant_id=scope.tenant_id, archived_at=None, key__in=keys)}
        conditions = [check_condition(i, c, definitions.get(c.key))
                      for i, c in enumerate(f.custom_fields)]
    if f.project_ids:
        # Only projects the caller sees count: another's private project is not there at all.
        seen = await projects.projects_by_ids(scope, f.project_ids)
        f = replace(f, project_ids=[pid for pid in f.project_ids if pid in seen])
        impossible = not f.project_ids
    words = words_of(f.text)
    tsquery = strong = None
    if db.dialect() == "postgres":
        tsquery, strong = await _tsquery(conn, f.text or "" if words else "")
    return _Prepared(f, conditions, words, tsquery, strong, impossible)


# Name, title and company enter search_vector a second time, each word prefixed with this
# marker (migration m0003), so that "all words in name, title or company" is an exact GIN
# lookup. The query side applies the same regexp to the user's text, in the same statement.
STRONG_MARKER = "zq"


async def _tsquery(conn: Any, text: str) -> tuple[str | None, str | None]:
    """(every word anywhere, every word in name/title/company), tokenised by PostgreSQL's own
    parser (so 'node.js' or 'c++' match as they were indexed); the last word as a prefix while
    the user is still typing it. (None, None) when the text has no searchable token.

    The same statement makes the transaction plan each query for its values: the driver
    prepares statements, and a generic plan cannot know whether a word is rare (use the text
    index) or common (walk the creation index and stop after a page)."""
    custom_plans = "SELECT set_config('plan_cache_mode', 'force_custom_plan', true) AS mode"
    if not text:
        await conn.execute_query_dict(custom_plans)
        return None, None
    rows = await conn.execute_query_dict(
        f"{custom_plans}, plainto_tsquery('simple', $1)::text AS q, plainto_tsquery('simple', "
        f"regexp_replace($1, '(\\w+)', '{STRONG_MARKER}\\1', 'g'))::text AS strong", [text])
    query, strong = str(rows[0]["q"] or ""), str(rows[0]["strong"] or "")
    if not query:
        return None, None
    return _prefixed(query, text), _prefixed(strong, text)


def _prefixed(query: str, text: str) -> str:
    last = re.search(r"'((?:[^']|'')*)'$", query)
    if last and re.search(r"\w$", text) and len(last.group(1)) >= MIN_PREFIX:
        return query + ":*"
    return query


# --- SQL building blocks -------------------------------------------------------------------------

class _Sql(Criterion):
    """A constant SQL template whose {} holes take terms; anything else becomes a bound
    parameter. The only way raw SQL enters a query here."""

    def __init__(self, template: str, *args: Any, alias: str | None = None) -> None:
        super().__init__(alias=alias)
        self.template = template
        self.args = [a if isinstance(a, Term) else ValueWrapper(a) for a in args]

    def nodes_(self) -> Iterator[Any]:
        yield self
        for arg in self.args:
            yield from arg.nodes_()

    def get_sql(self, ctx: SqlContext) -> str:
        inner = ctx.copy(with_alias=False)
        sql = self.template.format(*(a.get_sql(inner) for a in self.args))
        return format_alias_sql(sql, self.alias, ctx) if ctx.with_alias else sql


class _Where(Q):
    """A Q node holding a ready criterion, so that such conditions combine with tortoise's own
    lookups (&, |) in one WHERE clause. Never negate it (~ rebuilds a plain Q)."""

    __slots__ = ("criterion",)

    def __init__(self, criterion: Criterion) -> None:
        super().__init__()
        self.criterion = criterion

    def __bool__(self) -> bool:
        return True

    def resolve(self, resolve_context: ResolveContext) -> QueryModifier:
        return QueryModifier(where_criterion=self.criterion)


def _col(name: str) -> Term:
    return Prospect._meta.basetable[name]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_condition(p: _Prepared) -> Q:
    if db.dialect() == "postgres":
        return _Where(_Sql("{} @@ CAST({} AS tsquery)", _col("search_vector"), p.tsquery))
    return Q(*[_Where(_Sql("{} LIKE {} ESCAPE '\\'", _col("search_text"),
                           f"%{_like_escape(w)}%")) for w in p.words])


def _strong_text() -> Term:
    return _Sql("LOWER({} || ' ' || {} || ' ' || {} || ' ' || {})", _col("first_name"),
                _col("last_name"), _col("title"), _col("company"))


def _all_words_strong(p: _Prepared) -> Criterion:
    """SQLite: every word is in the name, title or company."""
    parts = [_Sql("(INSTR({}, {}) > 0)", _strong_text(), w) for w in p.words]
    return _Sql(" AND ".join(["{}"] * len(parts)), *parts)


def _tiers(order: OrderField, p: _Prepared) -> list[tuple[int | None, Q | None]]:
    """Relevance is two tiers, best first: the text matches in name, title and company
    alone (1), or only with location and notes (0); newest first within a tier. Each tier is
    its own query, so a common word stops after a page of rows instead of ranking them all."""
    if order is not OrderField.RELEVANCE:
        return [(None, None)]
    # The strong words are also words of the search text, so the first tier needs no other
    # text condition (and the planner, seeing one condition, estimates its rows well).
    if db.dialect() == "postgres":
        vector = _col("search_vector")
        return [(1, _Where(_Sql("{} @@ CAST({} AS tsquery)", vector, p.strong_tsquery))),
                (0, Q(_text_condition(p), _Where(_Sql("NOT ({} @@ CAST({} AS tsquery))",
                                                      vector, p.strong_tsquery))))]
    return [(1, _Where(_all_words_strong(p))),
            (0, Q(_text_condition(p), _Where(_Sql("NOT ({})", _all_words_strong(p)))))]


def _custom_condition(c: _CheckedCondition) -> Q:
    postgres = db.dialect() == "postgres"
    doc = _col("custom_fields")
    path = f'$."{c.key}"'  # keys are [a-z0-9_] (rules.check_custom_field_key)
    if postgres:
        text_value = _Sql("({} ->> CAST({} AS text))", doc, c.key)
        if c.kind == "number":
            value: Term = _Sql("(CASE WHEN jsonb_typeof({} -> CAST({} AS text)) = 'number' "
                               "THEN ({} ->> CAST({} AS text))::float8 END)", doc, c.key, doc,
                               c.key)
        elif c.kind == "date":
            value = _Sql('({} COLLATE "C")', text_value)
        else:
            value = text_value
    else:
        value = _Sql("json_extract({}, {})", doc, path)

    def contains(option: Any) -> Criterion:
        if postgres:
            return _Sql("jsonb_exists({} -> CAST({} AS text), {})", doc, c.key, option)
        return _Sql("EXISTS (SELECT 1 FROM json_each({}, {}) WHERE value = {})", doc, path, option)

    def equal(option: Any) -> Criterion:
        if c.kind == "multi_select":
            return contains(option)
        if c.kind == "number" and not postgres:
            return _Sql("(json_type({}, {}) IN ('integer', 'real') AND {} = {})", doc, path,
                        value, option)
        return _Sql("{} = {}", value, option)

    parts: list[Q] = []
    if c.equals is not None:
        parts.append(_Where(equal(c.equals)))
    if c.any_of:
        parts.append(Q(*[_Where(equal(v)) for v in c.any_of], join_type=Q.OR))
    for op, bound in ((">=", c.min), ("<=", c.max)):
        if bound is None:
            continue
        if c.kind == "number" and not postgres:
            parts.append(_Where(_Sql(f"(json_type({{}}, {{}}) IN ('integer', 'real') "
                                     f"AND {{}} {op} {{}})", doc, path, value, bound)))
        else:
            parts.append(_Where(_Sql(f"{{}} {op} {{}}", value, bound)))
    return Q(*parts)


def _in_subquery(model: Any, tenant_id: UUID, **conditions: Any) -> Q:
    return Q(id__in=Subquery(model.filter(tenant_id=tenant_id, **conditions)
                             .values("prospect_id")))


def _filtered(scope: Scope, p: _Prepared, *, text: bool = True) -> QuerySet[Prospect]:
    """The filter as a queryset; text=False leaves the text to the relevance tiers."""
    f = p.filter
    tid = scope.tenant_id
    qs = Prospect.filter(tenant_id=tid, merged_into_id=None)
    if not f.include_archived:
        qs = qs.filter(archived_at=None)
    if p.impossible:
        qs = qs.filter(_Where(_Sql("1 = 0")))
    if p.has_text and text:
        qs = qs.filter(_text_condition(p))
    if f.sources:
        qs = qs.filter(source__in=f.sources)
    if f.owner_ids:
        qs = qs.filter(owner_id__in=f.owner_ids)
    if f.locations:
        # ILIKE on the column itself (not UPPER(column) LIKE, tortoise's icontains): the
        # planner then estimates it from the column's statistics.
        like = "ILIKE" if db.dialect() == "postgres" else "LIKE"
        qs = qs.filter(Q(*[_Where(_Sql(f"{{}} {like} {{}} ESCAPE '\\'", _col("location"),
                                       f"%{_like_escape(loc)}%")) for loc in f.locations],
                         join_type=Q.OR))
    if f.tags_any:
        qs = qs.filter(_in_subquery(ProspectTag, tid, tag__in=f.tags_any))
    for tag in f.tags_all:
        qs = qs.filter(_in_subquery(ProspectTag, tid, tag=tag))
    if f.project_ids:
        qs = qs.filter(_in_subquery(ProjectProspect, tid, project_id__in=f.project_ids))
    for condition in p.conditions:
        qs = qs.filter(_custom_condition(condition))
    if f.created_after:
        qs = qs.filter(created_at__gte=f.created_after)
    if f.created_before:
        qs = qs.filter(created_at__lt=f.created_before)
    if f.last_activity_after:
        qs = qs.filter(last_activity_at__gte=f.last_activity_after)
    if f.last_activity_before:
        qs = qs.filter(last_activity_at__lt=f.last_activity_before)
    if f.contact_status is ContactStatus.NEVER_CONTACTED:
        qs = qs.filter(last_contacted_at=None, last_replied_at=None)
    elif f.contact_status is ContactStatus.CONTACTED_NO_REPLY:
        qs = qs.filter(last_contacted_at__isnull=False, last_replied_at=None)
    elif f.contact_status is ContactStatus.REPLIED:
        qs = qs.filter(last_replied_at__isnull=False)
    conditions = _pipeline_conditions(f)
    if conditions:
        qs = qs.filter(rediscovery.prospect_condition(tid, conditions))
    return qs


# --- ordering and keyset pages -------------------------------------------------------------------

@dataclass(frozen=True)
class _Key:
    """One sort key: a model field (compared through tortoise, which converts values) or an
    annotation (compared as a term)."""

    name: str
    term: Term | None = None  # set for annotations

    def compare(self, op: str, value: Any) -> Q:
        """op: lt, gt or eq. A NULL key equals only NULL and is neither above nor below."""
        if value is None:
            if op != "eq":
                return _Where(_Sql("1 = 0"))
            lookup: dict[str, Any] = {f"{self.name}__isnull": True}
            return Q(**lookup)
        if self.term is None:
            lookup = {self.name if op == "eq" else f"{self.name}__{op}": value}
            return Q(**lookup)
        sql = {"lt": "{} < {}", "gt": "{} > {}", "eq": "{} = {}"}[op]
        return _Where(_Sql(sql, self.term, value))


_ID = _Key("id")


def _keys(order: OrderField) -> list[_Key]:
    """The sort keys before the id (within a relevance tier: creation). NULL last activity
    counts as oldest (after everything in descending order, first in ascending): a flag key
    keeps that the same on both databases."""
    if order is OrderField.NAME:
        return [_Key("search_name", _Sql("LOWER({} || ' ' || {})", _col("first_name"),
                                         _col("last_name")))]
    if order is OrderField.LAST_ACTIVITY_AT:
        return [_Key("search_has_activity",
                     _Sql("(CASE WHEN {} IS NULL THEN 0 ELSE 1 END)", _col("last_activity_at"))),
                _Key("last_activity_at")]
    return [_Key("created_at")]


def _beyond(keys: list[_Key], values: Sequence[Any], descending: bool) -> Q:
    """Rows strictly after `values` in the order (keys..., descending or not)."""
    op = "lt" if descending else "gt"
    alternatives = []
    for i, key in enumerate(keys):
        if values[i] is None:
            continue  # nothing sorts strictly beyond NULL within the NULL group
        alternatives.append(Q(*[keys[j].compare("eq", values[j]) for j in range(i)],
                              key.compare(op, values[i])))
    if not alternatives:
        return _Where(_Sql("1 = 0"))
    return Q(*alternatives, join_type=Q.OR)


def cursor_of(row: Prospect, order: OrderField) -> SearchCursor:
    """The cursor of a row returned by search_prospects in that ordering."""
    key: tuple[Any, ...]
    if order is OrderField.RELEVANCE:
        key = (row.search_tier, row.created_at)  # type: ignore[attr-defined]
    elif order is OrderField.NAME:
        key = (row.search_name,)  # type: ignore[attr-defined]
    elif order is OrderField.LAST_ACTIVITY_AT:
        key = (1 if row.last_activity_at else 0, row.last_activity_at)
    else:
        key = (row.created_at,)
    return SearchCursor(order, key, row.id)


def _check_cursor(cursor: SearchCursor | None, order: OrderField, argument: str) -> None:
    if cursor is not None and cursor.order is not order:
        raise DomainError("This cursor belongs to another ordering.", field=argument,
                          code="INVALID")


@dataclass
class SearchResult(Page[Prospect]):
    """A page, and the ordering it ran in (what its cursors are for)."""

    order: OrderField = OrderField.CREATED_AT

    def cursor(self, row: Prospect) -> SearchCursor:
        return cursor_of(row, self.order)


async def search_prospects(scope: Scope, *, filter: ProspectFilter, order: ProspectOrder,
                           page: SearchPage) -> SearchResult:
    """One page of the prospects matching `filter`, whatever the page size in at most: one
    statement preparing the text and the plans (PostgreSQL), the custom field definitions
    (with custom field conditions), the visible projects (with projects), and one query per
    relevance tier (two; one for the other orderings)."""
    scope.require("prospects:read")
    size = check_page_args(_ids_only(page), settings().max_page_size)
    async with db.tenant_tx(scope) as conn:
        p = await _prepare(scope, conn, filter)
        field_, descending = order.resolved(p.has_text)
        _check_cursor(page.after, field_, "after")
        _check_cursor(page.before, field_, "before")
        keys = [*_keys(field_), _ID]
        backwards = page.last is not None
        walk_descending = descending != backwards
        start, stop = (page.before, page.after) if backwards else (page.after, page.before)
        tiers = _tiers(field_, p)
        if not walk_descending:
            tiers.reverse()
        base = _filtered(scope, p, text=tiers[0][1] is None)
        for key in keys:
            if key.term is not None:
                base = base.annotate(**{key.name: key.term})
        ordering = [("-" if walk_descending else "") + k.name for k in keys]
        rows: list[Prospect] = []
        for tier, condition in tiers:
            qs = base if condition is None else base.filter(condition)
            outside = False
            for bound, towards_descending in ((start, walk_descending),
                                              (stop, not walk_descending)):
                if bound is None:
                    continue
                values = list(bound.key)
                if tier is not None:
                    bound_tier = values.pop(0)
                    if tier != bound_tier:
                        # The whole tier is past this bound, or short of it.
                        outside = outside or (tier > bound_tier if towards_descending
                                              else tier < bound_tier)
                        continue
                qs = qs.filter(_beyond(keys, [*values, bound.id], towards_descending))
            if outside:
                continue
            found = list(await qs.order_by(*ordering).limit(size + 1 - len(rows)))
            for row in found:
                row.search_tier = tier
            rows += found
            if len(rows) > size:
                break
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
        return SearchResult(rows, has_next_page=page.before is not None,
                            has_previous_page=more, order=field_)
    return SearchResult(rows, has_next_page=more, has_previous_page=page.after is not None,
                        order=field_)


def _ids_only(page: SearchPage) -> Any:
    from domain.core.pagination import PageArgs

    return PageArgs(first=page.first, last=page.last)


async def check_filter(scope: Scope, f: ProspectFilter) -> ProspectFilter:
    """The filter in normal form (ids kept as given: unknown ones match nothing), or the error
    a search with it would raise."""
    async with db.tenant_tx(scope) as conn:
        await _prepare(scope, conn, f)
    return normalise_filter(f)


async def matching_ids(scope: Scope, filter: ProspectFilter, limit: int) -> list[UUID]:
    """Ids of up to `limit` prospects matching `filter`, oldest first (for bulk actions)."""
    scope.require("prospects:read")
    async with db.tenant_tx(scope) as conn:
        p = await _prepare(scope, conn, filter)
        found: list[Any] = list(await _filtered(scope, p).order_by("id").limit(limit)
                                .values_list("id", flat=True))
        return found


async def visible_ids(scope: Scope, ids: Sequence[UUID], *, field: str = "prospectIds"
                      ) -> list[UUID]:
    """The given ids, deduplicated, in order, if all are visible prospects; else NotFound
    naming the first unknown one as [field, index]."""
    unique = list(dict.fromkeys(ids))
    found: set[Any] = set()
    async with db.tenant_tx(scope):
        for start in range(0, len(unique), _CHUNK):
            found |= set(await Prospect.filter(
                tenant_id=scope.tenant_id, merged_into_id=None,
                id__in=unique[start:start + _CHUNK]).values_list("id", flat=True))
    for index, raw in enumerate(ids):
        if raw not in found:
            raise NotFound("No such prospect.", field=[field, str(index)])
    return unique



async def selected_ids(scope: Scope, prospect_ids: Sequence[UUID] | None,
                       filter: ProspectFilter | None, *, limit: int) -> list[UUID]:
    """What a bulk action or an export acts on: the given ids (all visible, else NotFound) or
    the filter's matches, exactly one of the two, at most `limit` of them (else OUT_OF_RANGE
    rather than acting on a silently cut selection)."""
    if (prospect_ids is None) == (filter is None):
        raise DomainError("Give either prospectIds or filter.", field="prospectIds",
                          code="INVALID")
    if prospect_ids is not None:
        if not prospect_ids:
            raise DomainError("Pick at least one prospect.", field="prospectIds",
                              code="REQUIRED")
        if len(prospect_ids) > limit:
            raise DomainError(f"At most {limit} prospects at once.", field="prospectIds",
                              code="OUT_OF_RANGE")
        return await visible_ids(scope, prospect_ids)
    assert filter is not None
    ids = await matching_ids(scope, filter, limit + 1)
    if len(ids) > limit:
        raise DomainError(f"The filter matches more than {limit} prospects; narrow it.",
                          field="filter", code="OUT_OF_RANGE")
    return ids
