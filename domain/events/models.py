"""The outbox: domain events written in the same transaction as the change that caused them."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from domain.core.ids import uuid7


class OutboxEvent(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id = fields.UUIDField()
    name = fields.CharField(max_length=100)
    payload: Any = fields.JSONField(default=dict)
    actor = fields.CharField(max_length=80, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    dispatched_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)

    class Meta:
        table = "outbox_events"
