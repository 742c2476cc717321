"""The talent pipeline's tables: stage templates, jobs and their stages, applications with their
append-only stage history, closing reasons and scorecards. Tenant data under row-level
security; tenant_id leads every key.

Invariants:
- `application_moves` is append-only: one row per stage entry (or close / reopen), never
  updated or deleted. An application's stay in a stage runs from its move's `occurred_at` to the
  next move's (by occurred_at, then seq); analytics and the history read it that way.
- `applications.stage_id` / `stage_entered_at` are a cache of the latest move by occurred_at
  (an out-of-order ATS move older than that is recorded but does not change them).
- A job's stages are soft-removed (`removed_at`) so that history keeps pointing at them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from domain.core.ids import uuid7


class StageTemplate(Model):
    """A tenant's list of stages that new jobs copy: [{"name": ..., "kind": ...}, ...]."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    name = fields.CharField(max_length=100)
    stages: Any = fields.JSONField(default=list)
    is_default = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "stage_templates"


class Job(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    title = fields.CharField(max_length=200)
    department = fields.CharField(max_length=100, default="")
    location = fields.CharField(max_length=200, default="")
    status = fields.CharField(max_length=20, default="open")  # open on_hold closed
    hiring_manager_id: UUID | None = fields.UUIDField(null=True)
    recruiter_id: UUID | None = fields.UUIDField(null=True)
    coordinator_id: UUID | None = fields.UUIDField(null=True)
    target_hires = fields.IntField(default=1)
    target_date = fields.DateField(null=True)
    external_id = fields.CharField(max_length=200, null=True)  # the ATS's id (ATS sync)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    opened_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    # When the job went on hold (SLA clocks pause while it is on hold).
    on_hold_since = fields.DatetimeField(null=True)

    class Meta:
        table = "jobs"


class JobStage(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    job_id: UUID = fields.UUIDField()
    position = fields.IntField()
    name = fields.CharField(max_length=100)
    # application_review screen hm_review interview offer hired
    kind = fields.CharField(max_length=30)
    external_id = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField()
    removed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "job_stages"


class Application(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    job_id: UUID = fields.UUIDField()
    prospect_id: UUID = fields.UUIDField()
    stage_id: UUID = fields.UUIDField()
    stage_entered_at = fields.DatetimeField()
    status = fields.CharField(max_length=20, default="active")  # active hired rejected withdrew
    # How it closed: hired rejected withdrew offer_declined; the reason's key from the
    # tenant's list, and free text ("other" requires it).
    outcome = fields.CharField(max_length=20, null=True)
    outcome_reason = fields.CharField(max_length=64, null=True)
    outcome_note = fields.TextField(null=True)
    source = fields.CharField(max_length=100, default="")
    recruiter_id: UUID | None = fields.UUIDField(null=True)
    external_id = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    # Furthest stage reached (highest position among its moves): rediscovery's "stage reached".
    furthest_position = fields.IntField(default=0)
    # Furthest stage reached by kind rank (rules.KIND_RANK; a job's last interview stage ranks
    # as "final interview"): rediscovery's "stage reached at least" and "silver medalist".
    furthest_rank = fields.IntField(default=0)
    version = fields.IntField(default=1)  # optimistic concurrency for moves

    class Meta:
        table = "applications"


class ApplicationMove(Model):
    """One entry in an application's history. kind: move (entered to_stage), close, reopen."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    application_id: UUID = fields.UUIDField()
    job_id: UUID = fields.UUIDField()
    kind = fields.CharField(max_length=20, default="move")
    from_stage_id: UUID | None = fields.UUIDField(null=True)
    to_stage_id: UUID = fields.UUIDField()
    occurred_at = fields.DatetimeField()
    recorded_at = fields.DatetimeField()
    actor_id: UUID | None = fields.UUIDField(null=True)
    source = fields.CharField(max_length=20, default="app")  # app ats import demo
    # The ATS's id of this move: the same move sent twice is recorded once.
    external_id = fields.CharField(max_length=200, null=True)
    outcome = fields.CharField(max_length=20, null=True)
    outcome_reason = fields.CharField(max_length=64, null=True)
    # The application's version after this change: orders entries with the same occurred_at
    # (a hire's move and close) and, unique per application, makes a lost update impossible.
    seq = fields.IntField(default=0)

    class Meta:
        table = "application_moves"


class ClosingReason(Model):
    """A tenant's reasons for an outcome (rejected, withdrew, offer_declined)."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    outcome = fields.CharField(max_length=20)
    key = fields.CharField(max_length=64)
    label = fields.CharField(max_length=200)
    requires_note = fields.BooleanField(default=False)  # "other"
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "closing_reasons"


class Scorecard(Model):
    """An interviewer's scorecard for an application at a stage; score null while awaited."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    application_id: UUID = fields.UUIDField()
    job_id: UUID = fields.UUIDField()
    stage_id: UUID = fields.UUIDField()
    interviewer_id: UUID = fields.UUIDField()
    score = fields.IntField(null=True)  # 1 strong no, 2 no, 3 yes, 4 strong yes
    notes = fields.TextField(default="")
    requested_at = fields.DatetimeField()
    submitted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "scorecards"
