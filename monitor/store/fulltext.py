"""The full-text index that search reads: SQLite FTS5 or a PostgreSQL GIN index.

SQLite keeps an external-content FTS5 table `articles_fts` (title, text) in step with
`articles` through triggers; PostgreSQL uses a GIN index on the same English
`to_tsvector` expression the query filters on. `ensure_search_index` creates either,
idempotently, whenever a database is opened (new and existing files alike).
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

FTS_TABLE = "articles_fts"
PG_INDEX = "ix_articles_fulltext"

_SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "title, text, content='articles', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON articles BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON articles BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF title, text ON articles BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); "
    f"INSERT INTO {FTS_TABLE}(rowid, title, text) VALUES (new.id, new.title, new.text); END",
]


def search_index_present(conn: Connection) -> bool:
    """Whether the full-text index exists (a read; no DDL)."""
    if conn.dialect.name == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return conn.exec_driver_sql(sql, (FTS_TABLE,)).first() is not None
    if conn.dialect.name == "postgresql":
        sql = "SELECT 1 FROM pg_indexes WHERE indexname = %(name)s"
        return conn.exec_driver_sql(sql, {"name": PG_INDEX}).first() is not None
    return True


def ensure_search_index(conn: Connection) -> None:
    """Create the full-text index if missing (and fill it from existing articles)."""
    if conn.dialect.name == "sqlite":
        existed = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (FTS_TABLE,)
        ).first()
        for ddl in _SQLITE_DDL:
            conn.exec_driver_sql(ddl)
        if existed is None:
            # Articles stored before the index existed are indexed once, here.
            conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
            log.info("created full-text index %s", FTS_TABLE)
    elif conn.dialect.name == "postgresql":
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON articles "
                "USING GIN (to_tsvector('english', title || ' ' || text))"
            )
        )
