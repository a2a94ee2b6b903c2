"""Real SMTP servers on 127.0.0.1 for the digest tests.

- Mailbox: an aiosmtpd Controller that keeps every message it accepts; it can answer
  with a fixed error instead (451, 550...), refuse chosen recipients, refuse chosen
  messages (say one recipient's digest of one week), run a hook before it answers 250,
  require a login, and be stopped and started again on the same port.
- HungServer: accepts TCP connections and never says a word (for the timeout).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.box.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.box.answer is not None:
            return self.box.answer
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        if self.box.refuse_message is not None:
            refusal = self.box.refuse_message(list(envelope.rcpt_tos), msg)
            if refusal is not None:
                return refusal
        if self.box.before_ok is not None:
            self.box.before_ok(msg)
        with self.box.lock:
            self.box.messages.append((list(envelope.rcpt_tos), msg))
            self.box.arrived.notify_all()
        return "250 OK queued"


class Mailbox:
    """An SMTP server that records (envelope recipients, parsed message) per delivery."""

    def __init__(
        self,
        *,
        port: int | None = None,
        answer: str | None = None,
        login: tuple[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.answer = answer
        self.refuse: set[str] = set()
        # (envelope recipients, message) -> an SMTP reply refusing it, or None to accept.
        self.refuse_message: Callable[[list[str], EmailMessage], str | None] | None = None
        self.before_ok: Callable[[EmailMessage], None] | None = None
        self.login = login
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.controller: Controller | None = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.login is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.login
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> Mailbox:
        kwargs: dict[str, Any] = {}
        if self.login is not None:
            kwargs = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        if self.tls is not None:
            kwargs["ssl_context" if self.implicit_tls else "tls_context"] = self.tls
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)

    def to(self, recipient: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpts, m in self.messages if recipient in rcpts]

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HungServer:
    """Accepts connections on 127.0.0.1 and never answers (no SMTP greeting)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()

    def __enter__(self) -> HungServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def self_signed_cert(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 made with the openssl command, or None without it."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
