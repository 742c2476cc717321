"""SLA tables: tenant policies per stage kind, per-job overrides, and the breaches already
notified. Tenant data under row-level security; tenant_id leads every key.

Tenant policies and job overrides are separate tables so that each has a plain unique key
(a nullable job_id in one table would not be unique on PostgreSQL: NULLs never collide).
"""

from __future__ import annotations

from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from domain.core.ids import uuid7


class SlaPolicy(Model):
    """A tenant's policy for a stage kind; absent kinds use rules.DEFAULT_POLICIES."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    stage_kind = fields.CharField(max_length=30)
    yellow_hours = fields.IntField()
    red_hours = fields.IntField()
    action = fields.CharField(max_length=30)
    owner_role = fields.CharField(max_length=30)
    updated_at = fields.DatetimeField()
    updated_by_id: UUID | None = fields.UUIDField(null=True)

    class Meta:
        table = "sla_policies"


class JobSlaOverride(Model):
    """A job's own policy for one stage kind, replacing the tenant's for that job."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    job_id: UUID = fields.UUIDField()
    stage_kind = fields.CharField(max_length=30)
    yellow_hours = fields.IntField()
    red_hours = fields.IntField()
    action = fields.CharField(max_length=30)
    owner_role = fields.CharField(max_length=30)
    updated_at = fields.DatetimeField()
    updated_by_id: UUID | None = fields.UUIDField(null=True)

    class Meta:
        table = "sla_job_overrides"


class SlaBreach(Model):
    """One row per (application, stage entry, level) ever notified: the unique key is what
    makes overlapping sweeps notify once. `stage_entry` is the stage id and the entry time, so
    re-entering a stage later is a new entry with its own breaches."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    application_id: UUID = fields.UUIDField()
    job_id: UUID = fields.UUIDField()
    stage_id: UUID = fields.UUIDField()
    stage_entry = fields.CharField(max_length=80)
    stage_entered_at = fields.DatetimeField()
    level = fields.CharField(max_length=10)  # yellow red
    owner_id: UUID | None = fields.UUIDField(null=True)
    action = fields.CharField(max_length=30)
    detected_at = fields.DatetimeField()

    class Meta:
        table = "sla_breaches"
