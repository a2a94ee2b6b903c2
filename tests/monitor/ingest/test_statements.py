"""Ingesting files: one batch of files costs the same few statements however many it holds."""

from __future__ import annotations

from pathlib import Path

from monitor.flags.detection import load_detector
from monitor.ingest.pipeline import ingest_files
from monitor.store.db import Database
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue
from tests.feeds.feedserver import rss
from tests.monitor.poll.test_store import NOW, statements
from tests.monitor.servers import BREACH_TEXT, PLAIN_TEXT


def write_files(folder: Path, first: int, n: int) -> list[str]:
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(first, first + n):
        items = [
            (f"file{i}-{k}", f"Story {k} of {i}", BREACH_TEXT if k % 3 == 0 else PLAIN_TEXT)
            for k in range(10)
        ]
        path = folder / f"f{i}.xml"
        path.write_bytes(rss(items, title=f"File {i}"))
        paths.append(str(path))
    return paths


def test_an_ingest_batch_takes_the_same_statements_for_10_files_as_for_40(
    db: Database, tmp_path: Path
) -> None:
    with db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
    with db.session() as session:
        detector = load_detector(session)
    counted = []
    for first, n in [(0, 10), (10, 40)]:
        paths = write_files(tmp_path / "in", first, n)
        with statements(db) as sent:
            report = ingest_files(db=db, paths=paths, detector=detector, now=NOW, workers=0)
        assert report.new == 10 * n and report.flags == 4 * n
        assert [s.flags for s in report.sources] == [4] * n
        counted.append(len(sent))
    # Batch: lookup, articles, sources, flagged articles, flags; grouping: five more.
    assert counted[0] == counted[1] <= 12
