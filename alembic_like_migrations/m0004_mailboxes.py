"""Mailboxes: connected Gmail/Outlook/SMTP mailboxes, OAuth states, delegation grants, sends,
sends per day and mailbox notifications."""

from __future__ import annotations

from alembic_like_migrations._sql import ddl, grant_app, tenant_rls

TABLES = ["mailboxes", "mailbox_oauth_states", "mailbox_grants", "mailbox_sends",
          "mailbox_send_days"]


def up(dialect: str) -> list[str]:
    statements = [
        """CREATE TABLE mailboxes (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            owner_id {uuid} NOT NULL,
            provider VARCHAR(20) NOT NULL,
            address VARCHAR(254) NOT NULL,
            display_name VARCHAR(200) NOT NULL DEFAULT '',
            status VARCHAR(20) NOT NULL,
            access_token_enc {text},
            refresh_token_enc {text},
            token_expires_at {ts},
            smtp_host VARCHAR(253),
            smtp_port INT,
            smtp_tls VARCHAR(10),
            smtp_username VARCHAR(254),
            smtp_password_enc {text},
            daily_limit INT NOT NULL DEFAULT 200,
            last_error VARCHAR(500),
            last_error_at {ts},
            consecutive_failures INT NOT NULL DEFAULT 0,
            paused_until {ts},
            connected_at {ts} NOT NULL,
            updated_at {ts} NOT NULL,
            CONSTRAINT uq_mailboxes_address UNIQUE (tenant_id, address))""",
        "CREATE INDEX ix_mailboxes_owner ON mailboxes (tenant_id, owner_id)",
        "CREATE INDEX ix_mailboxes_expiry ON mailboxes (tenant_id, status, token_expires_at)",
        """CREATE TABLE mailbox_oauth_states (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            user_id {uuid} NOT NULL,
            provider VARCHAR(20) NOT NULL,
            nonce_hash VARCHAR(64) NOT NULL,
            code_verifier_enc {text} NOT NULL,
            created_at {ts} NOT NULL,
            expires_at {ts} NOT NULL,
            used_at {ts},
            CONSTRAINT uq_mailbox_oauth_states UNIQUE (tenant_id, nonce_hash))""",
        """CREATE TABLE mailbox_grants (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            mailbox_id {uuid} NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
            grantee_id {uuid} NOT NULL,
            granted_by_id {uuid} NOT NULL,
            granted_at {ts} NOT NULL,
            revoked_at {ts},
            revoked_by_id {uuid})""",
        "CREATE INDEX ix_mailbox_grants_mailbox ON mailbox_grants (tenant_id, mailbox_id, grantee_id)",
        "CREATE INDEX ix_mailbox_grants_grantee ON mailbox_grants (tenant_id, grantee_id)",
        """CREATE TABLE mailbox_sends (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            mailbox_id {uuid} NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
            sender_id {uuid},
            mode VARCHAR(20) NOT NULL,
            grant_id {uuid},
            message_id VARCHAR(300) NOT NULL,
            thread_id VARCHAR(300) NOT NULL,
            provider_message_id VARCHAR(300),
            recipient VARCHAR(254) NOT NULL,
            subject VARCHAR(998) NOT NULL,
            created_at {ts} NOT NULL,
            CONSTRAINT uq_mailbox_sends_message UNIQUE (tenant_id, message_id))""",
        "CREATE INDEX ix_mailbox_sends_mailbox ON mailbox_sends (tenant_id, mailbox_id, id)",
        """CREATE TABLE mailbox_send_days (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            mailbox_id {uuid} NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
            day VARCHAR(10) NOT NULL,
            count INT NOT NULL DEFAULT 0,
            CONSTRAINT uq_mailbox_send_days UNIQUE (tenant_id, mailbox_id, day))""",
    ]
    result = [ddl(dialect, s) for s in statements]
    result += grant_app(dialect, TABLES)
    # The refresh sweep reads mailboxes across tenants inside identity_tx() (ids and expiry
    # only), so that one table is identity-plane readable; everything else is strict.
    result += tenant_rls(dialect, "mailboxes", identity_plane=True)
    for table in TABLES[1:]:
        result += tenant_rls(dialect, table)
    return result


def down(dialect: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {t}" for t in reversed(TABLES)]
