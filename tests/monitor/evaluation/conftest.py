"""Shared specs' setting: a database whose flags an analyst has reviewed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from feeds.models import Article
from monitor.flags.review import review_flag
from monitor.ingest.pipeline import ingest_files
from monitor.store.db import Database
from monitor.store.models import Flag
from pledges.catalogue import load_catalogue
from pledges.store import sync_catalogue

HOLDOUT_3 = Path(__file__).resolve().parents[3] / "eval" / "holdout-3"


@pytest.fixture
def reviewed_db(sqlite_db: Database) -> Database:
    """The holdout-3 corpus ingested into a real SQLite file, its flags reviewed."""
    with sqlite_db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(HOLDOUT_3 / "catalogue"))
    feeds = sorted(str(p) for p in (HOLDOUT_3 / "feeds").glob("*.xml"))
    ingest_files(db=sqlite_db, paths=feeds, workers=0)
    labels = json.loads((HOLDOUT_3 / "labels.json").read_text(encoding="utf-8"))["items"]
    expected = {(i["link"], e["pledge"]) for i in labels for e in i["expected"]}
    with sqlite_db.write() as session:
        for flag, article in session.exec(
            select(Flag, Article).where(Flag.article_id == Article.id)
        ).all():
            assert flag.id is not None
            decision = "confirmed" if (article.url, flag.pledge_id) in expected else "dismissed"
            review_flag(session=session, flag_id=flag.id, decision=decision, reviewer="t")
    return sqlite_db
