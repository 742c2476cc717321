"""Tenants, people and their credentials.

Identity-plane tables (users, sessions, refresh tokens) have no tenant row-level security:
login and token refresh happen before a tenant is known. Tenant-owned tables carry tenant_id
first in every key and index.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from domain.core.ids import uuid7


class Tenant(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    slug = fields.CharField(max_length=63, unique=True)
    name = fields.CharField(max_length=200)
    settings = fields.JSONField(default=dict)
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
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name=False, on_delete=fields.CASCADE)
    role = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "memberships"
        unique_together = (("tenant", "user"),)


class Invite(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    email = fields.CharField(max_length=254)
    role = fields.CharField(max_length=32)
    token_hash = fields.CharField(max_length=64, unique=True)
    invited_by = fields.ForeignKeyField("models.User", related_name=False, null=True,
                                        on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invites"


class AuthSession(Model):
    """One login; its refresh tokens rotate within it. Revoking it ends them all."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name=False, on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "auth_sessions"


class RefreshToken(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    session = fields.ForeignKeyField("models.AuthSession", related_name=False,
                                     on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"


class ApiKey(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100)
    secret_hash = fields.CharField(max_length=64)
    scopes = fields.JSONField(default=list)
    created_by = fields.ForeignKeyField("models.User", related_name=False, null=True,
                                        on_delete=fields.SET_NULL)
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
