"""Structured JSON logs carrying request id, tenant id and operation name.

Only ids and names are logged: never headers, bodies, variables or tokens.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any
from uuid import UUID

import orjson

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# A UUID (orjson writes it as its string): the request path sets it without formatting it.
tenant_id: contextvars.ContextVar[UUID | None] = contextvars.ContextVar("tenant_id", default=None)
operation: contextvars.ContextVar[str | None] = contextvars.ContextVar("operation", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id.get(),
            "tenant_id": tenant_id.get(),
            "operation": operation.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every provider call's full URL at INFO (OAuth state and codes included).
    for noisy in ("tortoise", "aiosqlite", "asyncio", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
