"""SLAs: tenant policies per stage kind, per-job overrides, and notified breaches."""

from __future__ import annotations

from alembic_like_migrations._sql import ddl, grant_app, tenant_rls

TABLES = ["sla_policies", "sla_job_overrides", "sla_breaches"]


def up(dialect: str) -> list[str]:
    statements = [
        """CREATE TABLE sla_policies (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            stage_kind VARCHAR(30) NOT NULL,
            yellow_hours INTEGER NOT NULL,
            red_hours INTEGER NOT NULL,
            action VARCHAR(30) NOT NULL,
            owner_role VARCHAR(30) NOT NULL,
            updated_at {ts} NOT NULL,
            updated_by_id {uuid},
            CONSTRAINT uq_sla_policies UNIQUE (tenant_id, stage_kind),
            CONSTRAINT ck_sla_policies_hours CHECK (yellow_hours > 0 AND red_hours > yellow_hours))""",
        # A separate table rather than a nullable job_id: NULLs never collide in a unique key.
        """CREATE TABLE sla_job_overrides (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            job_id {uuid} NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            stage_kind VARCHAR(30) NOT NULL,
            yellow_hours INTEGER NOT NULL,
            red_hours INTEGER NOT NULL,
            action VARCHAR(30) NOT NULL,
            owner_role VARCHAR(30) NOT NULL,
            updated_at {ts} NOT NULL,
            updated_by_id {uuid},
            CONSTRAINT uq_sla_job_overrides UNIQUE (tenant_id, job_id, stage_kind),
            CONSTRAINT ck_sla_job_overrides_hours CHECK (yellow_hours > 0 AND red_hours > yellow_hours))""",
        # The unique key makes a breach notified once, even when sweeps overlap.
        """CREATE TABLE sla_breaches (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            application_id {uuid} NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
            job_id {uuid} NOT NULL,
            stage_id {uuid} NOT NULL,
            stage_entry VARCHAR(80) NOT NULL,
            stage_entered_at {ts} NOT NULL,
            level VARCHAR(10) NOT NULL,
            owner_id {uuid},
            action VARCHAR(30) NOT NULL,
            detected_at {ts} NOT NULL,
            CONSTRAINT uq_sla_breaches UNIQUE (tenant_id, application_id, stage_entry, level))""",
        # The sweep skips stays already notified at their level (NOT EXISTS on this index).
        "CREATE INDEX ix_sla_breaches_stay ON sla_breaches "
        "(tenant_id, application_id, stage_id, stage_entered_at, level)",
    ]
    result = [ddl(dialect, s) for s in statements]
    result += grant_app(dialect, TABLES)
    for table in TABLES:
        result += tenant_rls(dialect, table)
    return result


def down(dialect: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {t}" for t in reversed(TABLES)]
