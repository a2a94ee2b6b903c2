"""Building the digest email and handing it to an SMTP server.

`build_message` is pure: a multipart/alternative message (text/plain first, HTML second)
whose headers are collapsed to one line, with a Message-ID that depends only on the
period and the recipient, so a digest resent after a crash carries the same ID and mail
clients can drop the duplicate. `send` talks SMTP (plain, STARTTLS or implicit TLS, with
optional login) under a timeout and turns every failure into a `MailError` that says
whether retrying can help.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import quote

from monitor.config import SmtpSettings
from monitor.digest.text import one_line, safe_url

log = logging.getLogger(__name__)


class MailError(Exception):
    """The SMTP server did not take a message.

    `permanent` is True when retrying the same message cannot help (a 5xx answer, a
    failed login, a refused recipient); `connection` is True when the server could not be
    reached or stopped answering (so other messages would fail the same way now).
    """

    def __init__(
        self,
        message: str,
        *,
        host: str,
        port: int,
        permanent: bool,
        connection: bool = False,
        code: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.permanent = permanent
        self.connection = connection
        self.code = code
        kind = "permanent" if permanent else "temporary"
        super().__init__(f"SMTP {host}:{port}: {message} ({kind} failure)")


def message_id(period: str, recipient: str) -> str:
    """`<digest-2026-W47-<hash of recipient>@pledgewatch>`: stable per (period, recipient)."""
    digest = hashlib.sha256(recipient.strip().casefold().encode()).hexdigest()[:16]
    return f"<digest-{one_line(period)}-{digest}@pledgewatch>"


def header(value: str) -> str:
    """A header value on one line: CR, LF and other control characters collapsed."""
    return one_line(value)


def unsubscribe_header(from_addr: str, base_url: str = "") -> str:
    """List-Unsubscribe: a mailto: to the sender (subject unsubscribe), and a URL if known."""
    parts = []
    _, addr = parseaddr(header(from_addr))
    if addr and "@" in addr:
        parts.append(f"<mailto:{quote(addr, safe='@.+-_')}?subject=unsubscribe>")
    base = safe_url(base_url)
    if base:
        parts.append(f"<{base.rstrip('/')}/unsubscribe>")
    return ", ".join(parts)


def build_message(
    *,
    subject: str,
    text: str,
    html: str,
    from_addr: str,
    to: str,
    period: str,
    date: datetime,
    base_url: str = "",
    msgid: str | None = None,
) -> EmailMessage:
    """The digest as multipart/alternative (text/plain, then text/html).

    `msgid` is the Message-ID recorded in the outbox (default: `message_id(period, to)`).
    """
    msg = EmailMessage()
    msg["Subject"] = header(subject)
    msg["From"] = header(from_addr)
    msg["To"] = header(to)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = header(msgid) if msgid else message_id(period, to)
    unsubscribe = unsubscribe_header(from_addr, base_url)
    if unsubscribe:
        msg["List-Unsubscribe"] = unsubscribe
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Pledgewatch-Period"] = header(period)
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def _code(exc: smtplib.SMTPResponseException) -> int:
    return int(exc.smtp_code)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return one_line(text)[:300]


def send(msg: EmailMessage, smtp: SmtpSettings) -> None:
    """Deliver one message; raises MailError (temporary or permanent) if not accepted."""
    host, port = smtp.host, smtp.port

    def fail(
        text: str, *, permanent: bool, connection: bool = False, code: int | None = None
    ) -> MailError:
        return MailError(
            text, host=host, port=port, permanent=permanent, connection=connection, code=code
        )

    try:
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(
                host, port, timeout=smtp.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password)
            refused = client.send_message(msg)
            if refused:  # some recipients refused, others taken: name the refused ones
                who, (code, _) = next(iter(refused.items()))
                raise fail(f"recipient {who} refused with {code}", permanent=code >= 500, code=code)
    except MailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise fail(
            f"login as {smtp.user!r} refused: {_code(exc)} {_reply(exc)}; "
            "check PLEDGEWATCH_SMTP_USER and PLEDGEWATCH_SMTP_PASSWORD",
            permanent=True,
            code=_code(exc),
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        who, (code, reply) = next(iter(exc.recipients.items()))
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        raise fail(
            f"recipient {who} refused: {code} {one_line(text)[:300]}",
            permanent=code >= 500,
            code=code,
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise fail(
            f"server does not support what the settings ask for ({exc}); "
            "check PLEDGEWATCH_SMTP_SECURITY and PLEDGEWATCH_SMTP_USER",
            permanent=True,
        ) from exc
    except smtplib.SMTPResponseException as exc:
        code = _code(exc)
        if code < 0:  # smtplib's own "connection unexpectedly closed" style errors
            raise fail(
                f"server closed the connection: {_reply(exc)}", permanent=False, connection=True
            ) from exc
        # 421: the service is closing the connection, so every other message fails too.
        raise fail(
            f"server answered {code} {_reply(exc)}",
            permanent=code >= 500,
            connection=code == 421,
            code=code,
        ) from exc
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout
            raise fail(
                f"no answer within {smtp.timeout:g} s (server hung or overloaded)",
                permanent=False,
                connection=True,
            ) from exc
        raise fail(
            f"server closed the connection ({exc or 'no reply'})", permanent=False, connection=True
        ) from exc
    except TimeoutError as exc:
        raise fail(
            f"no answer within {smtp.timeout:g} s (server hung or unreachable)",
            permanent=False,
            connection=True,
        ) from exc
    except ssl.SSLError as exc:
        raise fail(
            f"TLS failed: {exc}; check PLEDGEWATCH_SMTP_SECURITY and the port",
            permanent=False,
            connection=True,
        ) from exc
    except ConnectionRefusedError as exc:
        raise fail(
            "connection refused (is the SMTP server running?)", permanent=False, connection=True
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise fail(f"cannot deliver: {exc}", permanent=False, connection=True) from exc
    log.info("mail accepted host=%s port=%s message_id=%s", host, port, msg["Message-ID"])
