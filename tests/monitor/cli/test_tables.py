"""List tables fit the terminal they are printed on.

The CLI runs as a subprocess whose stdout is a real pseudo-terminal of 80, 100 or 120
columns. Ids, dates, kinds, scores and statuses are printed whole on every row; titles are
cut with an ellipsis; under 110 columns each row takes two lines.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.cells import cell_len

from feeds.models import Feed
from monitor.store.db import open_database
from tests.monitor.querydata import sample_file

REPO = Path(__file__).resolve().parents[3]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
WIDTHS = (80, 100, 120)


def on_terminal(db: Path, columns: int, *args: str) -> str:
    """Run `pledgewatch ARGS` with stdout on a pseudo-terminal `columns` wide; its screen."""
    env = {**os.environ, "PLEDGEWATCH_DB": f"sqlite:///{db}", "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)  # the terminal's own size decides
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        env=env,
        cwd=REPO,
        stdout=slave,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
    os.close(master)
    return ANSI.sub("", out.decode("utf-8")).replace("\r\n", "\n")


@functools.cache
def as_json(db: Path, *args: str) -> list[dict]:
    env = {**os.environ, "PLEDGEWATCH_DB": f"sqlite:///{db}"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", *args, "--format", "json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample data, plus two feeds with long names and a long error."""
    path = sample_file(tmp_path_factory.mktemp("t"), tmp_path_factory.mktemp("db") / "s.db")
    db = open_database(f"sqlite:///{path}")
    now = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    with db.write() as s:
        s.add(Feed(url="https://news.example.org/rss", name="News " * 20, created_at=now))
        s.add(
            Feed(
                url="https://broken.example.org/feed",
                name="Broken",
                created_at=now,
                last_fetch_at=now,
                last_status=503,
                consecutive_errors=4,
                error_kind="http_503",
                last_error="the server answered 503 Service Unavailable " * 5,
            )
        )
    db.dispose()
    return path


def fits(screen: str, columns: int) -> None:
    for line in screen.splitlines():
        assert cell_len(line) <= columns, line


@pytest.mark.parametrize("columns", WIDTHS)
def test_flags_list_shows_every_flags_short_fields_whole_and_cuts_titles(
    sample: Path, columns: int
) -> None:
    flags = as_json(sample, "flags", "list")
    screen = on_terminal(sample, columns, "flags", "list")
    fits(screen, columns)
    lines = screen.splitlines()
    two_lines = columns < 110
    assert lines[0].split()[:5] == ["id", "date", "kind", "score", "status"]
    body = lines[2:] if two_lines else lines[1:]
    assert len(body) == len(flags) * (2 if two_lines else 1)
    cut_titles = 0
    for n, f in enumerate(flags):
        row = body[2 * n] if two_lines else body[n]
        detail = body[2 * n + 1] if two_lines else row
        day = f["article"]["published"][:10]
        expected = [str(f["id"]), day, f["kind"], f"{f['score']:.2f}", f["status"]]
        assert row.split()[:5] == expected, row
        assert f["company"][:6] in row
        title = f["article"]["title"]
        if title in detail:
            continue
        cut_titles += 1
        shown = detail.rsplit("  ", 1)[-1].split(" · ")[-1]
        assert shown.endswith("…") and title.startswith(shown[:-1].strip()), (shown, title)
    assert cut_titles, "some title is longer than the room left for it"


@pytest.mark.parametrize("columns", WIDTHS)
def test_grouped_flags_name_incidents_and_their_flag_ids(sample: Path, columns: int) -> None:
    screen = on_terminal(sample, columns, "flags", "list", "--group")
    fits(screen, columns)
    header = screen.splitlines()[0].split()
    assert header[0] == "incident" and "id" not in header and "flags" in header


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize(
    ("command", "key", "whole"),
    [
        ("pledges", "id", ("id", "status", "made_on")),
        ("companies", "name", ("id", "pledge_count", "open_stories")),
        ("feeds", "url", ("id", "state")),
    ],
)
def test_other_lists_fit_and_keep_short_fields_whole(
    sample: Path, columns: int, command: str, key: str, whole: tuple[str, ...]
) -> None:
    rows = as_json(sample, command, "list")
    screen = on_terminal(sample, columns, command, "list")
    fits(screen, columns)
    for r in rows:
        values = [str(r[k]) for k in whole]
        assert any(line.split()[: len(values)] == values for line in screen.splitlines()), (
            values,
            screen,
        )
