"""Interview scorecards: requested per application and stage from interviewers (awaited rows),
submitted by the interviewer (or an admin) with a score from 1 (strong no) to 4 (strong yes)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from tortoise.exceptions import IntegrityError

from domain.core import clock, db
from domain.core.errors import DomainError, Forbidden, NotFound
from domain.core.scope import Scope
from domain.events.service import publish
from domain.pipeline import events, rules
from domain.pipeline.applications import _activity, _require_decide
from domain.pipeline.errors import NotActive
from domain.pipeline.models import Scorecard
from domain.pipeline.service import get_application, get_job, locked
from domain.tenancy import service as tenancy


async def request_scorecards(scope: Scope, *, application_id: UUID,
                             interviewer_ids: Sequence[UUID]) -> list[Scorecard]:
    """An awaited scorecard per interviewer at the application's current stage; asking again
    for the same interviewer returns the existing one."""
    scope.require("pipeline:write")
    wanted = list(dict.fromkeys(interviewer_ids))
    if not wanted:
        raise DomainError("Name at least one interviewer.", field="interviewerIds",
                          code="REQUIRED")
    if len(wanted) > rules.MAX_INTERVIEWERS:
        raise DomainError(f"At most {rules.MAX_INTERVIEWERS} interviewers.",
                          field="interviewerIds", code="OUT_OF_RANGE")
    async with db.tenant_tx(scope):
        application = await get_application(scope, application_id, lock=True)
        job = await get_job(scope, application.job_id)
        _require_decide(scope, job)
        if application.status != "active":
            raise NotActive("The application is closed.", field="applicationId")
        members = await tenancy.users_by_ids(scope, wanted)
        for index, user_id in enumerate(wanted):
            if user_id not in members:
                raise NotFound("No such member.", field=["interviewerIds", str(index)])
        existing = {s.interviewer_id: s for s in await Scorecard.filter(
            tenant_id=scope.tenant_id, application_id=application.id,
            stage_id=application.stage_id, interviewer_id__in=wanted)}
        now = clock.now()
        out = []
        for user_id in wanted:
            card = existing.get(user_id)
            if card is None:
                card = await Scorecard.create(
                    tenant_id=scope.tenant_id, application_id=application.id, job_id=job.id,
                    stage_id=application.stage_id, interviewer_id=user_id, requested_at=now)
            out.append(card)
        await publish(events.SCORECARDS_REQUESTED, {
            "applicationId": str(application.id), "stageId": str(application.stage_id),
            "interviewerIds": [str(u) for u in wanted]}, scope=scope)
        return out


async def submit_scorecard(scope: Scope, *, score: int, notes: str = "",
                           scorecard_id: UUID | None = None,
                           application_id: UUID | None = None) -> Scorecard:
    """By an awaited scorecard's id (the interviewer, or an admin), or by application: the
    viewer's own scorecard at its current stage, created if nobody asked for it. Submitting
    again replaces the score and notes."""
    scope.require("pipeline:read")
    rules.check_score(score)
    notes = rules.check_text(notes, field="notes", max_length=rules.MAX_NOTE, required=False)
    if (scorecard_id is None) == (application_id is None):
        raise DomainError("Give scorecardId or applicationId.", field="scorecardId",
                          code="REQUIRED")
    async with db.tenant_tx(scope):
        if scorecard_id is not None:
            card = await locked(Scorecard.filter(tenant_id=scope.tenant_id, id=scorecard_id)
                                ).first()
            if card is None:
                raise NotFound("No such scorecard.", field="scorecardId")
            if not rules.can_submit_scorecard(scope, card.interviewer_id):
                raise Forbidden("Only the interviewer (or an admin) submits this scorecard.")
            application = await get_application(scope, card.application_id)
        else:
            assert application_id is not None
            if scope.user_id is None:
                raise Forbidden("Only a member submits a scorecard of their own.")
            application = await get_application(scope, application_id)
            if application.status != "active":
                raise NotActive("The application is closed.", field="applicationId")
            found = await locked(Scorecard.filter(
                tenant_id=scope.tenant_id, application_id=application.id,
                stage_id=application.stage_id, interviewer_id=scope.user_id)).first()
            if found is None:
                try:
                    async with db.tenant_tx(scope):
                        found = await Scorecard.create(
                            tenant_id=scope.tenant_id, application_id=application.id,
                            job_id=application.job_id, stage_id=application.stage_id,
                            interviewer_id=scope.user_id, requested_at=clock.now())
                except IntegrityError:
                    found = await Scorecard.get(tenant_id=scope.tenant_id,
                                                application_id=application.id,
                                                stage_id=application.stage_id,
                                                interviewer_id=scope.user_id)
            card = found
        card.score, card.notes, card.submitted_at = score, notes, clock.now()
        await card.save(update_fields=["score", "notes", "submitted_at"])
        job = await get_job(scope, application.job_id)
        await publish(events.SCORECARD_SUBMITTED, {
            "scorecardId": str(card.id), "applicationId": str(application.id),
            "stageId": str(card.stage_id), "score": score,
            "activity": _activity("scorecard_submitted", application, job, card.submitted_at,
                                  score=score, scorecardId=str(card.id))}, scope=scope)
        return card
