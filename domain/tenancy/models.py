"""Tenants, people and their credentials.

Identity-plane tables (users, sessions, refresh tokens) have no tenant row-level security:
login and token refresh happen before a tenant is known. Tenant-owned tables carry tenant_id
first in every key and index.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from domain.core.ids import uuid7


class Tenant(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    slug = fields.CharField(max_length=63, unique=True)
    name = fields.CharField(max_length=200)
    settings: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tenants"


class User(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    password_hash = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class Membership(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.CASCADE)
    tenant_id: UUID
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    user_id: UUID
    role = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "memberships"
        unique_together = (("tenant", "user"),)


class Invite(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.CASCADE)
    tenant_id: UUID
    email = fields.CharField(max_length=254)
    role = fields.CharField(max_length=32)
    token_hash = fields.CharField(max_length=64, unique=True)
    invited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    invited_by_id: UUID | None
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invites"


class AuthSession(Model):
    """One login; its refresh tokens rotate within it. Revoking it ends them all."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.CASCADE)
    tenant_id: UUID
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE)
    user_id: UUID
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "auth_sessions"


class RefreshToken(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    session: fields.ForeignKeyRelation[AuthSession] = fields.ForeignKeyField(
        "models.AuthSession", related_name=False, on_delete=fields.CASCADE)
    session_id: UUID
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"


class ApiKey(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.CASCADE)
    tenant_id: UUID
    name = fields.CharField(max_length=100)
    secret_hash = fields.CharField(max_length=64)
    scopes: Any = fields.JSONField(default=list)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    created_by_id: UUID | None
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"


class LoginFailure(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    email = fields.CharField(max_length=254, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "login_failures"
