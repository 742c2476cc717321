"""What rediscovery search asks of past and current processes: the prospects with an
application meeting conditions (job, department, stage reached, closing reason, interview
score, hired, silver medalist). The prospects context's search composes these as subqueries,
so all values stay bound parameters and the pipeline's tables stay this context's business."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tortoise.expressions import Q, Subquery
from tortoise.functions import Avg
from tortoise.queryset import QuerySet

from domain.core.errors import DomainError
from domain.pipeline import rules
from domain.pipeline.models import Application, Job, Scorecard

NOT_HIRED_CLOSED = ("rejected", "withdrew")


@dataclass(frozen=True)
class ApplicationConditions:
    """All on one application; empty / None fields do not narrow."""

    job_ids: list[UUID] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    min_rank: int | None = None  # furthest stage reached, as a kind rank
    closing_reasons: list[str] = field(default_factory=list)
    interview_score_min: float | None = None  # average of submitted scorecards
    hired: bool | None = None
    silver_medalist: bool = False  # final interview or offer reached, closed without a hire

    def __bool__(self) -> bool:
        return bool(self.job_ids or self.departments or self.min_rank is not None
                    or self.closing_reasons or self.interview_score_min is not None
                    or self.hired is not None or self.silver_medalist)


def _matching(tenant_id: UUID, c: ApplicationConditions) -> QuerySet[Application]:
    qs = Application.filter(tenant_id=tenant_id)
    if c.job_ids:
        qs = qs.filter(job_id__in=c.job_ids)
    if c.departments:
        qs = qs.filter(job_id__in=Subquery(Job.filter(tenant_id=tenant_id,
                                                      department__in=c.departments
                                                      ).values("id")))
    if c.min_rank is not None:
        qs = qs.filter(furthest_rank__gte=c.min_rank)
    if c.closing_reasons:
        qs = qs.filter(outcome_reason__in=c.closing_reasons)
    if c.interview_score_min is not None:
        scored = Scorecard.filter(tenant_id=tenant_id, score__isnull=False).annotate(
            average=Avg("score")).group_by("application_id").filter(
            average__gte=c.interview_score_min).values("application_id")
        qs = qs.filter(id__in=Subquery(scored))
    if c.silver_medalist:
        qs = qs.filter(furthest_rank__gte=rules.FINAL_INTERVIEW_RANK,
                       status__in=list(NOT_HIRED_CLOSED))
    return qs


def prospect_condition(tenant_id: UUID, c: ApplicationConditions) -> Q:
    """Prospects with an application meeting every condition. hired=False: such an
    application that is not a hire, and no such application that is."""
    matching = _matching(tenant_id, c)
    if c.hired is True:
        return Q(id__in=Subquery(matching.filter(status="hired").values("prospect_id")))
    if c.hired is False:
        hires: Any = Subquery(_matching(tenant_id, c).filter(status="hired").values("prospect_id"))
        return Q(Q(id__in=Subquery(matching.exclude(status="hired").values("prospect_id"))),
                 Q(id__not_in=hires))
    return Q(id__in=Subquery(matching.values("prospect_id")))


def check_conditions(c: ApplicationConditions) -> ApplicationConditions:
    if c.interview_score_min is not None and not \
            rules.SCORE_MIN <= c.interview_score_min <= rules.SCORE_MAX:
        raise DomainError(f"Between {rules.SCORE_MIN} and {rules.SCORE_MAX}.",
                          field=["filter", "interviewScoreMin"], code="OUT_OF_RANGE")
    return c
