"""Run feedparser's own test corpus through `pledgewatch ingest` and check the database.

feedparser's source distribution on PyPI carries about 2,000 feed files (well-formed,
ill-formed, encodings, entities and 745 sanitizer cases). This script downloads it once
(pip download; cached), ingests every file under its tests/ folder into a fresh SQLite
file in batches, and checks that:

- no ingest run printed a traceback;
- every file was either read or rejected with a reason, exactly once;
- no text anywhere in the database (every text column of every table, JSON included)
  contains `<script` or `javascript:` in any case;
- the same holds for every entry of every file as parsed (many corpus entries share a
  key, so the database keeps only the last version of each; this sees them all).

    python scripts/feedparser_corpus.py                 # download (cached) and check
    python scripts/feedparser_corpus.py --corpus DIR    # an extracted sdist (has tests/)

It prints the figures (files read, rejected by reason, time) and exits 1 on any failure.
Set PLEDGEWATCH_FEEDPARSER_CORPUS to the extracted folder to run it from the test suite
(tests/monitor/ingest/test_feedparser_corpus.py, marked slow).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pledgewatch"
UNSAFE = re.compile(r"<script|javascript:", re.IGNORECASE)
REJECTED = re.compile(r"^ingest failed source=(.+?) error=([a-z_]+) message=")
READ = re.compile(r"^ingested source=(.+?) entries=(\d+) new=(\d+) ")


def installed_feedparser_version() -> str:
    out = subprocess.run(
        [sys.executable, "-c", "import feedparser; print(feedparser.__version__)"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip()


def fetch_corpus(version: str, cache: Path) -> Path:
    """The extracted sdist folder for `version`, downloading it on first use."""
    target = cache / f"feedparser-{version}"
    if (target / "tests").is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
             ":all:", f"feedparser=={version}", "-d", tmp],
            check=True,
        )  # fmt: skip
        archive = next(Path(tmp).glob("feedparser-*.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(cache, filter="data")
    return target


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "tests").rglob("*") if p.is_file())


def pledgewatch(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "monitor", "--db", f"sqlite:///{db}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)


def unsafe_values(db: Path) -> list[tuple[str, str, str]]:
    """(table, column, value) for every stored text carrying a script or script URL."""
    found = []
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute(
            "select name from sqlite_master where type = 'table'")]  # fmt: skip
        for table in tables:
            cur = con.execute(f'select * from "{table}"')
            columns = [d[0] for d in cur.description]
            for row in cur:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str) and UNSAFE.search(value):
                        found.append((table, column, value[:200]))
    finally:
        con.close()
    return found


def unsafe_entries(files: list[Path]) -> tuple[int, list[str]]:
    """Parse every file in-process; every string of every entry must be safe to show."""
    sys.path.insert(0, str(REPO))
    from feeds.errors import ParseError
    from feeds.parse import parse

    checked, found = 0, []
    for path in files:
        try:
            feed = parse(path.read_bytes(), url=str(path))
        except ParseError:
            continue
        values = [feed.title, feed.link or "", feed.degraded_reason or ""]
        for e in feed.entries:
            checked += 1
            values += [e.key, e.title, e.link or "", e.entry_id or "", e.summary_html, e.text]
        found += [f"{path}: {v[:200]!r}" for v in values if UNSAFE.search(v)]
    return checked, found


def check(root: Path, batch: int, workdir: Path) -> dict[str, Any]:
    """Ingest the whole corpus and return the figures and every problem found."""
    files = corpus_files(root)
    db = workdir / "corpus.db"
    sync = pledgewatch(db, "catalogue", "sync")
    if sync.returncode != 0:
        raise SystemExit(f"catalogue sync failed:\n{sync.stderr}")
    read: dict[str, int] = {}
    rejected: dict[str, str] = {}
    problems: list[str] = []
    t0 = time.perf_counter()
    for start in range(0, len(files), batch):
        chunk = [str(p) for p in files[start : start + batch]]
        run = pledgewatch(db, "ingest", *chunk)
        if "Traceback" in run.stderr or "Traceback" in run.stdout:
            problems.append(f"traceback in batch at file {start}:\n{run.stderr[-2000:]}")
        if run.returncode not in (0, 1):
            problems.append(f"ingest exited {run.returncode} at file {start}: {run.stderr[-500:]}")
        for line in run.stdout.splitlines() + run.stderr.splitlines():
            if m := REJECTED.match(line):
                rejected[m.group(1)] = m.group(2)
            elif (m := READ.match(line)) and m.group(1) in chunk:
                read[m.group(1)] = int(m.group(2))
    elapsed = time.perf_counter() - t0
    for path in map(str, files):
        seen = (path in read) + (path in rejected)
        if seen != 1:
            problems.append(f"{path}: {'neither read nor rejected' if not seen else 'both'}")
    unsafe = unsafe_values(db)
    problems += [f"unsafe text in {t}.{c}: {v!r}" for t, c, v in unsafe]
    entries_checked, unsafe_parsed = unsafe_entries(files)
    problems += [f"unsafe parsed text in {v}" for v in unsafe_parsed]
    con = sqlite3.connect(db)
    articles = con.execute("select count(*) from articles").fetchone()[0]
    con.close()
    return {
        "files": len(files),
        "read": len(read),
        "entries": sum(read.values()),
        "articles": articles,
        "entries_checked": entries_checked,
        "rejected": dict(sorted(Counter(rejected.values()).items())),
        "seconds": round(elapsed, 1),
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="extracted feedparser sdist (has tests/)")
    parser.add_argument("--version", help="feedparser version to download (default: installed)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download cache")
    parser.add_argument("--batch", type=int, default=400, help="files per ingest run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    root = args.corpus or fetch_corpus(args.version or installed_feedparser_version(), args.cache)
    with tempfile.TemporaryDirectory(prefix="pw-corpus-") as tmp:
        result = check(root, args.batch, Path(tmp))
    out = sys.stdout
    if args.json:
        out.write(json.dumps(result, indent=2) + "\n")
        return 1 if result["problems"] else 0
    rejected = ", ".join(f"{k} {v}" for k, v in result["rejected"].items())
    out.write(
        f"corpus: {root}\n"
        f"files: {result['files']}, read: {result['read']} ({result['entries']} entries, "
        f"{result['articles']} articles stored, {result['entries_checked']} parsed entries "
        f"checked), time: {result['seconds']}s\n"
        f"rejected: {rejected}\n"
    )
    for problem in result["problems"]:
        out.write(f"PROBLEM {problem}\n")
    out.write("OK\n" if not result["problems"] else f"{len(result['problems'])} problems\n")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
