"""The docs keep up with the code: every command has help and appears in the README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from monitor.cli import cli

REPO = Path(__file__).resolve().parents[1]


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path


ALL = [" ".join(path) for path in commands(cli)]


@pytest.mark.parametrize("path", ALL)
def test_every_command_has_help(path: str) -> None:
    command: click.Command = cli
    for name in path.split():
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert command.help and len(command.help.strip()) > 20, path


@pytest.mark.parametrize("path", ALL)
def test_every_command_is_in_the_readme(path: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"`{path}" in readme or f"pledgewatch {path}" in readme, path


def test_the_quickstart_has_exactly_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = [line.strip() for line in quickstart.splitlines() if line.startswith("    ")]
    assert blocks == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
