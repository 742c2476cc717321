"""Connected mailboxes, their OAuth handshakes, delegation grants, sends and notifications.

Secrets (access and refresh tokens, SMTP passwords) are stored encrypted (`*_enc` columns) and
never leave this package in clear except towards the provider.
"""

from __future__ import annotations

from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from domain.core.ids import uuid7

GOOGLE, MICROSOFT, SMTP = "google", "microsoft", "smtp"
CONNECTED, NEEDS_RECONNECT, DISCONNECTED = "connected", "needs_reconnect", "disconnected"


class Mailbox(Model):
    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    owner_id: UUID = fields.UUIDField()
    provider = fields.CharField(max_length=20)
    address = fields.CharField(max_length=254)
    display_name = fields.CharField(max_length=200, default="")
    status = fields.CharField(max_length=20, default=CONNECTED)
    access_token_enc = fields.TextField(null=True)
    refresh_token_enc = fields.TextField(null=True)
    token_expires_at = fields.DatetimeField(null=True)
    smtp_host = fields.CharField(max_length=253, null=True)
    smtp_port = fields.IntField(null=True)
    smtp_tls = fields.CharField(max_length=10, null=True)  # starttls, ssl, none
    smtp_username = fields.CharField(max_length=254, null=True)
    smtp_password_enc = fields.TextField(null=True)
    daily_limit = fields.IntField(default=200)
    last_error = fields.CharField(max_length=500, null=True)
    last_error_at = fields.DatetimeField(null=True)
    consecutive_failures = fields.IntField(default=0)
    paused_until = fields.DatetimeField(null=True)
    connected_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "mailboxes"
        unique_together = (("tenant_id", "address"),)


class OAuthState(Model):
    """One authorization attempt: the PKCE verifier stays here, never in the browser."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    user_id: UUID = fields.UUIDField()
    provider = fields.CharField(max_length=20)
    nonce_hash = fields.CharField(max_length=64)
    code_verifier_enc = fields.TextField()
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mailbox_oauth_states"


class MailboxGrant(Model):
    """The mailbox owner lets `grantee_id` send from it; audited, revocable."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    mailbox_id: UUID = fields.UUIDField()
    grantee_id: UUID = fields.UUIDField()
    granted_by_id: UUID = fields.UUIDField()
    granted_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_by_id: UUID | None = fields.UUIDField(null=True)

    class Meta:
        table = "mailbox_grants"


class MailboxSend(Model):
    """What went out, by whom and under which grant: the reply handler maps back with it."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    mailbox_id: UUID = fields.UUIDField()
    sender_id: UUID | None = fields.UUIDField(null=True)
    mode = fields.CharField(max_length=20)  # own, alias, delegated
    grant_id: UUID | None = fields.UUIDField(null=True)
    message_id = fields.CharField(max_length=300)
    thread_id = fields.CharField(max_length=300)
    provider_message_id = fields.CharField(max_length=300, null=True)
    recipient = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=998)
    created_at = fields.DatetimeField()

    class Meta:
        table = "mailbox_sends"


class MailboxSendDay(Model):
    """Sends per mailbox per UTC day, reserved before the provider call (daily limits)."""

    id = fields.UUIDField(primary_key=True, default=uuid7)
    tenant_id: UUID = fields.UUIDField()
    mailbox_id: UUID = fields.UUIDField()
    day = fields.CharField(max_length=10)
    count = fields.IntField(default=0)

    class Meta:
        table = "mailbox_send_days"
        unique_together = (("tenant_id", "mailbox_id", "day"),)
