"""Every command fails with one line and an exit code, never a traceback.

Each command in the click tree is run (as tests/test_docs.py walks it) against databases
that cannot be used: an unknown dialect, a file that is not a database, a PostgreSQL
server that is not there (its password must not show), and a read-only file for writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.store.db import open_database
from pledges.catalogue import shipped_catalogue
from tests.test_docs import command_at, commands

ALL = list(commands(cli))


def arguments(path: tuple[str, ...], folder: Path) -> Iterator[str]:
    """A plausible value for each positional argument (so the command gets to its work)."""
    (folder / "feed.xml").write_text("<rss/>")
    if path[0] == "catalogue":
        yield from [str(shipped_catalogue())] if path[1] != "schema" else []
        return
    for param in command_at(path).params:
        if not isinstance(param, click.Argument):
            continue
        kind = param.type
        if isinstance(kind, click.Choice):
            yield str(kind.choices[-1])
        elif isinstance(kind, click.IntRange) or kind.name == "integer":
            yield "1"
        elif isinstance(kind, click.Path) and not kind.file_okay:
            yield str(folder)
        elif isinstance(kind, click.Path):
            yield str(folder / "feed.xml")
        else:
            yield "x"


# A job that fails also logs it (stderr, with a timestamp); that is not the message.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


def run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, env={"PLEDGEWATCH_CONFIG": ""})


def assert_one_line_error(result: Result, *, code: int = 1) -> str:
    assert not isinstance(result.exception, Exception), result.exception  # no traceback
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if not LOG_LINE.match(line)]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    if code == 1:
        assert lines == errors, result.output
    return errors[0]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("path", ALL, ids=" ".join)
@pytest.mark.parametrize(
    "db",
    [
        "bogus://x",
        "not-a-database.db",
        "postgresql+psycopg://:SECRET@127.0.0.1:9/pw?password=SECRET",  # nothing listens on 9
    ],
)
def test_every_command_with_a_bad_database_fails_in_one_line(
    folder: Path, path: tuple[str, ...], db: str
) -> None:
    if path == ("daemon",) and db.startswith("postgresql"):
        pytest.skip("the daemon waits for a database server that is down, by design")
    (folder / "not-a-database.db").write_bytes(b"\x00garbage, not SQLite\xff" * 300)
    result = run(["--db", db, *path, *arguments(path, folder)])
    assert "SECRET" not in result.output
    if result.exit_code == 0:
        return  # a command that needs no database (catalogue schema, config check...)
    assert_one_line_error(result, code=result.exit_code)


@pytest.fixture
def readonly_db(tmp_path: Path) -> str:
    path = tmp_path / "pledgewatch.db"
    db = open_database(f"sqlite:///{path}")
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    # Read-only however the tests run (file permissions do not stop root).
    return f"sqlite:///file:{path}?mode=ro&uri=true"


REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "args",
    [
        ["token", "create", "alice"],
        ["feeds", "add", "http://127.0.0.1:9/feed.xml"],
        ["catalogue", "sync"],
        ["ingest", str(REPO / "examples" / "feeds" / "tech-policy-weekly.xml")],
        ["maintain"],
    ],
    ids=" ".join,
)
def test_a_write_to_a_read_only_database_fails_in_one_line(
    readonly_db: str, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLEDGEWATCH_FEEDS_ALLOWED_NETWORKS", "127.0.0.1/32")
    result = CliRunner().invoke(cli, ["--db", readonly_db, *args])
    line = assert_one_line_error(result)
    assert "read-only" in line or "readonly" in line, line
    assert not re.search(r"[0-9a-f]{64}", result.output), "a token hash was printed"


def test_two_review_decisions_at_once_are_refused(readonly_db: str) -> None:
    result = run(["--db", readonly_db, "flags", "review", "1", "--confirm", "--dismiss"])
    line = assert_one_line_error(result, code=2)
    assert "mutually exclusive" in line


@pytest.mark.parametrize("url", ["http://[::1/", "http://[zz]/f", "http://example.org:99999/"])
def test_a_malformed_feed_url_is_a_one_line_error(folder: Path, url: str) -> None:
    result = run(["--db", str(folder / "pw.db"), "feeds", "add", url])
    assert "not a valid URL" in assert_one_line_error(result) or "invalid" in result.output
