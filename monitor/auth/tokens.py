"""API tokens: created once and shown once, stored only as a SHA-256 hash.

A token is checked by hashing what the client sent and looking the hash up (an index
lookup, so the comparison does not leak how much of a guess was right). Revoked tokens
stay in the table so a revoked token is told apart from a wrong one (403 versus 401).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from monitor.store.db import as_utc
from monitor.store.models import ApiToken

PREFIX = "pw_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# Last-use times are written at most this often per token (reads stay read-only).
TOUCH_EVERY = timedelta(minutes=1)


class TokenError(Exception):
    """A token could not be created or revoked; the message says why."""

    def __init__(self, message: str, *, name: str = "") -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a presented token."""

    status: str  # ok | missing | wrong | revoked
    name: str = ""
    token_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(*, session: Session, name: str, now: datetime | None = None) -> str:
    """Create a named token and return it in clear (the only time it is available)."""
    if not NAME_PATTERN.match(name):
        raise TokenError(
            f"token name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-'", name=name
        )
    if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise TokenError(
            f"a token named {name!r} already exists (names are never reused; pick another)",
            name=name,
        )
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(name=name, token_hash=hash_token(token), created_at=now or datetime.now(UTC))
    )
    session.flush()
    return token


def revoke_token(*, session: Session, name: str, now: datetime | None = None) -> bool:
    """Revoke a token by name; False when it was already revoked."""
    row = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
    if row is None:
        raise TokenError(f"no token named {name!r} (see `pledgewatch token list`)", name=name)
    if row.revoked_at is not None:
        return False
    row.revoked_at = now or datetime.now(UTC)
    session.add(row)
    session.flush()
    return True


def list_tokens(session: Session) -> list[dict[str, Any]]:
    """Every token's name and dates (never the token)."""
    return [
        {
            "name": t.name,
            "created_at": as_utc(t.created_at),
            "last_used_at": as_utc(t.last_used_at),
            "revoked_at": as_utc(t.revoked_at),
            "status": "revoked" if t.revoked_at else "active",
        }
        for t in session.exec(select(ApiToken).order_by(col(ApiToken.id))).all()
    ]


def check_token(session: Session, token: str | None) -> TokenCheck:
    """Whether a presented token is valid, wrong or revoked."""
    if not token:
        return TokenCheck("missing")
    digest = hash_token(token)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return TokenCheck("wrong")
    if row.revoked_at is not None:
        return TokenCheck("revoked", name=row.name, token_id=row.id)
    return TokenCheck("ok", name=row.name, token_id=row.id)


def touch_token(*, session: Session, token_id: int, now: datetime | None = None) -> None:
    """Record a token's use, at most once per `TOUCH_EVERY`."""
    now = now or datetime.now(UTC)
    row = session.get(ApiToken, token_id)
    if row is None:
        return
    last = as_utc(row.last_used_at)
    if last is None or now - last >= TOUCH_EVERY:
        row.last_used_at = now
        session.add(row)
