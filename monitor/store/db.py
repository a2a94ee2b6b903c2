"""The one engine and session factory: SQLite (embedded default) or PostgreSQL by URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlmodel import Session, SQLModel, create_engine

from feeds.redact import redact_text, redact_url
from monitor.store.fulltext import ensure_search_index, search_index_present

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///pledgewatch.db"
MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration revision; tests check it matches monitor/store/migrations/versions.
SCHEMA_HEAD = "0004"
# Long enough for a CLI review to wait out a poll's write batch (RELIABILITY rows 41-43).
SQLITE_BUSY_TIMEOUT_MS = 30_000


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class DatabaseError(Exception):
    """The database could not be opened or upgraded."""


def error_line(exc: BaseException) -> str:
    """A driver's error as one line with any URL in it redacted.

    Drivers answer in several lines (a hint, SQLAlchemy's background link); a command
    prints one line, and no password may reach it.
    """
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0].strip() if text else type(exc).__name__
    return redact_text(first)


def normalise_url(url: str) -> str:
    """Accept plain paths and the short postgres:// forms as database URLs."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Build an engine; SQLite gets WAL, a busy timeout and explicit BEGIN control."""
    url = normalise_url(url)
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        _configure_sqlite(engine)
        return engine
    # A host that drops packets must fail a job in seconds, not hang it for minutes.
    connect_args = {"connect_timeout": 10} if sa_url.get_backend_name() == "postgresql" else {}
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args=connect_args,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself so writes can use BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Read-modify-write without IMMEDIATE silently loses updates across processes.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """Owns the engine; hands out read sessions and short write transactions."""

    def __init__(self, url: str = DEFAULT_URL, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        try:
            self.engine = make_engine(self.url, echo=echo)
        except Exception as exc:  # an unknown dialect or driver, a malformed URL
            raise DatabaseError(
                f"cannot open database {self.safe_url}: {error_line(exc)} "
                "(give a SQLite path or a URL such as postgresql+psycopg://user@host/db)"
            ) from exc
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        """A session for reading (and for writes the caller commits itself)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        with Session(self._write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def upgrade(self) -> None:
        """Bring the schema to the newest version, keeping data (alembic migrations)."""
        import monitor.store.tables  # noqa: F401  (registers every table on the metadata)

        try:
            # Usual case: already current. A plain read, so a CLI query started while the
            # daemon writes neither waits for the write lock nor loads alembic.

            with self.engine.connect() as conn:
                if _current_version(conn) == SCHEMA_HEAD and search_index_present(conn):
                    return
            with self._write_engine.begin() as conn:
                if self.dialect == "postgresql":
                    # Several daemons may start at once; one migrates, the others wait.
                    conn.execute(text("SELECT pg_advisory_xact_lock(727384)"))
                _upgrade(conn)
        except DatabaseError:
            raise
        except Exception as exc:
            raise DatabaseError(f"cannot open database {self.safe_url}: {error_line(exc)}") from exc

    @property
    def safe_url(self) -> str:
        """The URL as it may be shown: password and secret parameters masked."""
        return redact_url(self.url)

    def dispose(self) -> None:
        self.engine.dispose()


def _current_version(conn: Connection) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(value) if value is not None else None


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _upgrade(conn: Connection) -> None:
    from alembic import command

    tables = set(inspect(conn).get_table_names())
    cfg = _alembic_config(conn)
    if "alembic_version" in tables:
        command.upgrade(cfg, "head")
        ensure_search_index(conn)
        return
    ours = set(SQLModel.metadata.tables)
    if tables & ours:
        raise DatabaseError(
            "database has pledgewatch tables but no migration record; "
            "it was not created by pledgewatch or is damaged"
        )
    # A new database: create the current schema and record it as the newest version.
    SQLModel.metadata.create_all(conn)
    command.stamp(cfg, "head")
    ensure_search_index(conn)


class NoDatabaseError(DatabaseError):
    """A read found no pledgewatch database (no file, or a database nothing was loaded into)."""


NEXT_STEP = "create it with `pledgewatch catalogue sync`"


def open_existing_database(url: str) -> Database:
    """Open a database for reading without creating one; NoDatabaseError if there is none.

    A read command pointed at a mistyped path would otherwise create an empty file and
    answer "nothing found".
    """
    url = normalise_url(url)
    sa_url = make_url(url)
    path = sa_url.database
    if sa_url.get_backend_name() == "sqlite" and path and path != ":memory:":
        if not Path(path).is_file():
            raise NoDatabaseError(f"no database at {path}; {NEXT_STEP}")
        if Path(path).stat().st_size == 0:
            raise NoDatabaseError(f"database {path} is empty; {NEXT_STEP}")
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            present = _current_version(conn) is not None
    except Exception as exc:
        db.dispose()
        raise DatabaseError(f"cannot open database {db.safe_url}: {error_line(exc)}") from exc
    if not present:
        db.dispose()
        raise NoDatabaseError(f"database {db.safe_url} holds no pledgewatch data; {NEXT_STEP}")
    db.upgrade()
    return db


def open_database(url: str) -> Database:
    """Open and upgrade a database in one step (what every command does first)."""
    db = Database(url)
    db.upgrade()
    return db
