"""Pure rules of mailboxes: provider error classification (real error bodies), Retry-After,
header-injection checks, refresh timing, redaction, and the MIME message we build."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default

import pytest

from domain.core.errors import DomainError
from domain.mailboxes import rules
from domain.mailboxes.errors import HeaderInjection, MessageTooLarge
from domain.mailboxes.mime import Outgoing, Unsubscribe, build, message_id_domain, new_message_id

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def gmail_error(code: int, reason: str, message: str = "x", status: str = "X") -> dict:
    return {"error": {"code": code, "message": message, "status": status,
                      "errors": [{"message": message, "domain": "usageLimits", "reason": reason}]}}


def graph_error(code: str, message: str = "x") -> dict:
    return {"error": {"code": code, "message": message, "innerError": {}}}


@pytest.mark.parametrize(("status", "body", "headers", "kind", "retry"), [
    (401, gmail_error(401, "authError"), {}, "unauthorized", None),
    (401, graph_error("InvalidAuthenticationToken"), {}, "unauthorized", None),
    (429, gmail_error(429, "rateLimitExceeded"), {"Retry-After": "12"}, "quota", 12.0),
    (429, graph_error("ApplicationThrottled"), {"retry-after": "3"}, "quota", 3.0),
    (429, graph_error("ApplicationThrottled"), {}, "quota", 60.0),
    (403, gmail_error(403, "rateLimitExceeded"), {}, "quota", 60.0),
    (403, gmail_error(403, "userRateLimitExceeded"), {}, "quota", 60.0),
    (403, graph_error("ErrorSubmissionQuotaExceeded"), {"Retry-After": "30"}, "quota", 30.0),
    (500, gmail_error(500, "backendError"), {}, "transient", None),
    (503, graph_error("ServiceUnavailable"), {"Retry-After": "5"}, "transient", 5.0),
    (502, "<html>bad gateway</html>", {}, "transient", None),
    (403, gmail_error(403, "accessNotConfigured", "Gmail API has not been used in project 1 "
                      "before or it is disabled."), {}, "permanent", None),
    (404, graph_error("MailboxNotEnabledForRESTAPI"), {}, "permanent", None),
    (403, gmail_error(403, "insufficientPermissions"), {}, "reconnect", None),
    (403, graph_error("ErrorAccessDenied"), {}, "reconnect", None),
    (400, graph_error("ErrorInvalidRecipients", "At least one recipient isn't valid."), {},
     "recipient", None),
    (400, gmail_error(400, "invalidArgument", "Invalid To header"), {}, "recipient", None),
    (400, graph_error("InvalidInternetMessageHeader"), {}, "permanent", None),
])
def test_api_errors_are_classified(status, body, headers, kind, retry):
    fault = rules.classify_api_error(status, body, headers, NOW)
    assert (fault.kind, fault.retry_after) == (kind, retry)


@pytest.mark.parametrize(("status", "body", "kind"), [
    (400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
     "reconnect"),
    (400, {"error": "invalid_grant", "error_description": "AADSTS70000: The grant is expired.",
           "error_codes": [70000]}, "reconnect"),
    (400, {"error": "interaction_required", "error_description": "AADSTS65001: not consented",
           "error_codes": [65001], "suberror": "consent_required"}, "reconnect"),
    (400, {"error": "invalid_request", "error_description": "AADSTS50076: MFA required"},
     "reconnect"),
    (400, {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret",
           "error_codes": [7000215]}, "permanent"),
    (429, {"error": "temporarily_unavailable"}, "transient"),
    (500, {"error": "server_error"}, "transient"),
    (503, None, "transient"),
])
def test_token_errors_are_classified(status, body, kind):
    assert rules.classify_token_error(status, body, {}, NOW).kind == kind


def test_reconsent_detail_names_the_aadsts_code():
    fault = rules.classify_token_error(400, {"error": "interaction_required",
                                             "error_codes": [65001]}, {}, NOW)
    assert fault.detail == "interaction_required (AADSTS65001)"


def test_retry_after_takes_seconds_or_an_http_date():
    assert rules.retry_after({"Retry-After": "120"}, NOW) == 120.0
    assert rules.retry_after({"retry-after": "Mon, 02 Mar 2026 10:00:30 GMT"}, NOW) == 30.0
    assert rules.retry_after({"Retry-After": "Mon, 02 Mar 2026 09:00:00 GMT"}, NOW) == 0.0
    assert rules.retry_after({"Retry-After": "soon"}, NOW) is None
    assert rules.retry_after({}, NOW) is None


def test_refresh_is_due_within_the_margin():
    assert rules.refresh_due(None, NOW)
    assert rules.refresh_due(NOW + timedelta(minutes=4), NOW)
    assert not rules.refresh_due(NOW + timedelta(minutes=6), NOW)
    assert rules.refresh_due(NOW + timedelta(minutes=6), NOW, timedelta(minutes=10))


def test_day_and_time_to_midnight():
    assert rules.day_key(NOW) == "2026-03-02"
    assert rules.seconds_to_next_day(NOW) == 14 * 3600


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\r\nBcc: x@y", "a\x00b"])
def test_line_breaks_are_header_injection(value):
    with pytest.raises(HeaderInjection) as caught:
        rules.check_header_text(value, field="subject")
    assert caught.value.field == ["subject"] and caught.value.code == "HEADER_INJECTION"


def test_addresses_are_checked_and_domains_lowercased():
    assert rules.check_address(" Ada@Example.ORG ", field="to") == "Ada@example.org"
    with pytest.raises(DomainError) as caught:
        rules.check_address("ada@", field="to")
    assert caught.value.code == "INVALID_EMAIL"
    with pytest.raises(HeaderInjection):
        rules.check_address("ada@example.org\nBcc: x@y", field="to")


def test_safe_error_redacts_token_like_strings():
    detail = "refused ya29.a0AfB_byC7xYz1234567890abcdefghijklmnopqrstuvwxyz token"
    assert rules.safe_error(detail) == "refused [redacted] token"
    assert len(rules.safe_error("x" * 900)) <= 500


def out(**fields) -> Outgoing:
    base = {"from_name": "Rita Recruiter", "from_address": "rita@gmail.test", "to": "ada@example.org",
            "subject": "Hello", "text": "Plain"}
    return Outgoing(**{**base, **fields})


def test_message_ids_use_the_public_host():
    assert message_id_domain("https://app.talentgraph.dev/x") == "app.talentgraph.dev"
    from uuid import UUID

    assert new_message_id(UUID(int=5), "https://app.talentgraph.dev") == (
        "<00000000-0000-0000-0000-000000000005@app.talentgraph.dev>")


def test_the_built_message_has_exact_headers():
    msg = build(out(to_name="Ada Lovelace", reply_to="rita@gmail.test", in_reply_to="<a@x>",
                    references=["<root@x>", "<a@x>"], html="<p>Hi</p>",
                    unsubscribe=Unsubscribe(url="https://t.example/u/1", mailto="u@t.example")),
                message_id="<m1@tg>", date=NOW)
    parsed = message_from_bytes(msg.as_bytes(), policy=default)
    assert parsed["Message-ID"] == "<m1@tg>"
    assert parsed["From"] == "Rita Recruiter <rita@gmail.test>"
    assert parsed["To"] == "Ada Lovelace <ada@example.org>"
    assert parsed["Reply-To"] == "rita@gmail.test"
    assert parsed["In-Reply-To"] == "<a@x>"
    assert parsed["References"] == "<root@x> <a@x>"
    assert parsed["List-Unsubscribe"] == "<mailto:u@t.example>, <https://t.example/u/1>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Date"] == "Mon, 02 Mar 2026 10:00:00 +0000"
    assert parsed.get_content_type() == "multipart/alternative"


def test_in_reply_to_is_appended_to_references_when_missing():
    msg = build(out(in_reply_to="b@x", references=["<a@x>"]), message_id="<m@tg>", date=NOW)
    assert (msg["In-Reply-To"], msg["References"]) == ("<b@x>", "<a@x> <b@x>")


def test_mailto_only_unsubscribe_has_no_one_click_post():
    msg = build(out(unsubscribe=Unsubscribe(mailto="u@t.example")), message_id="<m@tg>", date=NOW)
    assert msg["List-Unsubscribe"] == "<mailto:u@t.example>"
    assert msg["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"from_name": "Rita\r\nBcc: x@y"}, ["fromName"], "HEADER_INJECTION"),
    ({"subject": "Hi\nBcc: x@y"}, ["subject"], "HEADER_INJECTION"),
    ({"subject": ""}, ["subject"], "INVALID"),
    ({"subject": "x" * 999}, ["subject"], "INVALID"),
    ({"references": ["<a@x>\r\nBcc: y"], "in_reply_to": "<a@x>"}, ["references"],
     "HEADER_INJECTION"),
    ({"unsubscribe": Unsubscribe(url="javascript:alert(1)")}, ["unsubscribe"], "INVALID_URL"),
    ({"text": None}, ["text"], "REQUIRED"),
    ({"html": "<p>" + "x" * rules.MAX_MESSAGE_BYTES + "</p>", "text": None}, ["html"],
     "MESSAGE_TOO_LARGE"),
])
def test_bad_messages_are_refused(fields, field, code):
    with pytest.raises(DomainError) as caught:
        build(out(**fields), message_id="<m@tg>", date=NOW)
    assert (caught.value.field, caught.value.code) == (field, code)
    if code == "MESSAGE_TOO_LARGE":
        assert isinstance(caught.value, MessageTooLarge)
