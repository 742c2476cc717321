"""Tenancy, identity, credentials and the event outbox."""

from __future__ import annotations

from alembic_like_migrations._sql import create_app_role, ddl, grant_app, tenant_rls

TABLES = ["tenants", "users", "memberships", "invites", "auth_sessions", "refresh_tokens",
          "api_keys", "login_failures", "outbox_events"]


def up(dialect: str) -> list[str]:
    statements = [
        """CREATE TABLE tenants (
            id {uuid} NOT NULL PRIMARY KEY,
            slug VARCHAR(63) NOT NULL UNIQUE,
            name VARCHAR(200) NOT NULL,
            settings {json} NOT NULL,
            created_at {ts} NOT NULL)""",
        """CREATE TABLE users (
            id {uuid} NOT NULL PRIMARY KEY,
            email VARCHAR(254) NOT NULL UNIQUE,
            name VARCHAR(200) NOT NULL,
            password_hash VARCHAR(200),
            created_at {ts} NOT NULL)""",
        """CREATE TABLE memberships (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            user_id {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            role VARCHAR(32) NOT NULL,
            created_at {ts} NOT NULL,
            CONSTRAINT uq_memberships_tenant_user UNIQUE (tenant_id, user_id))""",
        "CREATE INDEX ix_memberships_user ON memberships (user_id)",
        """CREATE TABLE invites (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            email VARCHAR(254) NOT NULL,
            role VARCHAR(32) NOT NULL,
            token_hash VARCHAR(64) NOT NULL UNIQUE,
            invited_by_id {uuid} REFERENCES users (id) ON DELETE SET NULL,
            created_at {ts} NOT NULL,
            expires_at {ts} NOT NULL,
            accepted_at {ts},
            revoked_at {ts})""",
        "CREATE INDEX ix_invites_tenant_email ON invites (tenant_id, email)",
        """CREATE TABLE auth_sessions (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            user_id {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            created_at {ts} NOT NULL,
            revoked_at {ts},
            revoked_reason VARCHAR(32))""",
        "CREATE INDEX ix_auth_sessions_tenant_user ON auth_sessions (tenant_id, user_id)",
        """CREATE TABLE refresh_tokens (
            id {uuid} NOT NULL PRIMARY KEY,
            session_id {uuid} NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
            token_hash VARCHAR(64) NOT NULL UNIQUE,
            created_at {ts} NOT NULL,
            expires_at {ts} NOT NULL,
            used_at {ts})""",
        "CREATE INDEX ix_refresh_tokens_session ON refresh_tokens (session_id)",
        """CREATE TABLE api_keys (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            name VARCHAR(100) NOT NULL,
            secret_hash VARCHAR(64) NOT NULL,
            scopes {json} NOT NULL,
            created_by_id {uuid} REFERENCES users (id) ON DELETE SET NULL,
            created_at {ts} NOT NULL,
            last_used_at {ts},
            revoked_at {ts})""",
        "CREATE INDEX ix_api_keys_tenant ON api_keys (tenant_id, id)",
        """CREATE TABLE login_failures (
            id {uuid} NOT NULL PRIMARY KEY,
            email VARCHAR(254) NOT NULL,
            created_at {ts} NOT NULL)""",
        "CREATE INDEX ix_login_failures_email ON login_failures (email, created_at)",
        """CREATE TABLE outbox_events (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            name VARCHAR(100) NOT NULL,
            payload {json} NOT NULL,
            actor VARCHAR(80),
            created_at {ts} NOT NULL,
            dispatched_at {ts},
            attempts INT NOT NULL DEFAULT 0)""",
        "CREATE INDEX ix_outbox_pending ON outbox_events (dispatched_at, created_at)",
        "CREATE INDEX ix_outbox_tenant ON outbox_events (tenant_id, id)",
    ]
    result = create_app_role(dialect) + [ddl(dialect, s) for s in statements]
    result += grant_app(dialect, TABLES)
    for table in ("memberships", "invites", "api_keys"):
        result += tenant_rls(dialect, table, identity_plane=True)
    # The dispatcher reads pending events of every tenant, so outbox rows are identity-plane
    # for reads by the dispatcher only; tenant code still writes them under its own tenant.
    result += tenant_rls(dialect, "outbox_events", identity_plane=True)
    return result


def down(dialect: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {t}" for t in reversed(TABLES)]
