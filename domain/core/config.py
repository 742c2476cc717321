"""Settings from the environment; the one place that reads os.environ."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("talentgraph.config")


class ConfigError(RuntimeError):
    """The configuration cannot run the product (production without real keys, bad URL)."""


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    database_url: str
    migration_database_url: str
    database_app_role: str
    redis_url: str | None
    secret_key: str
    encryption_keys: tuple[str, ...]
    public_base_url: str
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    invite_ttl_seconds: int = 7 * 24 * 3600
    max_page_size: int = 100
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_query_cost: int = 5000
    max_body_bytes: int = 1_000_000
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    extra: dict[str, str] = field(default_factory=dict)
    # Mail providers (see domain/mailboxes/endpoints.py): an emulator URL derives every base
    # URL; otherwise the real hosts, each overridable.
    provider_emulator_url: str | None = None
    provider_urls: dict[str, str] = field(default_factory=dict)
    google_client_id: str | None = None
    google_client_secret: str | None = None
    microsoft_client_id: str | None = None
    microsoft_client_secret: str | None = None
    microsoft_tenant: str = "common"
    system_smtp_url: str | None = None
    system_mail_from: str = "Talentgraph <no-reply@talentgraph.dev>"
    provider_timeout_seconds: float = 20.0

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def dialect(self) -> str:
        return "postgres" if self.database_url.startswith(("postgres://", "postgresql://")) else "sqlite"


def _dev_secret(data_dir: Path, name: str, make: Callable[[], str]) -> str:
    """A key generated once into the data folder so that dev restarts keep sessions valid."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    log.warning("generated a development %s in %s; set it in the environment for real use", name, path)
    return value


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


PROVIDER_URL_VARS = ("GOOGLE_ACCOUNTS_URL", "GOOGLE_OAUTH2_URL", "GMAIL_API_URL",
                     "MICROSOFT_LOGIN_URL", "MICROSOFT_GRAPH_URL")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    mode = env.get("TALENTGRAPH_ENV", "development")
    data_dir = Path(env.get("TALENTGRAPH_DATA_DIR", "data")).resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite://{data_dir / 'talentgraph.sqlite3'}"
    if not database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
        raise ConfigError("DATABASE_URL must start with sqlite:// or postgres://")
    secret_key = env.get("SECRET_KEY", "")
    keys = tuple(k.strip() for k in env.get("ENCRYPTION_KEYS", "").split(",") if k.strip())
    if mode == "production":
        if len(secret_key) < 32:
            raise ConfigError("production needs SECRET_KEY of at least 32 characters")
        if not keys:
            raise ConfigError("production needs ENCRYPTION_KEYS (comma-separated Fernet keys)")
    else:
        secret_key = secret_key or _dev_secret(data_dir, "secret_key", lambda: secrets.token_urlsafe(48))
        keys = keys or (_dev_secret(data_dir, "encryption_key", _fernet_key),)
    return Settings(
        env=mode,
        data_dir=data_dir,
        database_url=database_url,
        migration_database_url=env.get("MIGRATION_DATABASE_URL") or database_url,
        database_app_role=env.get("DATABASE_APP_ROLE", "talentgraph_app"),
        redis_url=env.get("REDIS_URL") or None,
        secret_key=secret_key,
        encryption_keys=keys,
        public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        provider_emulator_url=(env.get("PROVIDER_EMULATOR_URL") or "").rstrip("/") or None,
        provider_urls={name: env[name].rstrip("/") for name in PROVIDER_URL_VARS if env.get(name)},
        google_client_id=env.get("GOOGLE_CLIENT_ID") or None,
        google_client_secret=env.get("GOOGLE_CLIENT_SECRET") or None,
        microsoft_client_id=env.get("MICROSOFT_CLIENT_ID") or None,
        microsoft_client_secret=env.get("MICROSOFT_CLIENT_SECRET") or None,
        microsoft_tenant=env.get("MICROSOFT_TENANT") or "common",
        system_smtp_url=env.get("SYSTEM_SMTP_URL") or None,
        system_mail_from=env.get("SYSTEM_MAIL_FROM") or "Talentgraph <no-reply@talentgraph.dev>",
        provider_timeout_seconds=float(env.get("PROVIDER_TIMEOUT_SECONDS") or 20.0),
    )


_current: Settings | None = None


def configure(new: Settings) -> None:
    global _current
    _current = new


def settings() -> Settings:
    if _current is None:
        raise RuntimeError("settings not configured; call domain.core.config.configure() first")
    return _current
