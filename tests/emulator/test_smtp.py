"""The SMTP server: AUTH PLAIN/LOGIN required, messages stored, replies threaded, faults."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage

import pytest

from tests.emulator_fixture import Emulator

SENDER = "jobs@agency.test"


def mail(subject: str = "Hello", message_id: str = "<s1@talentgraph.test>") -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SENDER, "bob@candidate.test", subject
    message["Message-ID"] = message_id
    message.set_content("Hi Bob")
    return message


@pytest.fixture
def account(emu: Emulator) -> Emulator:
    emu.create_account("smtp", SENDER, password="s3cret")
    return emu


def connect(emu: Emulator) -> smtplib.SMTP:
    return smtplib.SMTP(emu.host, emu.smtp_port, timeout=5)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_authenticated_message_is_stored(account: Emulator, mechanism: str) -> None:
    with connect(account) as client:
        client.ehlo()
        assert client.has_extn("auth")
        client.user, client.password = SENDER, "s3cret"
        code, _ = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        assert code == 235
        refused = client.send_message(mail(), to_addrs=["bob@candidate.test", "hidden@bcc.test"])

    assert refused == {}
    [stored] = account.messages("smtp", SENDER)
    assert (stored["id"], stored["threadId"], stored["to"], stored["subject"], stored["messageId"],
            stored["direction"]) == ("smtp-000001", "smtp-000001", ["bob@candidate.test", "hidden@bcc.test"],
                                     "Hello", "<s1@talentgraph.test>", "sent")


def test_wrong_password_is_535_and_nothing_is_sent(account: Emulator) -> None:
    with connect(account) as client, pytest.raises(smtplib.SMTPAuthenticationError) as error:
        client.login(SENDER, "wrong")
    assert error.value.smtp_code == 535
    assert error.value.smtp_error == b"5.7.8 Authentication credentials invalid"


def test_mail_without_auth_is_refused(account: Emulator) -> None:
    with connect(account) as client, pytest.raises(smtplib.SMTPSenderRefused) as error:
        client.send_message(mail())
    assert error.value.smtp_code == 530
    assert account.messages() == []


def test_inject_reply_threads_with_the_sent_message(account: Emulator) -> None:
    with connect(account) as client:
        client.login(SENDER, "s3cret")
        client.send_message(mail())

    reply = account.inject("smtp", SENDER, "reply", "<s1@talentgraph.test>")

    assert (reply["threadId"], reply["inReplyTo"], reply["subject"], reply["direction"], reply["from"]) == (
        "smtp-000001", "<s1@talentgraph.test>", "Re: Hello", "inbound", "bob@candidate.test")
    assert reply["headers"]["References"] == "<s1@talentgraph.test>"


@pytest.mark.parametrize(("kind", "code", "text"), [
    ("quota", 550, b"5.4.5 Daily user sending limit exceeded."),
    ("429", 421, b"4.7.0 Try again later, closing connection."),
    ("500", 451, b"4.3.0 Mail server temporarily rejected message.")])
def test_data_faults(account: Emulator, kind: str, code: int, text: bytes) -> None:
    account.fault("smtp", kind, endpoint="send")
    with connect(account) as client:
        client.login(SENDER, "s3cret")
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.send_message(mail())
    assert (error.value.smtp_code, error.value.smtp_error) == (code, text)
    with connect(account) as client:
        client.login(SENDER, "s3cret")
        client.send_message(mail("Second"))
    assert [m["subject"] for m in account.messages("smtp")] == ["Second"]


def test_timeout_holds_data_then_accepts(account: Emulator) -> None:
    account.fault("smtp", "timeout", endpoint="send", delay_seconds=0.4)
    with connect(account) as client:
        client.login(SENDER, "s3cret")
        started = time.monotonic()
        client.send_message(mail())
        assert time.monotonic() - started >= 0.4
    assert len(account.messages("smtp", SENDER)) == 1


def test_auth_faults(account: Emulator) -> None:
    # smtplib tries each advertised mechanism (PLAIN, then LOGIN) before giving up.
    account.fault("smtp", "reconsent", endpoint="token", count=2)
    with connect(account) as client, pytest.raises(smtplib.SMTPAuthenticationError) as error:
        client.login(SENDER, "s3cret")
    assert (error.value.smtp_code, error.value.smtp_error) == (
        534, b"5.7.9 Application-specific password required.")
    account.fault("smtp", "invalid_grant", endpoint="token", count=2)
    with connect(account) as client, pytest.raises(smtplib.SMTPAuthenticationError) as error:
        client.login(SENDER, "s3cret")
    assert error.value.smtp_code == 535
    with connect(account) as client:
        assert client.login(SENDER, "s3cret")[0] == 235
