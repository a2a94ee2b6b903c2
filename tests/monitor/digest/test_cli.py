"""`digest preview` and `config check` from the command line, on a real SQLite file."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.store.db import open_database
from tests.monitor.digestweek import WEEK, ZONE, build_week

WARNING = "warning: [digest] base_url is not set (PLEDGEWATCH_DIGEST_BASE_URL)"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("PLEDGEWATCH_")]:
        monkeypatch.delenv(var)
    db_url = f"sqlite:///{tmp_path / 'pw.db'}"
    db = open_database(db_url)
    build_week(db)
    db.dispose()
    return {"PLEDGEWATCH_DB": db_url, "PLEDGEWATCH_DIGEST_TIMEZONE": ZONE}


def _run(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(
    ("name", "fmt", "html"),
    [
        ("x.html", None, True),
        ("x.HTM", None, True),
        ("x.txt", None, False),
        ("digest", None, False),
        ("x.html", "text", False),
        ("x.txt", "html", True),
    ],
)
def test_preview_out_takes_its_format_from_the_extension_unless_format_says(
    env: dict[str, str], tmp_path: Path, name: str, fmt: str | None, html: bool
) -> None:
    out = tmp_path / name
    args = ["digest", "preview", "--week", WEEK, "--out", str(out)]
    result = _run(env, *args, *(["--format", fmt] if fmt else []))
    body = out.read_text(encoding="utf-8")
    assert body.startswith("<!DOCTYPE html>") is html
    assert body.startswith("pledgewatch weekly digest:") is not html
    assert f"({'html' if html else 'text'})" in result.stdout


def test_preview_warns_on_stderr_when_base_url_is_unset(env: dict[str, str]) -> None:
    result = _run(env, "digest", "preview", "--week", WEEK)
    assert WARNING in result.stderr and WARNING not in result.stdout
    assert "/flags/" not in result.stdout
    linked = _run(
        {**env, "PLEDGEWATCH_DIGEST_BASE_URL": "https://pw.example.org"},
        "digest",
        "preview",
        "--week",
        WEEK,
    )
    assert "warning" not in linked.stderr and "https://pw.example.org/flags/" in linked.stdout


def test_config_check_warns_about_base_url_and_still_passes(env: dict[str, str]) -> None:
    result = _run(env, "config", "check")
    assert WARNING in result.stderr and "configuration OK" in result.stderr
    tomllib.loads(result.stdout)  # stdout stays a valid config file
    bad = _run({**env, "PLEDGEWATCH_DIGEST_BASE_URL": "pw.example.org"}, "config", "check")
    assert "'pw.example.org' is not an http(s) URL with a host" in bad.stderr
    good = _run({**env, "PLEDGEWATCH_DIGEST_BASE_URL": "https://pw.example.org"}, "config", "check")
    assert "warning" not in good.stderr
