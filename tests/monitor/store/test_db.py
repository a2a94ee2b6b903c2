"""The database: migrations keep data, SQLite runs in WAL with a busy timeout."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from monitor.store.db import SCHEMA_HEAD, Database, DatabaseError, open_database


def test_a_new_database_is_created_empty_and_versioned(db: Database) -> None:
    with db.engine.connect() as conn:
        version = conn.execute(text("select version_num from alembic_version")).scalar()
        assert version == SCHEMA_HEAD
        assert conn.execute(text("select count(*) from pledges")).scalar() == 0


def test_upgrading_twice_keeps_data(db_url: str) -> None:
    first = open_database(db_url)
    with first.write() as s:
        s.execute(
            text("insert into companies (name, aliases, products) values ('Acme', '[]', '[]')")
        )
    first.dispose()
    second = open_database(db_url)
    with second.session() as s:
        assert s.execute(text("select name from companies")).scalar() == "Acme"
    second.dispose()


def test_a_database_from_before_fitted_models_gains_their_tables(db_url: str) -> None:
    first = open_database(db_url)
    with first.write() as s:
        s.execute(text("drop table detector_models"))
        s.execute(text("drop table pledge_vectors"))
        s.execute(text("update alembic_version set version_num = '0002'"))
        s.execute(
            text("insert into companies (name, aliases, products) values ('Acme', '[]', '[]')")
        )
    first.dispose()
    second = open_database(db_url)
    with second.session() as s:
        tables = inspect(second.engine).get_table_names()
        assert {"detector_models", "pledge_vectors"} <= set(tables)
        assert s.execute(text("select version_num from alembic_version")).scalar() == SCHEMA_HEAD
        assert s.execute(text("select name from companies")).scalar() == "Acme"
    second.dispose()


def test_sqlite_uses_wal_and_waits_for_locks(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 15000


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = Database(f"sqlite:///{path}")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("create table pledges (x int)")
    with pytest.raises(DatabaseError, match="no migration record"):
        db.upgrade()
    db.dispose()


def test_models_match_the_created_schema(db: Database) -> None:
    from sqlmodel import SQLModel

    import monitor.store.tables  # noqa: F401

    names = set(inspect(db.engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= names


def test_schema_head_names_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from monitor.store.db import MIGRATIONS, SCHEMA_HEAD

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_HEAD


def test_a_database_from_the_first_release_upgrades_and_keeps_its_data(db_url: str) -> None:
    """A 0001 database (no web_sessions table) gains the table; its rows stay."""
    first = open_database(db_url)
    with first.write() as s:
        s.execute(
            text("insert into companies (name, aliases, products) values ('Acme', '[]', '[]')")
        )
        s.execute(
            text(
                "insert into api_tokens (name, token_hash, created_at) "
                "values ('alice', 'h', '2026-01-01 00:00:00+00:00')"
            )
        )
    with first.engine.begin() as conn:  # back to the schema pledgewatch 0.1 created
        conn.execute(text("drop table web_sessions"))
        conn.execute(text("drop table detector_models"))
        conn.execute(text("drop table pledge_vectors"))
        conn.execute(text("update alembic_version set version_num = '0001'"))
    first.dispose()
    upgraded = open_database(db_url)
    with upgraded.session() as s:
        assert s.execute(text("select version_num from alembic_version")).scalar() == SCHEMA_HEAD
        assert s.execute(text("select name from companies")).scalar() == "Acme"
        assert s.execute(text("select count(*) from web_sessions")).scalar() == 0
        assert s.execute(text("select count(*) from pledge_vectors")).scalar() == 0
    from monitor.auth.sessions import check_session, open_session

    with upgraded.write() as s:
        token_id = s.execute(text("select id from api_tokens")).scalar()
        session_id = open_session(session=s, token_id=token_id)
    with upgraded.session() as s:
        found = check_session(s, session_id)
        assert found is not None and found.name == "alice"
    upgraded.dispose()
