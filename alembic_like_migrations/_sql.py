"""Column types and row-level security statements shared by the migrations."""

from __future__ import annotations

TYPES = {
    "sqlite": {"uuid": "CHAR(36)", "ts": "TIMESTAMP", "json": "JSON", "text": "TEXT"},
    "postgres": {"uuid": "UUID", "ts": "TIMESTAMPTZ", "json": "JSONB", "text": "TEXT"},
}


def ddl(dialect: str, sql: str) -> str:
    """Fill {uuid} {ts} {json} {text} placeholders with the dialect's types."""
    return sql.format(**TYPES[dialect])


def tenant_rls(dialect: str, table: str, *, identity_plane: bool = False) -> list[str]:
    """Row-level security on tenant_id, plus grants for the application role.

    Identity-plane tables may also be read across tenants inside identity_tx(), which sets
    app.cross_tenant for login, token refresh and key lookup.
    """
    if dialect != "postgres":
        return []
    check = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
    using = (f"({check}) OR current_setting('app.cross_tenant', true) = 'on'"
             if identity_plane else check)
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY tenant_isolation ON "{table}" USING ({using}) WITH CHECK ({using})',
    ]


def grant_app(dialect: str, tables: list[str]) -> list[str]:
    if dialect != "postgres":
        return []
    return [
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{t}" TO talentgraph_app' for t in tables
    ]


def create_app_role(dialect: str) -> list[str]:
    if dialect != "postgres":
        return []
    return [
        """DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'talentgraph_app') THEN
                CREATE ROLE talentgraph_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        END $$""",
        "GRANT talentgraph_app TO CURRENT_USER",
        "GRANT USAGE ON SCHEMA public TO talentgraph_app",
    ]
