"""feedparser's own test corpus through `pledgewatch ingest` (scripts/feedparser_corpus.py).

Runs only when PLEDGEWATCH_FEEDPARSER_CORPUS names an extracted feedparser source
distribution (the script downloads one: `python scripts/feedparser_corpus.py`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
CORPUS = os.environ.get("PLEDGEWATCH_FEEDPARSER_CORPUS", "")


@pytest.mark.slow
@pytest.mark.skipif(
    not (CORPUS and (Path(CORPUS) / "tests").is_dir()),
    reason="set PLEDGEWATCH_FEEDPARSER_CORPUS to an extracted feedparser sdist "
    "(python scripts/feedparser_corpus.py downloads one)",
)
def test_every_corpus_file_is_read_or_rejected_and_nothing_unsafe_is_stored() -> None:
    run = subprocess.run(
        [sys.executable, "scripts/feedparser_corpus.py", "--corpus", CORPUS, "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr
    result = json.loads(run.stdout)
    assert result["problems"] == []
    assert result["read"] + sum(result["rejected"].values()) == result["files"] > 1500
    assert result["entries_checked"] > 1000
