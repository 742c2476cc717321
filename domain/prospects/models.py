"""The talent CRM's tables: prospects and what hangs off them, projects, saved searches,
imports. Every table is tenant data under row-level security; tenant_id leads every key."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from domain.core.ids import uuid7


class Prospect(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100, default="")
    title = fields.CharField(max_length=200, default="")
    company = fields.CharField(max_length=200, default="")
    location = fields.CharField(max_length=200, default="")
    time_zone = fields.CharField(max_length=64, null=True)
    phone = fields.CharField(max_length=40, null=True)
    source = fields.CharField(max_length=100, default="")
    owner_id: UUID | None = fields.UUIDField(null=True)
    custom_fields: Any = fields.JSONField(default=dict)
    created_by_id: UUID | None = fields.UUIDField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    archived_at = fields.DatetimeField(null=True)
    merged_into_id: UUID | None = fields.UUIDField(null=True)
    last_activity_at = fields.DatetimeField(null=True)
    last_contacted_at = fields.DatetimeField(null=True)
    last_replied_at = fields.DatetimeField(null=True)
    engagement_owner_id: UUID | None = fields.UUIDField(null=True)
    engagement_reason = fields.CharField(max_length=40, null=True)
    engagement_since = fields.DatetimeField(null=True)
    # Lower-cased name, title, company, location and note text: the full-text search source.
    search_text = fields.TextField(default="")

    class Meta:
        table = "prospects"


class ProspectEmail(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    prospect_id: UUID = fields.UUIDField()
    email = fields.CharField(max_length=254)
    is_primary = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()

    class Meta:
        table = "prospect_emails"


class ProspectProfile(Model):
    """A profile URL, normalised so that trivial variants of one URL are one value."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    prospect_id: UUID = fields.UUIDField()
    kind = fields.CharField(max_length=20)
    url = fields.CharField(max_length=500)
    created_at = fields.DatetimeField()

    class Meta:
        table = "prospect_profiles"


class ProspectTag(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    prospect_id: UUID = fields.UUIDField()
    tag = fields.CharField(max_length=64)

    class Meta:
        table = "prospect_tags"


class CustomFieldDefinition(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    key = fields.CharField(max_length=64)
    label = fields.CharField(max_length=100)
    type = fields.CharField(max_length=20)  # text, number, date, single_select, multi_select
    options: Any = fields.JSONField(default=list)
    created_at = fields.DatetimeField()
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "custom_field_definitions"


class ProspectDemographics(Model):
    """Self-reported, kept apart: readable by admins only, used only in aggregates."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    prospect_id: UUID = fields.UUIDField()
    data: Any = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "prospect_demographics"


class Activity(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    prospect_id: UUID = fields.UUIDField()
    kind = fields.CharField(max_length=40)
    actor_user_id: UUID | None = fields.UUIDField(null=True)
    occurred_at = fields.DatetimeField()
    payload: Any = fields.JSONField(default=dict)
    # The outbox event it came from: one activity per event even if the event is redelivered.
    event_id: UUID | None = fields.UUIDField(null=True)

    class Meta:
        table = "activities"


class Note(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    prospect_id: UUID = fields.UUIDField()
    author_id: UUID | None = fields.UUIDField(null=True)
    body = fields.TextField()
    mentions: Any = fields.JSONField(default=list)
    created_at = fields.DatetimeField()

    class Meta:
        table = "notes"


class Notification(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    user_id: UUID = fields.UUIDField()
    kind = fields.CharField(max_length=40)
    payload: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"


class Project(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    owner_id: UUID = fields.UUIDField()
    visibility = fields.CharField(max_length=20, default="private")  # private, members, tenant
    share_token_hash = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "projects"


class ProjectMember(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    project_id: UUID = fields.UUIDField()
    user_id: UUID = fields.UUIDField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "project_members"


class ProjectProspect(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    project_id: UUID = fields.UUIDField()
    prospect_id: UUID = fields.UUIDField()
    added_by_id: UUID | None = fields.UUIDField(null=True)
    added_at = fields.DatetimeField()

    class Meta:
        table = "project_prospects"


class SavedSearch(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    owner_id: UUID = fields.UUIDField()
    name = fields.CharField(max_length=200)
    criteria: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "saved_searches"


class ProspectImport(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    created_by_id: UUID | None = fields.UUIDField(null=True)
    status = fields.CharField(max_length=20, default="queued")  # queued running completed failed
    file_path = fields.CharField(max_length=500)
    mapping: Any = fields.JSONField(default=dict)
    options: Any = fields.JSONField(default=dict)
    total_bytes = fields.BigIntField(default=0)
    processed_bytes = fields.BigIntField(default=0)
    processed_rows = fields.IntField(default=0)
    created_count = fields.IntField(default=0)
    merged_count = fields.IntField(default=0)
    skipped_count = fields.IntField(default=0)
    error_count = fields.IntField(default=0)
    resume_line = fields.IntField(default=0)
    error_message = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    heartbeat_at = fields.DatetimeField(null=True)

    class Meta:
        table = "prospect_imports"


class ProspectImportRow(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    import_id: UUID = fields.UUIDField()
    line = fields.IntField()
    outcome = fields.CharField(max_length=20)  # created merged skipped error
    prospect_id: UUID | None = fields.UUIDField(null=True)
    message = fields.TextField(default="")

    class Meta:
        table = "prospect_import_rows"


