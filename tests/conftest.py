"""Shared fixtures: real databases (a SQLite file, the local PostgreSQL), no mocks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from monitor.store.db import Database, open_database
from pledges.encoder import Encoder, EncoderUnavailable
from tests.feeds.feedserver import FeedServer

REPO = Path(__file__).resolve().parents[1]
DEV_CORPUS = REPO.parent / "shared" / "eval" / "dev"
POSTGRES_URL = os.environ.get(
    "PLEDGEWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# CI sets this so a missing server fails the run instead of skipping those tests.
REQUIRE_POSTGRES = os.environ.get("PLEDGEWATCH_TEST_REQUIRE_POSTGRES") == "1"


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return (
            f"no PostgreSQL at {make_url(POSTGRES_URL).render_as_string(hide_password=True)}: {exc}"
        )


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test run, dropped at the end."""
    reason = _postgres_available()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"pledgewatch_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def fresh_postgres_url(server_url: str) -> str:
    """Empty the test database's public schema and return its URL."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return server_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database: a SQLite file, and the local PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pledgewatch.db'}"
    server = request.getfixturevalue("postgres_server_url")
    return fresh_postgres_url(server)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """An upgraded, empty database on each backend."""
    database = open_database(db_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """An upgraded, empty SQLite file (for tests that need only one backend)."""
    database = open_database(f"sqlite:///{tmp_path / 'pledgewatch.db'}")
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A running HTTP server on 127.0.0.1 whose routes each test sets."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def real_encoder() -> Encoder:
    """The packaged encoder of the semantic layer; skipped where the semantic extra is
    not installed, unless PLEDGEWATCH_TEST_REQUIRE_SEMANTIC=1 (CI), where that fails."""
    try:
        return Encoder()
    except EncoderUnavailable as exc:
        if os.environ.get("PLEDGEWATCH_TEST_REQUIRE_SEMANTIC") == "1":
            pytest.fail(f"the semantic layer is required here: {exc}")
        pytest.skip(str(exc))
