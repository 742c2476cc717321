"""Reading the talent pipeline: jobs, stages, applications, history and scorecards, in batches
keyed by id (the API's dataloaders and the board call these). Writing lives in jobs.py,
applications.py, scorecards.py and ats.py.

Every function takes the caller's scope; without `pipeline:read` it sees nothing, exactly as
if the rows did not exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from domain.core import db
from domain.core.config import settings
from domain.core.errors import NotFound
from domain.core.pagination import Page, PageArgs, check_page_args, paginate
from domain.core.scope import Scope
from domain.pipeline import rules
from domain.pipeline.models import (
    Application,
    ApplicationMove,
    ClosingReason,
    Job,
    JobStage,
    Scorecard,
    StageTemplate,
)

__all__ = ["Application", "ApplicationMove", "ClosingReason", "Job", "JobStage", "Scorecard",
           "StageTemplate"]


def locked(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Row locks where the database has them; SQLite serialises writers anyway."""
    return qs.select_for_update() if db.dialect() == "postgres" else qs


def _readable(scope: Scope) -> bool:
    return scope.can("pipeline:read")


# --- by id, for loaders and other contexts -----------------------------------------------------

async def jobs_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Job]:
    if not _readable(scope) or not ids:
        return {}
    async with db.tenant_tx(scope):
        return {j.id: j for j in await Job.filter(tenant_id=scope.tenant_id, id__in=list(ids))}


async def stages_by_job(scope: Scope, job_ids: Sequence[UUID]) -> dict[UUID, list[JobStage]]:
    """Each job's live stages in order (removed ones are only reachable by id)."""
    if not _readable(scope) or not job_ids:
        return {}
    async with db.tenant_tx(scope):
        rows = await JobStage.filter(tenant_id=scope.tenant_id, job_id__in=list(job_ids),
                                     removed_at=None).order_by("job_id", "position")
    grouped: dict[UUID, list[JobStage]] = defaultdict(list)
    for row in rows:
        grouped[row.job_id].append(row)
    return grouped


async def stages_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, JobStage]:
    """Stages by id, removed ones included (the history still points at them)."""
    if not _readable(scope) or not ids:
        return {}
    async with db.tenant_tx(scope):
        return {s.id: s for s in await JobStage.filter(tenant_id=scope.tenant_id,
                                                       id__in=list(ids))}


async def applications_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Application]:
    if not _readable(scope) or not ids:
        return {}
    async with db.tenant_tx(scope):
        return {a.id: a for a in await Application.filter(tenant_id=scope.tenant_id,
                                                          id__in=list(ids))}


async def applications_by_prospect(scope: Scope, prospect_ids: Sequence[UUID]
                                   ) -> dict[UUID, list[Application]]:
    """A prospect's applications, oldest first (a prospect may be in several processes)."""
    if not _readable(scope) or not prospect_ids:
        return {}
    async with db.tenant_tx(scope):
        rows = await Application.filter(tenant_id=scope.tenant_id,
                                        prospect_id__in=list(prospect_ids)).order_by("id")
    grouped: dict[UUID, list[Application]] = defaultdict(list)
    for row in rows:
        grouped[row.prospect_id].append(row)
    return grouped


async def history_by_application(scope: Scope, ids: Sequence[UUID]
                                 ) -> dict[UUID, list[rules.HistoryEntry]]:
    if not _readable(scope) or not ids:
        return {}
    async with db.tenant_tx(scope):
        rows = await ApplicationMove.filter(tenant_id=scope.tenant_id,
                                            application_id__in=list(ids)
                                            ).order_by("occurred_at", "seq")
    grouped: dict[UUID, list[ApplicationMove]] = defaultdict(list)
    for row in rows:
        grouped[row.application_id].append(row)
    return {k: rules.history(v) for k, v in grouped.items()}


async def scorecards_by_application(scope: Scope, ids: Sequence[UUID]
                                    ) -> dict[UUID, list[Scorecard]]:
    """Every scorecard of the applications (submitted and awaited), in request order."""
    if not _readable(scope) or not ids:
        return {}
    async with db.tenant_tx(scope):
        rows = await Scorecard.filter(tenant_id=scope.tenant_id,
                                      application_id__in=list(ids)).order_by("id")
    grouped: dict[UUID, list[Scorecard]] = defaultdict(list)
    for row in rows:
        grouped[row.application_id].append(row)
    return grouped


async def scorecards_by_ids(scope: Scope, ids: Sequence[UUID]) -> dict[UUID, Scorecard]:
    if not _readable(scope) or not ids:
        return {}
    async with db.tenant_tx(scope):
        return {s.id: s for s in await Scorecard.filter(tenant_id=scope.tenant_id,
                                                        id__in=list(ids))}


async def pending_scorecards(scope: Scope, application_ids: Sequence[UUID]
                             ) -> dict[UUID, list[Scorecard]]:
    """Scorecards still awaited at each application's current stage (what "awaiting
    feedback" means for SLAs); applications without any are absent. Two queries."""
    if not _readable(scope) or not application_ids:
        return {}
    async with db.tenant_tx(scope):
        current = dict(await Application.filter(
            tenant_id=scope.tenant_id, id__in=list(application_ids)).values_list("id", "stage_id"))
        rows = await Scorecard.filter(tenant_id=scope.tenant_id,
                                      application_id__in=list(current), submitted_at=None
                                      ).order_by("id")
    grouped: dict[UUID, list[Scorecard]] = defaultdict(list)
    for row in rows:
        if current.get(row.application_id) == row.stage_id:
            grouped[row.application_id].append(row)
    return dict(grouped)


@dataclass(frozen=True)
class ScorecardSummary:
    """submitted: all stages; awaiting: at the current stage; average of submitted scores."""

    submitted: int = 0
    awaiting: int = 0
    average_score: float | None = None


async def scorecard_summaries(scope: Scope, application_ids: Sequence[UUID]
                              ) -> dict[UUID, ScorecardSummary]:
    """A summary for every given application the scope can see (zeros when it has none)."""
    if not _readable(scope) or not application_ids:
        return {}
    async with db.tenant_tx(scope):
        current = dict(await Application.filter(
            tenant_id=scope.tenant_id, id__in=list(application_ids)).values_list("id", "stage_id"))
        rows = await Scorecard.filter(tenant_id=scope.tenant_id,
                                      application_id__in=list(current)
                                      ).values_list("application_id", "stage_id", "score")
    scores: dict[UUID, list[int]] = defaultdict(list)
    awaiting: dict[UUID, int] = defaultdict(int)
    for app_id, stage_id, score in rows:
        if score is not None:
            scores[app_id].append(score)
        elif current.get(app_id) == stage_id:
            awaiting[app_id] += 1
    out = {}
    for app_id in current:
        submitted, _, average = rules.summary(scores.get(app_id, []))
        out[app_id] = ScorecardSummary(submitted, awaiting.get(app_id, 0), average)
    return out


@dataclass(frozen=True)
class JobCounts:
    active: int = 0
    hired: int = 0
    rejected: int = 0
    withdrew: int = 0
    by_stage: dict[UUID, int] = field(default_factory=dict)  # active applications per stage

    @property
    def total(self) -> int:
        return self.active + self.hired + self.rejected + self.withdrew


async def counts_by_job(scope: Scope, job_ids: Sequence[UUID]) -> dict[UUID, JobCounts]:
    """Applications per job by status, and active ones per stage: one grouped query."""
    if not _readable(scope) or not job_ids:
        return {}
    async with db.tenant_tx(scope):
        rows = await Application.filter(tenant_id=scope.tenant_id, job_id__in=list(job_ids)
                                        ).annotate(n=Count("id")).group_by(
            "job_id", "status", "stage_id").values_list("job_id", "status", "stage_id", "n")
    status_counts: dict[UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    stage_counts: dict[UUID, dict[UUID, int]] = defaultdict(dict)
    for job_id, status, stage_id, n in rows:
        status_counts[job_id][status] += n
        if status == "active":
            stage_counts[job_id][stage_id] = n
    return {j: JobCounts(active=status_counts[j]["active"], hired=status_counts[j]["hired"],
                         rejected=status_counts[j]["rejected"],
                         withdrew=status_counts[j]["withdrew"],
                         by_stage=dict(stage_counts[j])) for j in job_ids}


# --- lists -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobFilter:
    statuses: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    hiring_manager_id: UUID | None = None
    recruiter_id: UUID | None = None
    text: str | None = None  # a part of the title, case-insensitive


async def list_jobs(scope: Scope, *, filter: JobFilter, page: PageArgs) -> Page[Job]:
    """In creation order."""
    scope.require("pipeline:read")
    for status in filter.statuses:
        rules.check_job_status(status)
    async with db.tenant_tx(scope):
        qs = Job.filter(tenant_id=scope.tenant_id)
        if filter.statuses:
            qs = qs.filter(status__in=filter.statuses)
        if filter.departments:
            qs = qs.filter(department__in=filter.departments)
        if filter.hiring_manager_id is not None:
            qs = qs.filter(hiring_manager_id=filter.hiring_manager_id)
        if filter.recruiter_id is not None:
            qs = qs.filter(recruiter_id=filter.recruiter_id)
        if filter.text:
            qs = qs.filter(title__icontains=filter.text.strip())
        return await paginate(qs, page, settings().max_page_size)


async def application_pages(scope: Scope, job_ids: Sequence[UUID], *, page: PageArgs,
                            statuses: Sequence[str] = ()) -> dict[UUID, Page[Application]]:
    """The same page (forwards, creation order) of several jobs' applications in two queries
    whatever the number of jobs: a window function picks each job's ids, then the rows."""
    if not _readable(scope) or not job_ids:
        return {}
    size = check_page_args(page, settings().max_page_size)
    postgres = db.dialect() == "postgres"
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(str(value) if isinstance(value, UUID) and not postgres else value)
        return f"${len(params)}" if postgres else "?"

    # A constant template: every value the caller gives is a bound parameter.
    where = [f"tenant_id = {bind(scope.tenant_id)}",
             f"job_id IN ({', '.join(bind(j) for j in job_ids)})"]
    if page.after is not None:
        where.append(f"id > {bind(page.after)}")
    if statuses:
        where.append(f"status IN ({', '.join(bind(s) for s in statuses)})")
    sql = (f"SELECT id, job_id FROM (SELECT id, job_id, ROW_NUMBER() OVER (PARTITION BY job_id "  # noqa: S608
           f"ORDER BY id) AS rn FROM applications WHERE {' AND '.join(where)}) ranked "
           f"WHERE rn <= {bind(size + 1)} ORDER BY job_id, id")
    async with db.tenant_tx(scope) as conn:
        picked = await conn.execute_query_dict(sql, params)
        ids = [UUID(str(r["id"])) for r in picked]
        rows = {a.id: a for a in await Application.filter(tenant_id=scope.tenant_id,
                                                          id__in=ids)} if ids else {}
    grouped: dict[UUID, list[Application]] = defaultdict(list)
    for r in picked:
        row = rows.get(UUID(str(r["id"])))
        if row is not None:
            grouped[row.job_id].append(row)
    out = {}
    for job_id in job_ids:
        items = grouped.get(job_id, [])
        out[job_id] = Page(items[:size], has_next_page=len(items) > size,
                           has_previous_page=page.after is not None)
    return out


async def awaiting_scorecards(scope: Scope, *, page: PageArgs,
                              application_id: UUID | None = None) -> Page[Scorecard]:
    """Scorecards not yet submitted: the viewer's own (as interviewer), or, given an
    application, everyone's on it. Oldest request first."""
    scope.require("pipeline:read")
    async with db.tenant_tx(scope):
        qs = Scorecard.filter(tenant_id=scope.tenant_id, submitted_at=None)
        if application_id is not None:
            qs = qs.filter(application_id=application_id)
        elif scope.user_id is not None:
            qs = qs.filter(interviewer_id=scope.user_id)
        else:
            return Page([], False, False)
        return await paginate(qs, page, settings().max_page_size)


# --- helpers the writers share -------------------------------------------------------------------

async def get_job(scope: Scope, job_id: UUID, *, field: str = "jobId", lock: bool = False) -> Job:
    qs = Job.filter(tenant_id=scope.tenant_id, id=job_id)
    job = await (locked(qs) if lock else qs).first()
    if job is None:
        raise NotFound("No such job.", field=field)
    return job


_LIVE_STAGES = ("SELECT * FROM job_stages WHERE tenant_id = $1 AND job_id = $2 "
                "AND removed_at IS NULL ORDER BY position")


async def live_stages(scope: Scope, job_id: UUID) -> list[JobStage]:
    """A job's stages in order. On PostgreSQL a constant statement (the hot path of moves)."""
    if db.dialect() == "postgres":
        rows = await JobStage._meta.db.execute_query_dict(_LIVE_STAGES, [scope.tenant_id, job_id])
        return [JobStage._init_from_db(**row) for row in rows]
    return list(await JobStage.filter(tenant_id=scope.tenant_id, job_id=job_id,
                                      removed_at=None).order_by("position"))


async def get_application(scope: Scope, application_id: UUID, *, lock: bool = False,
                          field: str = "applicationId") -> Application:
    qs = Application.filter(tenant_id=scope.tenant_id, id=application_id)
    application = await (locked(qs) if lock else qs).first()
    if application is None:
        raise NotFound("No such application.", field=field)
    return application


_JOB_COLUMNS = ("title", "status", "hiring_manager_id", "recruiter_id")
_STAGE_COLUMNS = tuple(JobStage._meta.fields_db_projection.values())


async def locked_with_job(scope: Scope, conn: Any, application_id: UUID,
                          *, field: str = "applicationId"
                          ) -> tuple[Application, Job, list[JobStage]]:
    """The application (row-locked on PostgreSQL), the job fields a decision needs (id, title,
    status, hiring manager, recruiter) and the job's live stages in order, in one round trip
    (a row per stage): the hot path of moves. The job is a read-only partial object."""
    postgres = db.dialect() == "postgres"
    a, b = ("$1", "$2") if postgres else ("?", "?")
    picked = ", ".join([f"j.{c} AS job__{c}" for c in _JOB_COLUMNS]
                       + [f"s.{c} AS stage__{c}" for c in _STAGE_COLUMNS])
    lock = " FOR UPDATE OF a" if postgres else ""
    # Only column names from the models are formatted in; the two values are bound.
    sql = (f"SELECT a.*, {picked} FROM applications a JOIN jobs j ON j.id = a.job_id AND "  # noqa: S608
           "j.tenant_id = a.tenant_id LEFT JOIN job_stages s ON s.tenant_id = a.tenant_id AND "
           f"s.job_id = a.job_id AND s.removed_at IS NULL WHERE a.tenant_id = {a} AND a.id = {b} "
           f"ORDER BY s.position{lock}")
    values: list[Any] = [scope.tenant_id, application_id]
    rows = await conn.execute_query_dict(sql, values if postgres else [str(v) for v in values])
    if not rows:
        raise NotFound("No such application.", field=field)
    stages = []
    for raw in rows:
        stage = {c: raw[f"stage__{c}"] for c in _STAGE_COLUMNS}
        if stage["id"] is not None:
            stages.append(JobStage._init_from_db(**stage))
    row = {k: v for k, v in rows[0].items() if not k.startswith(("job__", "stage__"))}
    job_values = {c: rows[0][f"job__{c}"] for c in _JOB_COLUMNS}
    application = Application._init_from_db(**row)
    for name in ("hiring_manager_id", "recruiter_id"):
        if job_values[name] is not None and not isinstance(job_values[name], UUID):
            job_values[name] = UUID(str(job_values[name]))
    job = Job(id=application.job_id, tenant_id=scope.tenant_id, **job_values)
    return application, job, stages


async def closing_reasons_of(scope: Scope, outcome: str) -> dict[str, rules.Reason]:
    from domain.pipeline.applications import ensure_closing_reasons

    await ensure_closing_reasons(scope)
    rows = await ClosingReason.filter(tenant_id=scope.tenant_id, outcome=outcome,
                                      archived_at=None)
    return {r.key: rules.Reason(r.key, r.requires_note) for r in rows}
