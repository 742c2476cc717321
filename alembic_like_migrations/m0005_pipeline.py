"""The talent pipeline: stage templates, jobs, job stages, applications, their append-only
move history, closing reasons and scorecards."""

from __future__ import annotations

from alembic_like_migrations._sql import ddl, grant_app, tenant_rls

TABLES = ["stage_templates", "jobs", "job_stages", "applications", "application_moves",
          "closing_reasons", "scorecards"]


def up(dialect: str) -> list[str]:
    statements = [
        """CREATE TABLE stage_templates (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            name VARCHAR(100) NOT NULL,
            stages {json} NOT NULL,
            is_default BOOLEAN NOT NULL DEFAULT FALSE,
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL,
            CONSTRAINT uq_stage_templates_name UNIQUE (tenant_id, name))""",
        """CREATE TABLE jobs (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            title VARCHAR(200) NOT NULL,
            department VARCHAR(100) NOT NULL DEFAULT '',
            location VARCHAR(200) NOT NULL DEFAULT '',
            status VARCHAR(20) NOT NULL DEFAULT 'open',
            hiring_manager_id {uuid},
            recruiter_id {uuid},
            coordinator_id {uuid},
            target_hires INTEGER NOT NULL DEFAULT 1,
            target_date DATE,
            external_id VARCHAR(200),
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL,
            opened_at {ts},
            closed_at {ts},
            on_hold_since {ts},
            CONSTRAINT uq_jobs_external UNIQUE (tenant_id, external_id))""",
        "CREATE INDEX ix_jobs_tenant_status ON jobs (tenant_id, status)",
        "CREATE INDEX ix_jobs_tenant_hm ON jobs (tenant_id, hiring_manager_id)",
        "CREATE INDEX ix_jobs_tenant_recruiter ON jobs (tenant_id, recruiter_id)",
        """CREATE TABLE job_stages (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            job_id {uuid} NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name VARCHAR(100) NOT NULL,
            kind VARCHAR(30) NOT NULL,
            external_id VARCHAR(200),
            created_at {ts} NOT NULL,
            removed_at {ts},
            CONSTRAINT uq_job_stages_external UNIQUE (tenant_id, job_id, external_id))""",
        "CREATE INDEX ix_job_stages_job ON job_stages (tenant_id, job_id, position)",
        """CREATE TABLE applications (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            job_id {uuid} NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            prospect_id {uuid} NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
            stage_id {uuid} NOT NULL REFERENCES job_stages (id),
            stage_entered_at {ts} NOT NULL,
            status VARCHAR(20) NOT NULL DEFAULT 'active',
            outcome VARCHAR(20),
            outcome_reason VARCHAR(64),
            outcome_note {text},
            source VARCHAR(100) NOT NULL DEFAULT '',
            recruiter_id {uuid},
            external_id VARCHAR(200),
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL,
            closed_at {ts},
            furthest_position INTEGER NOT NULL DEFAULT 0,
            furthest_rank INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL DEFAULT 1,
            CONSTRAINT uq_applications_job_prospect UNIQUE (tenant_id, job_id, prospect_id),
            CONSTRAINT uq_applications_external UNIQUE (tenant_id, external_id))""",
        # The board: a job's active applications per stage, oldest in stage first.
        "CREATE INDEX ix_applications_board ON applications "
        "(tenant_id, job_id, status, stage_id, stage_entered_at)",
        "CREATE INDEX ix_applications_prospect ON applications (tenant_id, prospect_id)",
        "CREATE INDEX ix_applications_recruiter ON applications (tenant_id, recruiter_id, status)",
        "CREATE INDEX ix_applications_job ON applications (tenant_id, job_id, id)",
        """CREATE TABLE application_moves (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            application_id {uuid} NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
            job_id {uuid} NOT NULL,
            kind VARCHAR(20) NOT NULL DEFAULT 'move',
            from_stage_id {uuid},
            to_stage_id {uuid} NOT NULL,
            occurred_at {ts} NOT NULL,
            recorded_at {ts} NOT NULL,
            actor_id {uuid},
            source VARCHAR(20) NOT NULL DEFAULT 'app',
            external_id VARCHAR(200),
            outcome VARCHAR(20),
            outcome_reason VARCHAR(64),
            seq INTEGER NOT NULL DEFAULT 0,
            CONSTRAINT uq_application_moves_external UNIQUE (tenant_id, external_id),
            CONSTRAINT uq_application_moves_seq UNIQUE (tenant_id, application_id, seq))""",
        "CREATE INDEX ix_application_moves_history ON application_moves "
        "(tenant_id, application_id, occurred_at)",
        "CREATE INDEX ix_application_moves_job ON application_moves (tenant_id, job_id, occurred_at)",
        """CREATE TABLE closing_reasons (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            outcome VARCHAR(20) NOT NULL,
            key VARCHAR(64) NOT NULL,
            label VARCHAR(200) NOT NULL,
            requires_note BOOLEAN NOT NULL DEFAULT FALSE,
            archived_at {ts},
            created_at {ts} NOT NULL,
            CONSTRAINT uq_closing_reasons UNIQUE (tenant_id, outcome, key))""",
        """CREATE TABLE scorecards (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            application_id {uuid} NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
            job_id {uuid} NOT NULL,
            stage_id {uuid} NOT NULL,
            interviewer_id {uuid} NOT NULL,
            score INTEGER,
            notes {text} NOT NULL DEFAULT '',
            requested_at {ts} NOT NULL,
            submitted_at {ts},
            CONSTRAINT uq_scorecards UNIQUE (tenant_id, application_id, stage_id, interviewer_id),
            CONSTRAINT ck_scorecards_score CHECK (score IS NULL OR score BETWEEN 1 AND 4))""",
        "CREATE INDEX ix_scorecards_application ON scorecards (tenant_id, application_id)",
        "CREATE INDEX ix_scorecards_interviewer ON scorecards (tenant_id, interviewer_id, submitted_at)",
    ]
    result = [ddl(dialect, s) for s in statements]
    result += grant_app(dialect, TABLES)
    for table in TABLES:
        result += tenant_rls(dialect, table)
    return result


def down(dialect: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {t}" for t in reversed(TABLES)]
