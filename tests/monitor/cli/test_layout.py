"""`flags show`, `articles show` and `search` fit the width they are given.

Wrapped prose lines hang under the first character of their body, and a URL stands
whole on a line of its own (a URL cut in two cannot be copied or clicked).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.store.db import open_database
from tests.monitor.querydata import AMAZON, flag_ids, sample_file

WIDTH = 60


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("layout")
    return sample_file(folder, folder / "pledgewatch.db")


def narrow(db_path: Path, *args: str) -> list[str]:
    result = CliRunner(env={"COLUMNS": str(WIDTH)}).invoke(
        cli, ["--db", str(db_path), *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def is_url(line: str) -> bool:
    return line.strip().startswith(("http://", "https://"))


def section(lines: list[str], title: str) -> list[str]:
    start = lines.index(title) + 1
    rest = lines[start:]
    end = next((i for i, line in enumerate(rest) if not line.startswith(" ")), len(rest))
    return rest[:end]


def test_flags_show_wraps_evidence_under_its_text_and_keeps_the_url_whole(
    db_path: Path,
) -> None:
    flag_id = flag_ids(open_database(f"sqlite:///{db_path}"), AMAZON)[0]
    lines = narrow(db_path, "flags", "show", str(flag_id))
    url = json.loads(
        CliRunner()
        .invoke(cli, ["--db", str(db_path), "flags", "show", str(flag_id), "--format", "json"])
        .output
    )["article"]["url"]
    assert len(url) > WIDTH
    assert f"  {url}" in lines
    assert all(len(line) <= WIDTH for line in lines if not is_url(line))
    evidence = section(lines, "Evidence")
    assert evidence[0].startswith("  > ")
    # Some sentence is longer than the width, so it wrapped, and every continuation
    # line hangs under the sentence's first character.
    continued = [line for line in evidence if not line.startswith("  > ")]
    assert continued
    assert all(line.startswith("    ") and line[4] != " " for line in continued)
    assert all(line == line.rstrip() for line in lines)


def test_search_and_articles_show_fit_the_width(db_path: Path) -> None:
    found = narrow(db_path, "search", "rekognition", "police")
    shown = narrow(db_path, "articles", "show", "1")
    for lines in (found, shown):
        assert all(len(line) <= WIDTH for line in lines if not is_url(line))
        assert any(is_url(line) for line in lines)
    # Snippet lines under a result are indented, never flush with the margin.
    body = [line for line in found[1:-1] if line and not line.startswith("article ")]
    assert body and all(line.startswith(" ") for line in body)


def test_warnings_and_summaries_wrap_at_79_columns(db_path: Path, tmp_path: Path) -> None:
    runner = CliRunner(env={"PLEDGEWATCH_DIGEST_BASE_URL": ""})
    checked = runner.invoke(cli, ["--db", str(db_path), "config", "check"])
    assert checked.exit_code == 0, checked.output
    warning = [line for line in checked.stderr.splitlines() if line != "configuration OK"]
    assert warning[0].startswith("warning: [digest] base_url is not set")
    assert all(len(line) <= 79 for line in warning)
    assert all(line.startswith("  ") for line in warning[1:])
    assert "set it to the public URL of `pledgewatch serve`" in " ".join(
        line.strip() for line in warning
    )
    out = tmp_path / "d.txt"
    args = ["--db", str(db_path), "digest", "preview", "--week", "2024-W23", "--out", str(out)]
    preview = runner.invoke(cli, args)
    assert preview.exit_code == 0, preview.output
    wrote, *subject = preview.stdout.splitlines()
    assert wrote == f"wrote the 2024-W23 digest (text) to {out}"
    assert subject[0].startswith("  subject: pledgewatch 2024-W23")
    assert all(len(line) <= 79 for line in subject)
