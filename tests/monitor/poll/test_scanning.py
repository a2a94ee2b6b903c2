"""Scanning in a poll's parse workers: the same findings the writer would make, or none."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.parse import parse
from monitor.flags.detection import findings_for
from monitor.ingest.parsepool import shippable
from monitor.poll.scanning import PREFIX, parse_and_scan, ship, shipment_directory
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.detect import Detector

REPO = Path(__file__).resolve().parents[3]
NEWS = REPO / "examples" / "feeds" / "tech-policy-weekly.xml"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.compile(load_catalogue(shipped_catalogue()))


def test_a_worker_scans_each_entry_as_the_writer_would(detector: Detector, tmp_path: Path) -> None:
    body = NEWS.read_bytes()
    shipped = ship(detector, str(tmp_path))
    parsed, scans = parse_and_scan(
        body, url="http://127.0.0.1/tech", headers={}, now=NOW, shipped=shipped
    )
    assert parsed == parse(body, url="http://127.0.0.1/tech", headers={}, now=NOW)
    assert set(scans) == {e.content_hash for e in parsed.entries}
    for e in parsed.entries:
        published = e.published or NOW
        assert scans[e.content_hash] == (published, detector.scan(e.title, e.text, published))
    assert any(findings for _, findings in scans.values())


def test_a_shipment_that_cannot_be_read_leaves_the_scan_to_the_writer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, detector: Detector
) -> None:
    shipped = ship(detector, str(tmp_path))
    Path(shipped.path).write_bytes(b"not a pickle")
    with caplog.at_level(logging.WARNING):
        parsed, scans = parse_and_scan(
            NEWS.read_bytes(), url="http://127.0.0.1/tech", headers={}, now=NOW, shipped=shipped
        )
    assert parsed.entries and scans == {}
    assert "the writer scans" in caplog.text


def test_a_scan_ahead_counts_only_for_the_date_it_assumed(detector: Detector) -> None:
    e = next(
        e
        for e in parse(NEWS.read_bytes(), url="http://127.0.0.1/tech", now=NOW).entries
        if detector.scan(e.title, e.text, e.published or NOW)
    )
    published = e.published or NOW
    ahead = {e.content_hash: (published, [])}
    args = {"title": e.title, "text": e.text, "digest": e.content_hash}
    assert findings_for(detector, ahead, published=published, **args) == []
    # Stored with another date than the worker assumed: scanned again.
    later = published + timedelta(days=1)
    assert findings_for(detector, ahead, published=later, **args) == detector.scan(
        e.title, e.text, later
    )


def test_only_a_small_lexical_catalogue_is_shipped(detector: Detector) -> None:
    assert shippable(detector)
    assert not shippable(Detector.compile([]))


def test_a_shipment_left_by_a_dead_poller_is_removed_and_a_live_ones_kept(
    tmp_path: Path,
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{PREFIX}{dead.pid}-x1"
    stale.mkdir()
    (stale / "detector-1.pickle").write_bytes(b"left by a kill -9")
    live = tmp_path / f"{PREFIX}{os.getpid()}-x2"
    live.mkdir()
    unrelated = tmp_path / "something-else"
    unrelated.mkdir()
    # A link named like a dead poller's directory is not followed, nor removed.
    lure = tmp_path / f"{PREFIX}{dead.pid}-x3"
    lure.symlink_to(unrelated)
    made = Path(shipment_directory(str(tmp_path)))
    assert not stale.exists()
    assert live.exists() and unrelated.exists() and lure.is_symlink()
    assert made.name.startswith(f"{PREFIX}{os.getpid()}-")
    assert made.stat().st_mode & 0o777 == 0o700
