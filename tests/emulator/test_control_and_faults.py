"""The control API and every armed fault kind, in each provider's real error shape."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
import time
from email.message import EmailMessage

import httpx
import pytest

from tests.emulator.conftest import PATHS, bearer, connect, refresh
from tests.emulator_fixture import ROOT, Emulator, start_emulator

ADA, GRACE = "ada@example.test", "grace@example.test"
GMAIL = "/google/gmail/gmail/v1/users/me"
GRAPH = "/microsoft/graph/v1.0"


def gmail_raw(message_id: str = "<m1@talentgraph.test>") -> str:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = ADA, "bob@candidate.test", "Hello"
    message["Message-ID"] = message_id
    message.set_content("Hi")
    return base64.urlsafe_b64encode(message.as_bytes()).decode()


@pytest.fixture
def gmail(http: httpx.Client) -> httpx.Client:
    http.headers.update(bearer(connect(http, "google", ADA)["access_token"]))
    return http


@pytest.fixture
def graph(emu: Emulator) -> httpx.Client:
    with httpx.Client(base_url=emu.url, timeout=10) as client:
        client.headers.update(bearer(connect(client, "microsoft", GRACE)["access_token"]))
        yield client


def gmail_send(gmail: httpx.Client, message_id: str = "<m1@talentgraph.test>") -> httpx.Response:
    return gmail.post(GMAIL + "/messages/send", json={"raw": gmail_raw(message_id)})


def graph_send(graph: httpx.Client) -> httpx.Response:
    return graph.post(GRAPH + "/me/sendMail", json={"message": {
        "subject": "Hi", "body": {"contentType": "Text", "content": "Hi"},
        "toRecipients": [{"emailAddress": {"address": "bob@candidate.test"}}]}})


# control API ------------------------------------------------------------------------------------
def test_accounts_are_idempotent_and_updatable(emu: Emulator) -> None:
    first = emu.create_account("google", "Ada@Example.test")
    again = emu.create_account("google", ADA, displayName="Ada L.", sendAs=[{"email": "a@alias.test"}])

    assert first == {"provider": "google", "address": ADA, "displayName": "Ada", "id": first["id"],
                     "hasPassword": False, "sendAs": []}
    assert again == {**first, "displayName": "Ada L.",
                     "sendAs": [{"email": "a@alias.test", "displayName": ""}]}


def test_control_api_rejects_bad_input(emu: Emulator) -> None:
    cases = [("/accounts", {"provider": "yahoo", "address": ADA}),
             ("/accounts", {"provider": "google", "address": "nope"}),
             ("/faults", {"provider": "google", "kind": "explode"}),
             ("/faults", {"provider": "google", "kind": "429", "endpoint": "inbox"}),
             ("/faults", {"provider": "google", "kind": "429", "count": 0}),
             ("/inject", {"provider": "google", "mailbox": ADA, "kind": "love", "inReplyTo": "<x>"}),
             ("/settings", {"accessTokenTtl": -1})]
    for path, body in cases:
        response = emu.control.post(path, json=body)
        assert response.status_code == 400, (path, body)
        assert set(response.json()) == {"error"}
    unknown = emu.control.post("/inject", json={"provider": "google", "mailbox": ADA, "kind": "reply",
                                                "inReplyTo": "<never@sent>"})
    assert unknown.status_code == 404


def test_health_reset_and_fault_listing(emu: Emulator, gmail: httpx.Client) -> None:
    gmail_send(gmail)
    emu.fault("google", "500", endpoint="send", count=3)

    assert emu.health() == {"status": "ok"}
    assert emu.control.get("/faults").json()["faults"] == [
        {"provider": "google", "endpoint": "send", "kind": "500", "remaining": 3, "retryAfter": None,
         "delaySeconds": 30.0}]
    emu.reset()
    assert emu.messages() == []
    assert emu.control.get("/faults").json() == {"faults": []}
    assert emu.grants()["grants"] == []
    assert gmail.get(GMAIL + "/profile").status_code == 401  # tokens died with the reset


def test_inject_bounce_is_a_threaded_dsn(emu: Emulator, gmail: httpx.Client) -> None:
    sent = gmail_send(gmail).json()

    bounce = emu.inject("google", ADA, "bounce", "<m1@talentgraph.test>")

    assert (bounce["threadId"], bounce["direction"], bounce["from"], bounce["inReplyTo"]) == (
        sent["threadId"], "inbound", "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "<m1@talentgraph.test>")
    assert bounce["headers"]["X-Failed-Recipients"] == "bob@candidate.test"
    assert bounce["headers"]["Content-Type"].startswith("multipart/report; report-type=delivery-status")
    assert "Status: 5.1.1" in bounce["raw"]
    full = gmail.get(f"{GMAIL}/messages/{bounce['id']}").json()
    assert [p["mimeType"] for p in full["payload"]["parts"]] == [
        "text/plain", "message/delivery-status", "text/rfc822-headers"]


# Google faults ----------------------------------------------------------------------------------
def test_google_429_with_retry_after_for_the_armed_count(emu: Emulator, gmail: httpx.Client) -> None:
    emu.fault("google", "429", endpoint="send", count=2, retry_after=7)

    first, second, third = gmail_send(gmail), gmail_send(gmail), gmail_send(gmail)

    assert first.status_code == second.status_code == 429
    assert first.headers["retry-after"] == "7"
    error = first.json()["error"]
    assert (error["code"], error["status"], error["errors"][0]["reason"], error["errors"][0]["domain"]) == (
        429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "usageLimits")
    assert error["message"].startswith("User-rate limit exceeded.  Retry after ")
    assert third.status_code == 200
    assert len(emu.messages("google")) == 1


def test_google_quota_is_403_rate_limit_exceeded(emu: Emulator, gmail: httpx.Client) -> None:
    emu.fault("google", "quota", endpoint="send")
    response = gmail_send(gmail)
    assert (response.status_code, response.json()) == (403, {"error": {
        "code": 403, "message": "Rate Limit Exceeded",
        "errors": [{"message": "Rate Limit Exceeded", "domain": "usageLimits",
                    "reason": "rateLimitExceeded"}],
        "status": "PERMISSION_DENIED"}})


@pytest.mark.parametrize(("kind", "status", "reason"), [
    ("500", 500, "backendError"), ("not_enabled", 403, "accessNotConfigured"),
    ("reconsent", 403, "insufficientPermissions"), ("invalid_grant", 401, "authError")])
def test_google_api_faults(emu: Emulator, gmail: httpx.Client, kind: str, status: int, reason: str) -> None:
    emu.fault("google", kind, endpoint="api")
    assert gmail_send(gmail).status_code == 200  # "api" faults spare sends
    response = gmail.get(GMAIL + "/profile")
    assert (response.status_code, response.json()["error"]["errors"][0]["reason"]) == (status, reason)
    assert gmail.get(GMAIL + "/profile").status_code == 200


def test_google_token_faults(emu: Emulator, http: httpx.Client) -> None:
    tokens = connect(http, "google", ADA)
    emu.fault("google", "500", endpoint="token")
    emu.fault("google", "invalid_grant", endpoint="token")

    assert (refresh(http, "google", tokens["refresh_token"]).status_code) == 500
    assert refresh(http, "google", tokens["refresh_token"]).json() == {
        "error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    assert refresh(http, "google", tokens["refresh_token"]).status_code == 200


def test_timeout_holds_the_request_but_still_sends(emu: Emulator, gmail: httpx.Client) -> None:
    emu.fault("google", "timeout", endpoint="send", delay_seconds=0.6)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        gmail.post(GMAIL + "/messages/send", json={"raw": gmail_raw()}, timeout=0.2)
    assert emu.messages() == []
    deadline = started + 5
    while not emu.messages() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert time.monotonic() - started >= 0.6
    assert len(emu.messages("google", ADA)) == 1


# Microsoft faults -------------------------------------------------------------------------------
def test_graph_429_with_retry_after(emu: Emulator, graph: httpx.Client) -> None:
    emu.fault("microsoft", "429", endpoint="send", retry_after=3)
    response = graph_send(graph)
    assert (response.status_code, response.headers["retry-after"]) == (429, "3")
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert graph_send(graph).status_code == 202


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("500", 500, "ErrorInternalServerError"), ("quota", 403, "ErrorSubmissionQuotaExceeded"),
    ("not_enabled", 404, "MailboxNotEnabledForRESTAPI"), ("reconsent", 403, "ErrorAccessDenied"),
    ("invalid_grant", 401, "InvalidAuthenticationToken")])
def test_graph_faults(emu: Emulator, graph: httpx.Client, kind: str, status: int, code: str) -> None:
    emu.fault("microsoft", kind, endpoint="*")
    response = graph_send(graph)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert emu.messages() == []


def test_microsoft_token_faults(emu: Emulator, http: httpx.Client) -> None:
    tokens = connect(http, "microsoft", GRACE)
    emu.fault("microsoft", "429", endpoint="token", retry_after=2)
    emu.fault("microsoft", "reconsent", endpoint="token")

    throttled = refresh(http, "microsoft", tokens["refresh_token"])
    consent = refresh(http, "microsoft", tokens["refresh_token"])

    assert (throttled.status_code, throttled.headers["retry-after"], throttled.json()["error"]) == (
        429, "2", "temporarily_unavailable")
    body = consent.json()
    assert (consent.status_code, body["error"], body["error_codes"], body["suberror"]) == (
        400, "interaction_required", [65001], "consent_required")
    assert body["error_description"].startswith("AADSTS65001: ")
    # Faults answered before the token was looked at: it was never spent.
    assert refresh(http, "microsoft", tokens["refresh_token"]).status_code == 200
    assert http.post(PATHS["microsoft"].token, data={}).status_code == 400


# the process ------------------------------------------------------------------------------------
def test_cli_prints_ports_first_and_starts_fast() -> None:
    started = time.monotonic()
    process, handle = start_emulator()
    try:
        assert time.monotonic() - started < 3  # generous for a loaded 2-core machine; ~0.5 s idle
        assert handle.port > 0 and handle.smtp_port > 0 and handle.port != handle.smtp_port
    finally:
        handle.close()
        process.terminate()
        assert process.wait(5) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled


def test_talentgraph_emulator_command_execs_the_module() -> None:
    process = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "emulator",
                                "--port", "0", "--smtp-port", "0"], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith('{"http": ') and '"smtp": ' in line
    finally:
        process.terminate()
        process.wait(5)
