"""Incident grouping under a flood of one story: near-identical items cost what distinct ones do.

A hostile or broken feed can carry thousands of copies of one flagged story with a word
changed in each. Grouping compares each new flag with the flags of its pledge in the
window; comparing with every one of them made such a flood quadratic (7,250 items took
49 s, 45,000 did not finish in 11 minutes). Here `ingest` stores 10,000 flagged items on
one pledge within a week, once as near-identical copies and once as distinct stories,
each into a fresh SQLite file holding the shipped catalogue. Target: the copies take at
most 2x the time of the distinct stories.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from bench.common import Result

ITEMS_PER_FILE = 100
LEDE = (
    "Amazon let police use its Rekognition facial recognition despite its moratorium, "
    "a whistleblower alleges."
)
STORY = (
    "A former employee told an employment tribunal in London that officers ran searches "
    "through the service in the months after the pledge. Amazon declined to comment on "
    "the claims, which its filing disputes. The tribunal continues next month."
)


def _pseudo_word(rng: random.Random) -> str:
    # Grouping compares words by their first four letters: those are the random part.
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(4)) + "en"


def _item(i: int, title: str, text: str, published: datetime) -> str:
    return (
        f"<item><title>{title}</title><link>https://news.example.org/{i}</link>"
        f"<guid>urn:bench:{i}</guid><pubDate>{format_datetime(published)}</pubDate>"
        f"<description>{text}</description></item>"
    )


def write_flood(folder: Path, items: int, *, copies: bool, seed: int = 7) -> None:
    """`items` flagged items on Amazon's moratorium: copies of one story, or distinct ones."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    rows = []
    for i in range(items):
        published = start + timedelta(seconds=i * 60)
        if copies:  # one word differs: word sets are near-identical, never equal
            title = f"Police used Amazon face search despite moratorium, case {i}"
            text = f"{LEDE} {STORY} Reference {i}."
        else:  # the pledge's words plus 80 others of its own: no two share a story
            words = " ".join(_pseudo_word(rng) for _ in range(80))
            title = f"{_pseudo_word(rng)} {_pseudo_word(rng)} {_pseudo_word(rng)}"
            text = f"{LEDE} {words}."
        rows.append(_item(i, title, text, published))
    for n in range(0, items, ITEMS_PER_FILE):
        body = "".join(rows[n : n + ITEMS_PER_FILE])
        (folder / f"feed-{n // ITEMS_PER_FILE:04d}.xml").write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>flood</title>'
            f"<link>https://news.example.org/</link>{body}</channel></rss>",
            encoding="utf-8",
        )


def _ingest(folder: Path, db_path: Path) -> tuple[float, int, int]:
    """Seconds to ingest `folder` into a fresh catalogue database; flags and incidents."""
    from sqlalchemy import func
    from sqlmodel import select

    from monitor.ingest.pipeline import ingest_files
    from monitor.store.db import open_database
    from monitor.store.models import Flag, Incident
    from pledges.catalogue import load_catalogue, shipped_catalogue
    from pledges.store import sync_catalogue

    db = open_database(f"sqlite:///{db_path}")
    try:
        with db.write() as session:
            sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
        paths = sorted(str(p) for p in folder.iterdir())
        t0 = time.perf_counter()
        ingest_files(db=db, paths=paths, workers=1)
        elapsed = time.perf_counter() - t0
        with db.session() as session:
            flags = int(session.exec(select(func.count()).select_from(Flag)).one())
            incidents = int(session.exec(select(func.count()).select_from(Incident)).one())
    finally:
        db.dispose()
    return elapsed, flags, incidents


def run(quick: bool) -> list[Result]:
    items = 2_000 if quick else 10_000
    with tempfile.TemporaryDirectory(prefix="pw-bench-incidents-") as tmp:
        root = Path(tmp)
        write_flood(root / "copies", items, copies=True)
        write_flood(root / "distinct", items, copies=False)
        distinct, d_flags, d_incidents = _ingest(root / "distinct", root / "distinct.db")
        copies, c_flags, c_incidents = _ingest(root / "copies", root / "copies.db")
    return [
        Result(
            f"ingest {items} near-identical flagged items vs {items} distinct, one pledge",
            copies / distinct,
            2.0,
            detail=f"copies {copies:.1f}s ({c_flags} flags, {c_incidents} incidents), "
            f"distinct {distinct:.1f}s ({d_flags} flags, {d_incidents} incidents)",
        )
    ]
