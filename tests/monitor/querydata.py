"""Sample data for query, review and API tests: the shipped catalogue and the sample feeds."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import col, select

from monitor.ingest.pipeline import ingest_files
from monitor.store.db import Database, open_database
from monitor.store.models import Flag
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue

REPO = Path(__file__).resolve().parents[2]
SAMPLE_FEEDS = sorted((REPO / "examples" / "feeds").glob("*.xml"))
AMAZON = "amazon-rekognition-police-moratorium"


def load_sample(db: Database) -> None:
    """Sync the shipped catalogue and ingest the bundled sample feeds."""
    with db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
    report = ingest_files(db=db, paths=[str(p) for p in SAMPLE_FEEDS])
    assert not report.rejected, report.rejected


def sample_file(template_dir: Path, target: Path) -> Path:
    """A copy of a sample SQLite database (built once in `template_dir`)."""
    template = template_dir / "sample.db"
    if not template.exists():
        db = open_database(f"sqlite:///{template}")
        load_sample(db)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
    shutil.copyfile(template, target)
    return target


def flag_ids(db: Database, pledge_id: str, *, kind: str | None = None) -> list[int]:
    """Active flags of one pledge, by id."""
    with db.session() as session:
        stmt = select(Flag.id).where(Flag.pledge_id == pledge_id, col(Flag.active).is_(True))
        if kind:
            stmt = stmt.where(Flag.kind == kind)
        return [i for i in session.exec(stmt.order_by(col(Flag.id))).all() if i is not None]
