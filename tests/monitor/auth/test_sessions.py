"""Web sign-in sessions on real databases: hashed at rest, expiring, revocable, pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from monitor.auth.sessions import (
    LIFETIME,
    check_session,
    close_session,
    open_session,
    prune_sessions,
)
from monitor.auth.tokens import check_token, create_token, revoke_token
from monitor.store.db import Database
from monitor.store.models import WebSession

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _token_id(db: Database, name: str = "alice") -> int:
    with db.write() as s:
        token = create_token(session=s, name=name, now=NOW)
    with db.session() as s:
        found = check_token(s, token).token_id
    assert found is not None
    return found


def test_a_session_lives_until_it_expires_or_is_closed(db: Database) -> None:
    token_id = _token_id(db)
    with db.write() as s:
        sid = open_session(session=s, token_id=token_id, now=NOW)
    with db.session() as s:
        assert sid not in {r.session_hash for r in s.exec(select(WebSession)).all()}
        live = check_session(s, sid, now=NOW + LIFETIME - timedelta(seconds=1))
        assert live is not None and live.name == "alice"
        assert check_session(s, sid, now=NOW + LIFETIME) is None
        assert check_session(s, "not-a-session", now=NOW) is None
    with db.write() as s:
        assert close_session(session=s, session_id=sid, now=NOW) is True
        assert close_session(session=s, session_id=sid, now=NOW) is False
    with db.session() as s:
        assert check_session(s, sid, now=NOW) is None


def test_revoking_the_token_ends_its_sessions(db: Database) -> None:
    token_id = _token_id(db)
    with db.write() as s:
        sid = open_session(session=s, token_id=token_id, now=NOW)
        revoke_token(session=s, name="alice", now=NOW)
    with db.session() as s:
        assert check_session(s, sid, now=NOW) is None


def test_old_sessions_are_pruned_live_ones_kept(db: Database) -> None:
    token_id = _token_id(db)
    with db.write() as s:
        old = open_session(session=s, token_id=token_id, now=NOW - 3 * LIFETIME)
        closed = open_session(session=s, token_id=token_id, now=NOW - 2 * LIFETIME)
        close_session(session=s, session_id=closed, now=NOW - 2 * LIFETIME)
        live = open_session(session=s, token_id=token_id, now=NOW)
    with db.write() as s:
        assert prune_sessions(session=s, now=NOW) == 2
    with db.session() as s:
        assert check_session(s, live, now=NOW) is not None
        assert check_session(s, old, now=NOW) is None
        assert len(s.exec(select(WebSession)).all()) == 1
