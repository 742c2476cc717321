"""The pipeline board, "my actions" and the SLA sweep's search: reads that order applications
by urgency in SQL.

Urgency in SQL: for every stage kind the effective SLA policy gives two cut-offs on
`stage_entered_at` (now - yellow hours, now - red hours; see domain.slas.rules.cutoffs), passed
as a small VALUES table `kp` per kind, plus `jp` per (job, kind) for the few jobs that differ
(an override, or on hold: the clock stops at `on_hold_since`). A CASE on stage_entered_at
against them gives the rank (0 red, 1 yellow, 2 green), so ordering and paging happen in the
database and the SLA colours shown are computed from the same policies in Python.

Board columns: for one job, its live stages in order (a column per stage); for several jobs,
one column per stage kind in kind order (application review ... hired), merging e.g. two
interview rounds of a job. Every board costs a fixed number of queries, whatever the number
of jobs, stages or applications: jobs, stages, two policy reads, counts, passthrough, and one
window-function query for the first page of every column with the cards' columns.
"""

# Statements are assembled from fixed fragments; every value is a bound parameter (_Sql.p).
# ruff: noqa: S608

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import Q

from domain.core import clock, db
from domain.core.errors import DomainError
from domain.core.scope import Scope
from domain.pipeline.models import Job, JobStage
from domain.pipeline.rules import STAGE_KINDS
from domain.pipeline.service import ScorecardSummary
from domain.slas import rules as sla
from domain.slas import service as slas
from domain.slas.models import JobSlaOverride

MAX_BOARD_JOBS = 500  # a board of more jobs shows the first 500 by creation
DEFAULT_CARDS, MAX_CARDS = 50, 100
NO_JOB = UUID(int=0)
KIND_LABELS = {"application_review": "Application review", "screen": "Screen",
               "hm_review": "Hiring manager review", "interview": "Interview", "offer": "Offer",
               "hired": "Hired"}


# --- SQL building: one statement text for both dialects ----------------------------------------

class _Sql:
    """Placeholders ($n::type on PostgreSQL, ? on SQLite) and their values. On SQLite,
    timestamps are compared as tortoise stores them: UTC ISO text with a space."""

    def __init__(self) -> None:
        self.pg = db.dialect() == "postgres"
        self.params: list[Any] = []

    def p(self, value: Any, pg_type: str = "text") -> str:
        if self.pg:
            self.params.append(value)
            return f"${len(self.params)}::{pg_type}"
        if isinstance(value, UUID):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat(sep=" ")
        self.params.append(value)
        return "?"

    def ids(self, values: Iterable[UUID]) -> str:
        return ", ".join(self.p(v, "uuid") for v in values)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _policy_ctes(q: _Sql, policies: slas.PolicySet, exceptions: Iterable[Job],
                 now: datetime) -> str:
    """kp(kind, y_cut, r_cut, owner) per kind; jp(job_id, kind, ...) per job that differs."""
    kp = []
    for kind in STAGE_KINDS:
        policy = policies.of(None, kind)
        yellow, red = sla.cutoffs(policy, on_hold_since=None, now=now)
        kp.append(f"({q.p(kind)}, {q.p(yellow, 'timestamptz')}, {q.p(red, 'timestamptz')}, "
                  f"{q.p(policy.owner_role)})")
    jp = []
    for job in exceptions:
        if job.on_hold_since is None and job.id not in policies.jobs:
            continue
        for kind in STAGE_KINDS:
            policy = policies.of(job.id, kind)
            yellow, red = sla.cutoffs(policy, on_hold_since=job.on_hold_since, now=now)
            jp.append(f"({q.p(job.id, 'uuid')}, {q.p(kind)}, {q.p(yellow, 'timestamptz')}, "
                      f"{q.p(red, 'timestamptz')}, {q.p(policy.owner_role)})")
    if not jp:  # VALUES cannot be empty: a row no application matches
        jp.append(f"({q.p(NO_JOB, 'uuid')}, {q.p('')}, {q.p(now, 'timestamptz')}, "
                  f"{q.p(now, 'timestamptz')}, {q.p('')})")
    return (f"kp(kind, y_cut, r_cut, owner) AS (VALUES {', '.join(kp)}), "
            f"jp(job_id, kind, y_cut, r_cut, owner) AS (VALUES {', '.join(jp)})")


URGENCY_SQL = ("CASE WHEN a.stage_entered_at <= COALESCE(jp.r_cut, kp.r_cut) THEN 0 "
               "WHEN a.stage_entered_at <= COALESCE(jp.y_cut, kp.y_cut) THEN 1 ELSE 2 END")
RANKED_FROM = ("FROM applications a "
               "JOIN job_stages s ON s.tenant_id = a.tenant_id AND s.id = a.stage_id "
               "JOIN kp ON kp.kind = s.kind "
               "LEFT JOIN jp ON jp.job_id = a.job_id AND jp.kind = s.kind")


def _pending_sql(q: _Sql, tenant_id: UUID, app: str, stage: str) -> str:
    return (f"(SELECT COUNT(*) FROM scorecards sc WHERE sc.tenant_id = {q.p(tenant_id, 'uuid')} "
            f"AND sc.application_id = {app} AND sc.stage_id = {stage} "
            "AND sc.submitted_at IS NULL)")


def _submitted_sql(q: _Sql, tenant_id: UUID, app: str) -> str:
    """Two columns: how many scores were submitted (any stage), and their sum."""
    def source() -> str:  # a placeholder per use (positional on SQLite)
        return (f"FROM scorecards sc WHERE sc.tenant_id = {q.p(tenant_id, 'uuid')} "
                f"AND sc.application_id = {app} AND sc.score IS NOT NULL")
    return f"(SELECT COUNT(*) {source()}) AS submitted, (SELECT SUM(sc.score) {source()}) AS total"


def _dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- cursors ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CardCursor:
    """A position in urgency order: rank (0 red .. 2 green), stage entry, id."""

    rank: int
    entered: datetime
    id: UUID

    def encode(self) -> str:
        raw = f"u:{self.rank}:{self.entered.astimezone(UTC).isoformat()}:{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @staticmethod
    def decode(cursor: str, *, field: str = "after") -> CardCursor:
        try:
            raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
            prefix, rank, rest = raw.split(":", 2)
            entered, _, ident = rest.rpartition(":")
            if prefix != "u" or rank not in ("0", "1", "2"):
                raise ValueError(raw)
            return CardCursor(int(rank), _dt(entered), UUID(ident))
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise DomainError(f"'{field}' is not a valid cursor.", field=field,
                              code="INVALID") from exc


def _cursor_sql(q: _Sql, c: CardCursor) -> str:
    return (f"(x.urgency > {q.p(c.rank, 'int')} OR (x.urgency = {q.p(c.rank, 'int')} AND "
            f"(x.entered > {q.p(c.entered, 'timestamptz')} OR "
            f"(x.entered = {q.p(c.entered, 'timestamptz')} AND x.id > {q.p(c.id, 'uuid')}))))")


def check_first(first: int | None, *, field: str = "first") -> int:
    size = DEFAULT_CARDS if first is None else first
    if not 0 <= size <= MAX_CARDS:
        raise DomainError(f"{field} must be between 0 and {MAX_CARDS}.", field=field,
                          code="OUT_OF_RANGE")
    return size


# --- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CardApplication:
    """The application columns a card shows (read with the page, not as ORM rows: a board
    has hundreds of cards)."""

    id: UUID
    job_id: UUID
    prospect_id: UUID
    stage_id: UUID
    stage_entered_at: datetime
    source: str
    recruiter_id: UUID | None
    updated_at: datetime


@dataclass(frozen=True)
class CardProspect:
    first_name: str
    last_name: str
    title: str
    company: str
    last_activity_at: datetime | None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Card:
    """An active application with its SLA status (from the same policies as the ordering)."""

    application: CardApplication
    job: Job
    stage_kind: str
    urgency: sla.Urgency
    owner_id: UUID | None  # the member who owns the next action
    cursor: CardCursor
    prospect: CardProspect | None
    scorecards: ScorecardSummary


@dataclass
class CardPage:
    cards: list[Card]
    has_next_page: bool
    has_previous_page: bool


@dataclass
class Column:
    key: str
    name: str
    kind: str
    stages: list[JobStage]
    count: int = 0  # active applications now in the column
    entered: int = 0  # applications that ever entered it
    went_on: int = 0  # of those, how many reached a later stage

    @property
    def passthrough(self) -> float | None:
        return None if not self.entered else self.went_on / self.entered


@dataclass(frozen=True)
class BoardFilter:
    job_ids: list[UUID] | None = None
    hiring_manager_id: UUID | None = None
    recruiter_id: UUID | None = None
    department: str | None = None
    stage_kinds: list[str] | None = None


@dataclass
class Board:
    jobs: list[Job]
    columns: list[Column]
    active: int
    total: int
    average_time_to_hire: float | None  # seconds from application to hire, hired ones so far
    now: datetime
    policies: slas.PolicySet
    by_kind: bool
    jobs_by_id: dict[UUID, Job] = field(default_factory=dict)


def _owner(role: str, application: CardApplication, job: Job) -> UUID | None:
    """The recruiter is the application's, else the job's; the hiring manager the job's."""
    if role == "hiring_manager":
        return job.hiring_manager_id
    return application.recruiter_id or job.recruiter_id


# The card's columns, read with the page: the application's, and the prospect's name, title,
# company and last activity (a display-only join of the prospects table, tenant-scoped like
# everything here and under RLS; the card's `prospect` object itself loads through
# domain.prospects). Scorecard figures: awaited at the current stage, submitted (any stage).
def _card_sql(q: _Sql, tenant_id: UUID, ranked: str) -> str:
    pending = _pending_sql(q, tenant_id, "a.id", "a.stage_id")
    submitted = _submitted_sql(q, tenant_id, "a.id")
    return (f"a.id AS id, a.job_id AS job_id, a.prospect_id AS prospect_id, "
            "a.stage_id AS stage_id, a.stage_entered_at AS stage_entered_at, "
            "a.source AS source, a.recruiter_id AS recruiter_id, a.updated_at AS updated_at, "
            "p.first_name AS first_name, p.last_name AS last_name, p.title AS title, "
            "p.company AS company, p.last_activity_at AS last_activity_at, "
            f"{ranked}.urgency AS urgency, {ranked}.kind AS kind, {pending} AS pending, "
            f"{submitted}")


def _card_from(ranked: str) -> str:
    return (f"JOIN applications a ON a.id = {ranked}.id "
            "LEFT JOIN prospects p ON p.tenant_id = a.tenant_id AND p.id = a.prospect_id "
            "AND p.merged_into_id IS NULL")


def _optional_uuid(value: Any) -> UUID | None:
    return None if value is None else _uuid(value)


def _card(row: dict[str, Any], job: Job, policies: slas.PolicySet, now: datetime,
          scope: Scope) -> Card:
    app = CardApplication(_uuid(row["id"]), _uuid(row["job_id"]), _uuid(row["prospect_id"]),
                          _uuid(row["stage_id"]), _dt(row["stage_entered_at"]),
                          str(row["source"]), _optional_uuid(row["recruiter_id"]),
                          _dt(row["updated_at"]))
    # names only for scopes that may read prospects, as through domain.prospects
    hidden = row["first_name"] is None or not scope.can("prospects:read")
    prospect = None if hidden else CardProspect(
        str(row["first_name"]), str(row["last_name"]), str(row["title"]), str(row["company"]),
        None if row["last_activity_at"] is None else _dt(row["last_activity_at"]))
    scorecards = _summary(row["submitted"], row["total"], row["pending"])
    kind = str(row["kind"])
    urgency = sla.urgency(policies.of(job.id, kind), stage_entered_at=app.stage_entered_at,
                          pending_scorecards=scorecards.awaiting, on_hold_since=job.on_hold_since,
                          now=now)
    return Card(app, job, kind, urgency, _owner(urgency.owner_role, app, job),
                CardCursor(int(row["urgency"]), app.stage_entered_at, app.id), prospect,
                scorecards)


def _summary(submitted: Any, total: Any, awaiting: Any) -> ScorecardSummary:
    count = int(submitted or 0)
    average = round(float(total) / count, 2) if count else None
    return ScorecardSummary(count, int(awaiting or 0), average)


# --- the board -------------------------------------------------------------------------------

def _check_filter(f: BoardFilter) -> BoardFilter:
    for index, kind in enumerate(f.stage_kinds or []):
        if kind not in STAGE_KINDS:
            raise DomainError(f"Unknown stage kind '{kind}'.", field=["stageKinds", str(index)],
                              code="INVALID")
    if f.department is not None and len(f.department) > 100:
        raise DomainError("A department has at most 100 characters.", field="department",
                          code="OUT_OF_RANGE")
    return f


async def load_board(scope: Scope, filter: BoardFilter) -> Board:
    """The selected jobs (open and on hold unless `job_ids` names them), their columns with
    counts and passthrough, and the summary. Another tenant's ids select nothing."""
    scope.require("pipeline:read")
    f = _check_filter(filter)
    now = clock.now()
    async with db.tenant_tx(scope) as conn:
        qs = Job.filter(tenant_id=scope.tenant_id)
        qs = qs.filter(id__in=f.job_ids) if f.job_ids is not None else qs.exclude(status="closed")
        if f.hiring_manager_id is not None:
            qs = qs.filter(hiring_manager_id=f.hiring_manager_id)
        if f.recruiter_id is not None:
            qs = qs.filter(recruiter_id=f.recruiter_id)
        if f.department is not None:
            qs = qs.filter(department__iexact=f.department.strip())
        jobs = list(await qs.order_by("created_at", "id").limit(MAX_BOARD_JOBS)) \
            if f.job_ids != [] else []
        if not jobs:
            return Board([], [], 0, 0, None, now, slas.PolicySet({}, {}), False)
        job_ids = [j.id for j in jobs]
        stages = list(await JobStage.filter(tenant_id=scope.tenant_id, job_id__in=job_ids,
                                            removed_at=None).order_by("position", "id"))
        policies = await slas.policy_set(scope, job_ids)
        by_kind = len(jobs) > 1
        columns = _columns(stages, by_kind, f.stage_kinds)
        q = _Sql()
        col = _column_sql(by_kind)
        secs = ("EXTRACT(EPOCH FROM (a.closed_at - a.created_at))" if q.pg
                else "(julianday(a.closed_at) - julianday(a.created_at)) * 86400.0")
        hired = "a.status = 'hired' AND a.closed_at IS NOT NULL"
        counts = await conn.execute_query_dict(
            f"SELECT {col} AS col, a.status AS status, COUNT(*) AS n, "
            f"SUM(CASE WHEN {hired} THEN {secs} ELSE 0 END) AS hire_secs, "
            f"SUM(CASE WHEN {hired} THEN 1 ELSE 0 END) AS hires "
            "FROM applications a JOIN job_stages s ON s.tenant_id = a.tenant_id "
            f"AND s.id = a.stage_id WHERE a.tenant_id = {q.p(scope.tenant_id, 'uuid')} "
            f"AND a.job_id IN ({q.ids(job_ids)}) GROUP BY {col}, a.status", q.params)
        q = _Sql()
        col = _column_sql(by_kind, "m.to_stage_id")
        passed = await conn.execute_query_dict(
            f"SELECT {col} AS col, COUNT(DISTINCT m.application_id) AS entered, "
            "COUNT(DISTINCT CASE WHEN a.furthest_position > s.position THEN m.application_id "
            "END) AS went_on FROM application_moves m "
            "JOIN job_stages s ON s.tenant_id = m.tenant_id AND s.id = m.to_stage_id "
            "JOIN applications a ON a.tenant_id = m.tenant_id AND a.id = m.application_id "
            f"WHERE m.tenant_id = {q.p(scope.tenant_id, 'uuid')} AND m.kind = 'move' "
            f"AND m.job_id IN ({q.ids(job_ids)}) GROUP BY {col}", q.params)
    by_key = {c.key: c for c in columns}
    active = total = hires = 0
    hire_secs = 0.0
    for row in counts:
        n = int(row["n"])
        total += n
        hires += int(row["hires"] or 0)
        hire_secs += float(row["hire_secs"] or 0)
        if row["status"] == "active":
            active += n
            key = _column_key(by_kind, row["col"])
            if key in by_key:
                by_key[key].count += n
    for row in passed:
        column = by_key.get(_column_key(by_kind, row["col"]))
        if column is not None:
            column.entered, column.went_on = int(row["entered"]), int(row["went_on"])
    return Board(jobs, columns, active, total, hire_secs / hires if hires else None, now,
                 policies, by_kind, {j.id: j for j in jobs})


# A column in SQL: the stage id (one job) or the kind's index (several jobs). Sorting and
# grouping on these (uuid, integer) is cheaper than on text under a collation.
KIND_INDEX_SQL = "CASE s.kind " + " ".join(
    f"WHEN '{kind}' THEN {i}" for i, kind in enumerate(STAGE_KINDS)) + " END"


def _column_sql(by_kind: bool, stage: str = "a.stage_id") -> str:
    return KIND_INDEX_SQL if by_kind else stage


def _column_key(by_kind: bool, value: Any) -> str:
    return STAGE_KINDS[int(value)] if by_kind else str(_uuid(value))


def _key_param(q: _Sql, by_kind: bool, key: str) -> str:
    return q.p(STAGE_KINDS.index(key), "int") if by_kind else q.p(UUID(key), "uuid")


def _columns(stages: Sequence[JobStage], by_kind: bool, kinds: list[str] | None) -> list[Column]:
    wanted = set(kinds) if kinds else set(STAGE_KINDS)
    if not by_kind:
        return [Column(str(s.id), s.name, s.kind, [s]) for s in stages if s.kind in wanted]
    grouped: dict[str, list[JobStage]] = {}
    for stage in stages:
        grouped.setdefault(stage.kind, []).append(stage)
    return [Column(kind, KIND_LABELS[kind], kind, grouped[kind]) for kind in STAGE_KINDS
            if kind in grouped and kind in wanted]


async def board_pages(scope: Scope, board: Board,
                      requests: Sequence[tuple[str, int, CardCursor | None]]) -> list[CardPage]:
    """Pages of several columns at once, (column key, first, after) each: one window-function
    query (ROW_NUMBER per column in urgency order) with the cards' columns."""
    known = {c.key for c in board.columns}
    wanted = [(k, n, c) for k, n, c in requests if k in known and n > 0]
    if not wanted or not board.jobs:
        return [CardPage([], False, after is not None) for _, _, after in requests]
    q = _Sql()
    col = _column_sql(board.by_kind)
    ctes = _policy_ctes(q, board.policies, board.jobs, board.now)
    # On SQLite placeholders are positional: build the fragments in the order of the text.
    tenant = q.p(scope.tenant_id, "uuid")
    job_ids = q.ids(board.jobs_by_id)
    keys = ", ".join(_key_param(q, board.by_kind, k) for k, _, _ in wanted)
    cursors = [f"(x.col <> {_key_param(q, board.by_kind, k)} OR {_cursor_sql(q, c)})"
               for k, _, c in wanted if c]
    columns = _card_sql(q, scope.tenant_id, "n")
    limits = " ".join(f"WHEN {_key_param(q, board.by_kind, k)} THEN {q.p(n + 1, 'int')}"
                      for k, n, _ in wanted)
    sql = (f"WITH {ctes}, x AS (SELECT a.id AS id, a.stage_entered_at AS entered, "
           f"{col} AS col, s.kind AS kind, {URGENCY_SQL} AS urgency "
           f"{RANKED_FROM} WHERE a.tenant_id = {tenant} AND a.status = 'active' "
           f"AND a.job_id IN ({job_ids}) AND {col} IN ({keys})), "
           "numbered AS (SELECT x.*, ROW_NUMBER() OVER (PARTITION BY x.col "
           "ORDER BY x.urgency, x.entered, x.id) AS rn FROM x"
           + (f" WHERE {' AND '.join(cursors)}" if cursors else "") + ") "
           f"SELECT n.col AS col, {columns} FROM numbered n {_card_from('n')} "
           f"WHERE n.rn <= CASE n.col {limits} ELSE 0 END ORDER BY n.col, n.rn")
    async with db.tenant_tx(scope) as conn:
        rows = await conn.execute_query_dict(sql, q.params)
    per_col: dict[str, list[Card]] = {}
    for row in rows:
        job = board.jobs_by_id[_uuid(row["job_id"])]
        per_col.setdefault(_column_key(board.by_kind, row["col"]), []).append(
            _card(row, job, board.policies, board.now, scope))
    pages = []
    for key, first, after in requests:
        cards = per_col.get(key, [])
        pages.append(CardPage(cards[:first], len(cards) > first, after is not None))
    return pages


# --- my actions and the sweep: applications of any open or on-hold job ------------------------

async def _exceptions(scope: Scope) -> tuple[slas.PolicySet, list[Job]]:
    """Policies, and the jobs that differ from the tenant's (on hold or overridden)."""
    overridden = await JobSlaOverride.filter(tenant_id=scope.tenant_id).distinct(
    ).values_list("job_id", flat=True)
    jobs = list(await Job.filter(tenant_id=scope.tenant_id).exclude(status="closed").filter(
        Q(on_hold_since__isnull=False) | Q(id__in=list(overridden) or [NO_JOB])))
    return await slas.policy_set(scope, [j.id for j in jobs]), jobs


def _owned_sql(q: _Sql, scope: Scope, policies: slas.PolicySet, exceptions: list[Job],
               now: datetime, *, member: UUID | None = None) -> str:
    """The CTEs ending in x: active applications of open and on-hold jobs with their rank,
    the effective owner role (awaited scorecards make it the hiring manager), the hiring
    manager and the recruiter (the application's, else the job's). With `member`, only the
    applications where they are one or the other (before the per-row scorecard count)."""
    ctes = _policy_ctes(q, policies, exceptions, now)  # placeholders in text order (SQLite)
    pending = _pending_sql(q, scope.tenant_id, "a.id", "a.stage_id")
    tenant = q.p(scope.tenant_id, "uuid")
    mine = "" if member is None else (
        f" AND (j.hiring_manager_id = {q.p(member, 'uuid')} "
        f"OR COALESCE(a.recruiter_id, j.recruiter_id) = {q.p(member, 'uuid')})")
    return (f"WITH {ctes}, x AS (SELECT a.id AS id, "
            f"a.stage_entered_at AS entered, {URGENCY_SQL} AS urgency, s.kind AS kind, "
            f"CASE WHEN {pending} > 0 THEN '{sla.FEEDBACK_OWNER}' "
            "ELSE COALESCE(jp.owner, kp.owner) END AS owner_role, "
            "j.hiring_manager_id AS hm, COALESCE(a.recruiter_id, j.recruiter_id) AS rec "
            f"{RANKED_FROM} JOIN jobs j ON j.tenant_id = a.tenant_id AND j.id = a.job_id "
            f"WHERE a.tenant_id = {tenant} AND a.status = 'active' AND j.status <> 'closed'"
            f"{mine})")


async def _cards(scope: Scope, rows: list[dict[str, Any]], policies: slas.PolicySet,
                 now: datetime) -> list[Card]:
    job_ids = list({_uuid(r["job_id"]) for r in rows})
    jobs = {j.id: j for j in await Job.filter(tenant_id=scope.tenant_id, id__in=job_ids)
            } if job_ids else {}
    return [_card(r, jobs[_uuid(r["job_id"])], policies, now, scope) for r in rows]


async def my_actions(scope: Scope, *, first: int | None = None, after: CardCursor | None = None
                     ) -> CardPage:
    """The viewer's to-do list: every active application (of an open or on-hold job) whose
    next action the viewer owns — as its recruiter (the application's, else the job's) or the
    job's hiring manager, as the stage's policy says — red, then yellow, then green, oldest in
    stage first. Green ones are included (at the end): nothing is due yet, but it is theirs."""
    scope.require("pipeline:read")
    size = check_first(first)
    if scope.user_id is None or size == 0:
        return CardPage([], False, after is not None)
    now = clock.now()
    async with db.tenant_tx(scope) as conn:
        policies, exceptions = await _exceptions(scope)
        q = _Sql()
        me = scope.user_id
        head = _owned_sql(q, scope, policies, exceptions, now, member=me)
        columns = _card_sql(q, scope.tenant_id, "x")  # placeholders in text order (SQLite)
        where = (f"((x.owner_role = 'recruiter' AND x.rec = {q.p(me, 'uuid')}) OR "
                 f"(x.owner_role = 'hiring_manager' AND x.hm = {q.p(me, 'uuid')}))")
        if after is not None:
            where += f" AND {_cursor_sql(q, after)}"
        rows = await conn.execute_query_dict(
            f"{head} SELECT {columns} FROM x {_card_from('x')} "
            f"WHERE {where} ORDER BY x.urgency, x.entered, x.id LIMIT {q.p(size + 1, 'int')}",
            q.params)
        cards = await _cards(scope, rows[:size], policies, now)
    return CardPage(cards, len(rows) > size, after is not None)


async def breach_candidates(scope: Scope, *, now: datetime) -> list[slas.Candidate]:
    """Active applications of open and on-hold jobs at least yellow now, with their owner,
    minus those whose stay is notified at this level already (in SQL, and again by the stage
    entry key: the insert-or-ignore in domain.slas is what guarantees once; this saves work)."""
    async with db.tenant_tx(scope) as conn:
        policies, exceptions = await _exceptions(scope)
        q = _Sql()
        head = _owned_sql(q, scope, policies, exceptions, now)
        columns = _card_sql(q, scope.tenant_id, "x")
        # a stay already notified at its level is skipped in SQL; a stale red one costs nothing
        notified = (f"NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.tenant_id = "
                    f"{q.p(scope.tenant_id, 'uuid')} AND b.application_id = a.id "
                    "AND b.stage_id = a.stage_id AND b.stage_entered_at = a.stage_entered_at "
                    "AND b.level = CASE x.urgency WHEN 0 THEN 'red' ELSE 'yellow' END)")
        rows = await conn.execute_query_dict(
            f"{head} SELECT {columns} FROM x {_card_from('x')} "
            f"WHERE x.urgency < 2 AND {notified} ORDER BY x.urgency, x.entered, x.id", q.params)
        cards = await _cards(scope, rows, policies, now)
        done = set(await slas.SlaBreach.filter(
            tenant_id=scope.tenant_id, application_id__in=[c.application.id for c in cards]
        ).values_list("application_id", "stage_entry", "level")) if cards else set()
    out = []
    for card in cards:
        app = card.application
        entry = sla.stage_entry_key(app.stage_id, app.stage_entered_at)
        if all((app.id, entry, level) in done for level in sla.breach_levels(card.urgency.status)):
            continue
        out.append(slas.Candidate(app.id, app.job_id, app.stage_id, app.stage_entered_at,
                                  card.urgency.status, card.urgency.action,
                                  card.urgency.owner_role, card.owner_id))
    return out
