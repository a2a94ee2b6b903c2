"""Ingest speed and memory, measured side by side in one run.

1. `pledgewatch ingest` over 200 generated feed files x 50 items (10,000 items) into a
   fresh SQLite file that holds the shipped catalogue, end to end in a subprocess (start-
   up, parsing, storing, detection), against a bare single-process loop of
   `feedparser.parse` over the same bytes. Target: at most 0.8x.
2. Peak memory of `pledgewatch ingest` over 100,000 items (quick: 10,000): the summed
   resident memory of the command and its worker processes, sampled from /proc. Target:
   at most 400 MB.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import feedparser

from bench.common import Result
from bench.feedgen import write_feeds

ITEMS_PER_FILE = 50


def _pledgewatch(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", "--db", f"sqlite:///{db}", *args]


def _catalogue_db(folder: Path) -> Path:
    path = folder / "catalogue.db"
    subprocess.run(_pledgewatch(path, "catalogue", "sync"), check=True, stdout=subprocess.DEVNULL)
    return path


def _fresh_copy(template: Path, folder: Path, name: str) -> Path:
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return path


def _bare_parse(blobs: list[bytes]) -> tuple[float, float]:
    """Wall and CPU seconds of a plain feedparser.parse loop."""
    t0, c0 = time.perf_counter(), time.process_time()
    for blob in blobs:
        feedparser.parse(blob)
    return time.perf_counter() - t0, time.process_time() - c0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def _memory_mb(pids: list[int]) -> tuple[float, float]:
    """Summed RSS and PSS of the processes, in MB (shared pages count once in PSS)."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def _ingest(db: Path, feeds: Path, sample: bool = False) -> tuple[float, float, float]:
    """Run the ingest command; wall seconds and peak summed RSS and PSS (MB, if sampled)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        _pledgewatch(db, "ingest", str(feeds)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak_rss = peak_pss = 0.0
    while sample and proc.poll() is None:
        rss, pss = _memory_mb(_tree(proc.pid))
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.1)
    _, err = proc.communicate()
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"ingest exited {proc.returncode}: {err.decode()[-500:]}")
    return elapsed, peak_rss, peak_pss


def run(quick: bool) -> list[Result]:
    files = 200
    big_files = 200 if quick else 2_000
    rounds = 1 if quick else 2
    with tempfile.TemporaryDirectory(prefix="pw-bench-ingest-") as tmp:
        folder = Path(tmp)
        feeds = folder / "feeds"
        paths = write_feeds(feeds, files, ITEMS_PER_FILE)
        blobs = [p.read_bytes() for p in paths]
        template = _catalogue_db(folder)
        bare_runs, ingest_runs = [], []
        for i in range(rounds):
            bare_runs.append(_bare_parse(blobs))
            db = _fresh_copy(template, folder, f"ratio-{i}.db")
            c0 = _children_cpu()
            wall = _ingest(db, feeds)[0]
            ingest_runs.append((wall, _children_cpu() - c0))
        (bare, bare_cpu), (ingest, ingest_cpu) = min(bare_runs), min(ingest_runs)
        items = files * ITEMS_PER_FILE
        # CPU seconds say what the machine's load does not: a busy machine slows the
        # ingest (which needs two cores) more than the single-process loop.
        ratio = Result(
            f"ingest {items} items vs bare feedparser loop",
            ingest / bare,
            0.8,
            detail=f"ingest {ingest:.2f}s ({items / ingest:.0f} items/s, {ingest_cpu:.2f} CPU s "
            f"in all processes), feedparser.parse loop {bare:.2f}s ({items / bare:.0f} "
            f"items/s, {bare_cpu:.2f} CPU s), {os.cpu_count()} cores, load "
            f"{os.getloadavg()[0]:.1f}",
        )

        big = folder / "big"
        write_feeds(big, big_files, ITEMS_PER_FILE, seed=19)
        db = _fresh_copy(template, folder, "memory.db")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        elapsed, peak_rss, peak_pss = _ingest(db, big, sample=True)
        child_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        n = big_files * ITEMS_PER_FILE
        memory = Result(
            f"peak memory ingesting {n} items",
            peak_rss,
            400,
            unit=" MB",
            detail=f"summed RSS of the command and its workers (PSS {peak_pss:.0f} MB; "
            f"largest single process {max(child_max, before / 1024):.0f} MB); "
            f"{elapsed:.1f}s, {n / elapsed:.0f} items/s",
        )
    return [ratio, memory]
