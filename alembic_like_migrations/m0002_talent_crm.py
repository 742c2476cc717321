"""The talent CRM: prospects, their emails, profiles, tags, custom fields and demographics,
activities, notes, notifications, projects, saved searches and imports."""

from __future__ import annotations

from alembic_like_migrations._sql import ddl, grant_app, tenant_rls

TABLES = ["prospects", "prospect_emails", "prospect_profiles", "prospect_tags",
          "custom_field_definitions", "prospect_demographics", "activities", "notes",
          "notifications", "projects", "project_members", "project_prospects", "saved_searches",
          "prospect_imports", "prospect_import_rows"]


def up(dialect: str) -> list[str]:
    statements = [
        """CREATE TABLE prospects (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            first_name VARCHAR(100) NOT NULL,
            last_name VARCHAR(100) NOT NULL DEFAULT '',
            title VARCHAR(200) NOT NULL DEFAULT '',
            company VARCHAR(200) NOT NULL DEFAULT '',
            location VARCHAR(200) NOT NULL DEFAULT '',
            time_zone VARCHAR(64),
            phone VARCHAR(40),
            source VARCHAR(100) NOT NULL DEFAULT '',
            owner_id {uuid},
            custom_fields {json} NOT NULL,
            created_by_id {uuid},
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL,
            archived_at {ts},
            merged_into_id {uuid},
            last_activity_at {ts},
            last_contacted_at {ts},
            last_replied_at {ts},
            engagement_owner_id {uuid},
            engagement_reason VARCHAR(40),
            engagement_since {ts},
            search_text {text} NOT NULL DEFAULT '')""",
        "CREATE INDEX ix_prospects_tenant_owner ON prospects (tenant_id, owner_id)",
        "CREATE INDEX ix_prospects_tenant_activity ON prospects (tenant_id, last_activity_at)",
        "CREATE INDEX ix_prospects_tenant_created ON prospects (tenant_id, created_at)",
        "CREATE INDEX ix_prospects_tenant_source ON prospects (tenant_id, source)",
        """CREATE TABLE prospect_emails (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            prospect_id {uuid} NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
            email VARCHAR(254) NOT NULL,
            is_primary BOOLEAN NOT NULL DEFAULT FALSE,
            created_at {ts} NOT NULL,
            CONSTRAINT uq_prospect_emails UNIQUE (tenant_id, email))""",
        "CREATE INDEX ix_prospect_emails_prospect ON prospect_emails (tenant_id, prospect_id)",
        """CREATE TABLE prospect_profiles (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            prospect_id {uuid} NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
            kind VARCHAR(20) NOT NULL,
            url VARCHAR(500) NOT NULL,
            created_at {ts} NOT NULL,
            CONSTRAINT uq_prospect_profiles UNIQUE (tenant_id, url))""",
        "CREATE INDEX ix_prospect_profiles_prospect ON prospect_profiles (tenant_id, prospect_id)",
        """CREATE TABLE prospect_tags (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            prospect_id {uuid} NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
            tag VARCHAR(64) NOT NULL,
            CONSTRAINT uq_prospect_tags UNIQUE (tenant_id, prospect_id, tag))""",
        "CREATE INDEX ix_prospect_tags_tag ON prospect_tags (tenant_id, tag, prospect_id)",
        """CREATE TABLE custom_field_definitions (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            key VARCHAR(64) NOT NULL,
            label VARCHAR(100) NOT NULL,
            type VARCHAR(20) NOT NULL,
            options {json} NOT NULL,
            created_at {ts} NOT NULL,
            archived_at {ts},
            CONSTRAINT uq_custom_field_key UNIQUE (tenant_id, key))""",
        """CREATE TABLE prospect_demographics (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            prospect_id {uuid} NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
            data {json} NOT NULL,
            updated_at {ts} NOT NULL,
            CONSTRAINT uq_prospect_demographics UNIQUE (tenant_id, prospect_id))""",
        """CREATE TABLE activities (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            prospect_id {uuid} NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
            kind VARCHAR(40) NOT NULL,
            actor_user_id {uuid},
            occurred_at {ts} NOT NULL,
            payload {json} NOT NULL,
            event_id {uuid},
            CONSTRAINT uq_activities_event UNIQUE (tenant_id, event_id, prospect_id))""",
        "CREATE INDEX ix_activities_prospect ON activities (tenant_id, prospect_id, id)",
        """CREATE TABLE notes (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            prospect_id {uuid} NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
            author_id {uuid},
            body {text} NOT NULL,
            mentions {json} NOT NULL,
            created_at {ts} NOT NULL)""",
        "CREATE INDEX ix_notes_prospect ON notes (tenant_id, prospect_id)",
        """CREATE TABLE notifications (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            user_id {uuid} NOT NULL,
            kind VARCHAR(40) NOT NULL,
            payload {json} NOT NULL,
            created_at {ts} NOT NULL,
            read_at {ts})""",
        "CREATE INDEX ix_notifications_user ON notifications (tenant_id, user_id, id)",
        """CREATE TABLE projects (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            name VARCHAR(200) NOT NULL,
            description {text} NOT NULL DEFAULT '',
            owner_id {uuid} NOT NULL,
            visibility VARCHAR(20) NOT NULL DEFAULT 'private',
            share_token_hash VARCHAR(64) UNIQUE,
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL,
            archived_at {ts})""",
        "CREATE INDEX ix_projects_tenant ON projects (tenant_id, id)",
        """CREATE TABLE project_members (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            project_id {uuid} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            user_id {uuid} NOT NULL,
            created_at {ts} NOT NULL,
            CONSTRAINT uq_project_members UNIQUE (tenant_id, project_id, user_id))""",
        """CREATE TABLE project_prospects (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            project_id {uuid} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            prospect_id {uuid} NOT NULL REFERENCES prospects (id) ON DELETE CASCADE,
            added_by_id {uuid},
            added_at {ts} NOT NULL,
            CONSTRAINT uq_project_prospects UNIQUE (tenant_id, project_id, prospect_id))""",
        "CREATE INDEX ix_project_prospects_prospect ON project_prospects (tenant_id, prospect_id)",
        """CREATE TABLE saved_searches (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            owner_id {uuid} NOT NULL,
            name VARCHAR(200) NOT NULL,
            criteria {json} NOT NULL,
            created_at {ts} NOT NULL)""",
        "CREATE INDEX ix_saved_searches_owner ON saved_searches (tenant_id, owner_id)",
        """CREATE TABLE prospect_imports (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            created_by_id {uuid},
            status VARCHAR(20) NOT NULL,
            file_path VARCHAR(500) NOT NULL,
            mapping {json} NOT NULL,
            options {json} NOT NULL,
            total_bytes BIGINT NOT NULL DEFAULT 0,
            processed_bytes BIGINT NOT NULL DEFAULT 0,
            processed_rows INT NOT NULL DEFAULT 0,
            created_count INT NOT NULL DEFAULT 0,
            merged_count INT NOT NULL DEFAULT 0,
            skipped_count INT NOT NULL DEFAULT 0,
            error_count INT NOT NULL DEFAULT 0,
            resume_line INT NOT NULL DEFAULT 0,
            error_message {text},
            created_at {ts} NOT NULL,
            started_at {ts},
            finished_at {ts},
            heartbeat_at {ts})""",
        """CREATE TABLE prospect_import_rows (
            id {uuid} NOT NULL PRIMARY KEY,
            tenant_id {uuid} NOT NULL,
            import_id {uuid} NOT NULL REFERENCES prospect_imports (id) ON DELETE CASCADE,
            line INT NOT NULL,
            outcome VARCHAR(20) NOT NULL,
            prospect_id {uuid},
            message {text} NOT NULL DEFAULT '',
            CONSTRAINT uq_import_rows_line UNIQUE (tenant_id, import_id, line))""",
    ]
    result = [ddl(dialect, s) for s in statements]
    if dialect == "postgres":
        # Full-text search: a generated tsvector over search_text with a GIN index, and
        # trigram matching for partial words (name fragments, company prefixes).
        result += [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "ALTER TABLE prospects ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple', search_text)) STORED",
            "CREATE INDEX ix_prospects_search ON prospects USING GIN (search_vector)",
            "CREATE INDEX ix_prospects_search_trgm ON prospects USING GIN "
            "(search_text gin_trgm_ops)",
        ]
    result += grant_app(dialect, TABLES)
    for table in TABLES:
        result += tenant_rls(dialect, table)
    return result


def down(dialect: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {t}" for t in reversed(TABLES)]
