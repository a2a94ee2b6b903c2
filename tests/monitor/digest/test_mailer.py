"""Building the digest email and delivering it to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor.config import SmtpSettings
from monitor.digest.mailer import MailError, build_message, message_id, send
from tests.monitor.mailservers import HungServer, Mailbox, free_port, self_signed_cert, server_tls

WHEN = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _message(**overrides: str) -> EmailMessage:
    args = {
        "subject": "pledgewatch 2026-W47: 1 new story (1 breach)",
        "text": "plain body\n",
        "html": "<p>html body</p>\n",
        "from_addr": "pledgewatch@example.org",
        "to": "analyst@example.org",
        "period": "2026-W47",
        "base_url": "",
    }
    args.update(overrides)
    return build_message(date=WHEN, **args)


def _smtp(port: int, **kw: object) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, **kw)


def test_message_is_multipart_alternative_with_text_first_and_html_second() -> None:
    msg = message_from_bytes(_message().as_bytes(), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content() == "plain body\n"
    assert parts[1].get_content() == "<p>html body</p>\n"
    assert all(p.get_content_charset() == "utf-8" for p in parts)


def test_headers_name_sender_recipient_date_and_period() -> None:
    msg = _message()
    assert msg["From"] == "pledgewatch@example.org"
    assert msg["To"] == "analyst@example.org"
    assert msg["Subject"] == "pledgewatch 2026-W47: 1 new story (1 breach)"
    assert msg["Date"] == "Mon, 23 Nov 2026 08:00:00 +0000"
    assert msg["Auto-Submitted"] == "auto-generated"


def test_message_id_is_stable_per_period_and_recipient_and_differs_otherwise() -> None:
    a = _message()["Message-ID"]
    assert a == _message(subject="another subject", text="changed")["Message-ID"]
    assert a == message_id("2026-W47", "Analyst@Example.org ")
    assert a.startswith("<digest-2026-W47-") and a.endswith("@pledgewatch>")
    assert a != _message(to="other@example.org")["Message-ID"]
    assert a != _message(period="2026-W48")["Message-ID"]


def test_list_unsubscribe_offers_mailto_and_a_url_when_base_url_is_set() -> None:
    assert _message()["List-Unsubscribe"] == (
        "<mailto:pledgewatch@example.org?subject=unsubscribe>"
    )
    with_url = _message(base_url="https://pw.example.org/")["List-Unsubscribe"]
    assert with_url == (
        "<mailto:pledgewatch@example.org?subject=unsubscribe>, <https://pw.example.org/unsubscribe>"
    )
    assert "javascript" not in _message(base_url="javascript:alert(1)")["List-Unsubscribe"]


def test_cr_lf_and_control_characters_in_headers_are_collapsed_not_injected() -> None:
    msg = _message(
        subject="Breach\r\nBcc: victim@example.org\r\n\r\nhidden\x00\x1b body",
        to="analyst@example.org\r\nCc: other@example.org",
    )
    raw = msg.as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    assert parsed["Subject"] == "Breach Bcc: victim@example.org hidden body"
    assert "\x00" not in str(parsed["Subject"]) and "\x1b" not in str(parsed["Subject"])


def test_send_delivers_to_a_real_smtp_server() -> None:
    with Mailbox() as box:
        send(_message(), _smtp(box.port))
        assert box.wait_for(1)
    rcpts, msg = box.messages[0]
    assert rcpts == ["analyst@example.org"]
    assert msg["Message-ID"] == message_id("2026-W47", "analyst@example.org")
    assert msg.get_content_type() == "multipart/alternative"


@pytest.mark.parametrize(
    ("answer", "permanent"),
    [
        ("550 5.7.1 message refused", True),
        ("554 5.6.0 no thanks", True),
        ("451 4.3.0 try again later", False),
        ("452 4.3.1 out of space", False),
    ],
)
def test_server_errors_become_mail_errors_that_say_if_retrying_helps(
    answer: str, permanent: bool
) -> None:
    with Mailbox(answer=answer) as box, pytest.raises(MailError) as err:
        send(_message(), _smtp(box.port))
    exc = err.value
    assert exc.permanent is permanent
    assert exc.code == int(answer[:3])
    assert exc.host == "127.0.0.1" and exc.port == box.port
    assert f"127.0.0.1:{box.port}" in str(exc)
    assert ("permanent" if permanent else "temporary") in str(exc)


def test_a_refused_recipient_is_a_permanent_failure() -> None:
    with Mailbox() as box:
        box.refuse.add("analyst@example.org")
        with pytest.raises(MailError) as err:
            send(_message(), _smtp(box.port))
    assert err.value.permanent
    assert err.value.code == 550
    assert "analyst@example.org" in str(err.value)
    assert box.messages == []


def test_connection_refused_is_temporary_and_names_host_and_port() -> None:
    port = free_port()
    with pytest.raises(MailError) as err:
        send(_message(), _smtp(port))
    assert not err.value.permanent and err.value.connection
    assert f"127.0.0.1:{port}" in str(err.value)
    assert "refused" in str(err.value)


def test_a_server_that_never_answers_times_out_within_the_setting() -> None:
    with HungServer() as hung:
        started = time.monotonic()
        with pytest.raises(MailError) as err:
            send(_message(), _smtp(hung.port, timeout=0.5))
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert not err.value.permanent and err.value.connection
    assert f"127.0.0.1:{hung.port}" in str(err.value)
    assert "0.5 s" in str(err.value)


# aiosmtpd warns that AUTH without TLS is unsafe: true, and fine on 127.0.0.1 in a test.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login_is_used_when_a_user_is_set_and_a_wrong_password_is_permanent() -> None:
    with Mailbox(login=("digest", "s3cret")) as box:
        send(_message(), _smtp(box.port, user="digest", password="s3cret"))
        assert box.wait_for(1)
        with pytest.raises(MailError) as err:
            send(_message(), _smtp(box.port, user="digest", password="wrong"))
    assert err.value.permanent
    assert "PLEDGEWATCH_SMTP_PASSWORD" in str(err.value)
    assert len(box.messages) == 1


def test_starttls_asked_of_a_server_without_it_is_a_permanent_settings_error() -> None:
    with Mailbox() as box, pytest.raises(MailError) as err:
        send(_message(), _smtp(box.port, security="starttls"))
    assert err.value.permanent
    assert "PLEDGEWATCH_SMTP_SECURITY" in str(err.value)


@pytest.fixture
def trusted_cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    made = self_signed_cert(tmp_path)
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    # ssl.create_default_context() reads SSL_CERT_FILE: trust our test CA only.
    monkeypatch.setenv("SSL_CERT_FILE", str(made[0]))
    return made


def test_starttls_upgrades_the_connection_before_sending(trusted_cert: tuple[Path, Path]) -> None:
    with Mailbox(tls=server_tls(*trusted_cert)) as box:
        send(_message(), _smtp(box.port, security="starttls"))
        assert box.wait_for(1)


def test_implicit_tls_sends_over_ssl(trusted_cert: tuple[Path, Path]) -> None:
    with Mailbox(tls=server_tls(*trusted_cert), implicit_tls=True) as box:
        send(_message(), _smtp(box.port, security="ssl"))
        assert box.wait_for(1)
        # The same server spoken to in plain text does not deliver.
        with pytest.raises(MailError) as err:
            send(_message(), _smtp(box.port, security="none", timeout=0.5))
    assert not err.value.permanent
    assert len(box.messages) == 1
