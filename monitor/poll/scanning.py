"""Scanning a feed's entries in the poll's parse workers, not on its writer thread.

A feed polled for the first time has only new entries, and each must be scanned. The
writer thread (which holds the write transaction) would scan them one after another;
the worker that parsed the body scans them in parallel with the others instead. The
detector reaches the workers once per poll as a pickle in a private directory
(`ship`), and each worker keeps the last one it loaded. Whatever a worker could not
scan (no detector yet, a file it cannot read, a scan that failed) comes back without
findings, and the writer scans it as before, so the flags never depend on where the
scan ran.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from feeds.parse import ParsedFeed, parse
from monitor.flags.detection import Scans
from monitor.ingest.parsepool import Scanned, scan_entries
from pledges.detect import Detector

log = logging.getLogger(__name__)

# A poll's shipment directory, named for the process that made it.
PREFIX = "pledgewatch-scan-"
_OWNED = re.compile(rf"{PREFIX}(\d+)-")


@dataclass(frozen=True)
class ShippedDetector:
    """Where a poll's workers find its detector; `key` tells one shipment from another."""

    path: str
    key: str


def warm_up() -> None:
    """A kept worker's first task: its imports (the parser's and the detector's, about
    half a second of CPU) happen now, at the daemon's start, not in its first poll."""


def shipment_directory(parent: str | None = None) -> str:
    """A new private directory for one poll's shipment (removed when the poll ends).

    Directories left by pollers that died without removing theirs (a kill -9) are
    removed first; a live poller's are left alone.
    """
    parent = parent or tempfile.gettempdir()
    try:
        names = os.listdir(parent)
    except OSError:
        names = []
    for name in names:
        owned = _OWNED.match(name)
        if owned is None or _alive(int(owned.group(1))):
            continue
        path = os.path.join(parent, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        # Only a real directory of this user (never a link, nor another user's).
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            shutil.rmtree(path, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive, and not ours to judge
        return True
    return True


def ship(detector: Detector, directory: str) -> ShippedDetector:
    """Pickle `detector` into `directory` (private to this user) for the workers."""
    key = uuid.uuid4().hex
    path = os.path.join(directory, f"detector-{key}.pickle")
    partial = f"{path}.partial"
    with open(partial, "wb") as out:
        pickle.dump(detector, out, protocol=pickle.HIGHEST_PROTOCOL)
    # Renamed once whole: a worker never reads half a file.
    os.replace(partial, path)
    return ShippedDetector(path=path, key=key)


# In a worker: the shipment last loaded, and its detector.
_held: tuple[str, Detector] | None = None


def _detector(shipped: ShippedDetector) -> Detector | None:
    global _held
    if _held is not None and _held[0] == shipped.key:
        return _held[1]
    try:
        with open(shipped.path, "rb") as src:
            detector = pickle.load(src)
    except Exception as exc:  # any failure leaves the scan to the writer
        log.warning("parse worker could not load the detector (%s); the writer scans", exc)
        return None
    if not isinstance(detector, Detector):
        return None
    _held = (shipped.key, detector)
    return detector


def parse_and_scan(
    content: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    now: datetime,
    shipped: ShippedDetector,
) -> tuple[ParsedFeed, Scans]:
    """Parse a body and scan its entries with the shipped detector (runs in a worker).

    Parse errors propagate as from `feeds.parse.parse`; a scan that fails returns no
    findings, and the writer scans those entries itself.
    """
    parsed = parse(content, url=url, headers=headers, now=now)
    detector = _detector(shipped)
    if detector is None:
        return parsed, {}
    try:
        return parsed, scan_entries(Scanned(source=url, feed=parsed), detector, now).scans
    except Exception as exc:  # the writer scans, and reports it
        log.warning("scan in a parse worker failed (%s); the writer scans", exc)
        return parsed, {}
