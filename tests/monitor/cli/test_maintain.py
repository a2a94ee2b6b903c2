"""`pledgewatch maintain` and `status` on a real SQLite file say what they found and did."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli


def test_maintain_names_what_it_ran_on_the_database(tmp_path: Path) -> None:
    db = tmp_path / "pw.db"
    CliRunner().invoke(cli, ["--db", str(db), "catalogue", "sync"])
    result = CliRunner().invoke(cli, ["--db", str(db), "maintain"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("pruned text of 0 articles")
    assert "database maintenance run: optimize" in result.output


def test_status_before_any_daemon_says_how_to_start_one(tmp_path: Path) -> None:
    db = tmp_path / "pw.db"
    CliRunner().invoke(cli, ["--db", str(db), "catalogue", "sync"])
    result = CliRunner().invoke(cli, ["--db", str(db), "status"])
    assert result.exit_code == 3
    assert "NO DAEMON RUNNING" in result.output
    assert "Daemons: none has run on this database" in result.output
    assert "`pledgewatch daemon`" in result.output
