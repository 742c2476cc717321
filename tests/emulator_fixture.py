"""The provider emulator as a real subprocess on free loopback ports, once per test session.

`emulator` (session) starts `python -m emulator --port 0 --smtp-port 0`, reads the bound ports
from its first stdout line and waits for `/_emulator/health`; `emu` (function) resets its state
before each test and hands over the same object.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


class Emulator:
    """Handle on the running emulator: its addresses and the control API."""

    def __init__(self, host: str, http_port: int, smtp_port: int) -> None:
        self.host = host
        self.port = http_port
        self.smtp_port = smtp_port
        self.url = f"http://{host}:{http_port}"
        self.control = httpx.Client(base_url=self.url + "/_emulator", timeout=10)

    def _ok(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._ok(self.control.get("/health"))

    def reset(self) -> None:
        self._ok(self.control.post("/reset"))

    def create_account(self, provider: str, address: str, **fields: Any) -> dict[str, Any]:
        """fields: displayName, password (smtp), sendAs=[{"email", "displayName"}]."""
        return self._ok(self.control.post("/accounts", json={"provider": provider, "address": address,
                                                             **fields}))

    def messages(self, provider: str | None = None, mailbox: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("provider", provider), ("mailbox", mailbox)) if v}
        return self._ok(self.control.get("/messages", params=params))["messages"]

    def inject(self, provider: str, mailbox: str, kind: str, in_reply_to: str,
               **fields: Any) -> dict[str, Any]:
        """fields: from, body."""
        return self._ok(self.control.post("/inject", json={"provider": provider, "mailbox": mailbox,
                                                           "kind": kind, "inReplyTo": in_reply_to, **fields}))

    def revoke(self, provider: str, mailbox: str) -> int:
        body = {"provider": provider, "mailbox": mailbox}
        return self._ok(self.control.post("/revoke", json=body))["revoked"]

    def fault(self, provider: str, kind: str, *, endpoint: str = "*", count: int = 1,
              retry_after: int | None = None, delay_seconds: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"provider": provider, "endpoint": endpoint, "kind": kind, "count": count}
        if retry_after is not None:
            body["retryAfter"] = retry_after
        if delay_seconds is not None:
            body["delaySeconds"] = delay_seconds
        return self._ok(self.control.post("/faults", json=body))

    def settings(self, *, access_token_ttl: int) -> dict[str, Any]:
        return self._ok(self.control.post("/settings", json={"accessTokenTtl": access_token_ttl}))

    def grants(self, provider: str | None = None, mailbox: str | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (("provider", provider), ("mailbox", mailbox)) if v}
        return self._ok(self.control.get("/grants", params=params))

    def close(self) -> None:
        self.control.close()


def start_emulator(host: str = "127.0.0.1") -> tuple[subprocess.Popen[bytes], Emulator]:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--host", host, "--port", "0", "--smtp-port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(5)
        raise RuntimeError(f"the emulator exited ({process.returncode}) before printing its ports")
    ports = json.loads(line)
    # Keep draining stdout so the child can never block on a full pipe.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    emulator = Emulator(host, ports["http"], ports["smtp"])
    deadline = time.monotonic() + 10
    while True:
        try:
            emulator.health()
            return process, emulator
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.02)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    process, handle = start_emulator()
    try:
        yield handle
    finally:
        handle.close()
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.reset()
    return emulator
