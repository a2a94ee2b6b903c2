"""Web sign-in sessions: a random id in the browser's cookie, only its hash in the database.

Signing in with an API token opens a session; the cookie carries the session id, never the
token. A session ends when it expires, when the reviewer signs out (the row is revoked,
so a copied cookie stops working too) or when its token is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, delete, select

from monitor.store.db import as_utc
from monitor.store.models import ApiToken, WebSession

LIFETIME = timedelta(days=14)


@dataclass(frozen=True)
class SessionCheck:
    """A live session: the token's name and id behind it."""

    name: str
    token_id: int


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(
    *, session: Session, token_id: int, now: datetime | None = None, lifetime: timedelta = LIFETIME
) -> str:
    """Record a new session for a (checked) token; returns its id, for the cookie only."""
    now = now or datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            session_hash=_hash(session_id),
            token_id=token_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return session_id


def check_session(
    session: Session, session_id: str | None, *, now: datetime | None = None
) -> SessionCheck | None:
    """The session's token if the session is open, unexpired and its token unrevoked."""
    if not session_id:
        return None
    now = now or datetime.now(UTC)
    row = session.exec(
        select(WebSession, ApiToken)
        .join(ApiToken, col(ApiToken.id) == col(WebSession.token_id))
        .where(WebSession.session_hash == _hash(session_id))
    ).first()
    if row is None:
        return None
    web, token = row
    expires = as_utc(web.expires_at)
    if web.revoked_at is not None or token.revoked_at is not None or expires <= now:
        return None
    assert token.id is not None
    return SessionCheck(name=token.name, token_id=token.id)


def close_session(*, session: Session, session_id: str, now: datetime | None = None) -> bool:
    """Revoke a session (sign-out); False if there was no open one."""
    row = session.exec(
        select(WebSession).where(WebSession.session_hash == _hash(session_id))
    ).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now or datetime.now(UTC)
    session.add(row)
    session.flush()
    return True


def prune_sessions(*, session: Session, now: datetime | None = None) -> int:
    """Delete sessions that expired or were revoked over a lifetime ago."""
    cutoff = (now or datetime.now(UTC)) - LIFETIME
    result = session.exec(
        delete(WebSession).where(
            (col(WebSession.expires_at) < cutoff) | (col(WebSession.revoked_at) < cutoff)
        )
    )
    return int(result.rowcount or 0)
