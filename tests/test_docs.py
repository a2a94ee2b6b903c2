"""The docs keep up with the code: every command has help and appears in the README."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import click
import pytest

from monitor.cli import cli

REPO = Path(__file__).resolve().parents[1]


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path


ALL = [" ".join(path) for path in commands(cli)]


@pytest.mark.parametrize("path", ALL)
def test_every_command_has_help(path: str) -> None:
    command: click.Command | None = cli
    for name in path.split():
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), name)
    assert command is not None
    assert command.help and len(command.help.strip()) > 20, path


@pytest.mark.parametrize("path", ALL)
def test_every_command_is_in_the_readme(path: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"`{path}" in readme or f"pledgewatch {path}" in readme, path


def test_every_command_module_is_reachable_by_name() -> None:
    """Each module's COMMANDS is registered under its own name in the lazy table."""
    import importlib
    import pkgutil

    import monitor.cli as package
    from monitor.cli import LAZY_COMMANDS

    registered = {(m, a) for m, a, _ in LAZY_COMMANDS.values()}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"monitor.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            assert command.name in LAZY_COMMANDS, (info.name, command.name)
            module_name, attr, _ = LAZY_COMMANDS[command.name]
            assert (module_name, attr) in registered
            assert getattr(importlib.import_module(f"monitor.cli.{module_name}"), attr) is command


def test_the_command_list_says_what_each_command_says_of_itself() -> None:
    """`pledgewatch --help` lists commands from the lazy table's summaries: each must be
    what the command's own help would show."""
    import click

    from monitor.cli import LAZY_COMMANDS, cli

    ctx = click.Context(cli)
    for name, (_, _, summary) in LAZY_COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None
        summarised = click.Command(name, help=summary).get_short_help_str(1000)
        assert summarised == command.get_short_help_str(1000), name


def test_the_top_level_help_imports_no_command_module() -> None:
    import subprocess
    import sys

    probe = (
        "import sys; from click.testing import CliRunner; from monitor.cli import cli; "
        "out = CliRunner().invoke(cli, ['--help']).output; "
        "assert 'flags' in out and 'List, inspect and review flags' in out, out; "
        "from monitor.cli import LAZY_COMMANDS; "
        "loaded = {'monitor.cli.' + m for m, _, _ in LAZY_COMMANDS.values()} & set(sys.modules); "
        "print(sorted(loaded))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_the_quickstart_has_exactly_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = [line.strip() for line in quickstart.splitlines() if line.startswith("    ")]
    assert blocks == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def _examples(command: click.Command) -> list[list[str]]:
    """The example command lines of a command's --help, as argument lists."""
    import shlex

    epilog = command.epilog or ""
    if "Examples:" not in epilog:
        return []
    lines = epilog.split("Examples:", 1)[1].splitlines()
    # A description may follow an example after two spaces or more.
    return [
        shlex.split(line.strip().split("  ")[0])
        for line in lines
        if line.strip().startswith("pledgewatch ")
    ]


FIRST_STEPS = [
    "catalogue validate",
    "catalogue sync",
    "ingest",
    "feeds add",
    "flags review",
    "export",
    "rescan",
    "eval",
]


@pytest.mark.parametrize("path", FIRST_STEPS)
def test_the_first_commands_a_user_meets_show_examples(path: str) -> None:
    command = command_at(path.split())
    assert _examples(command), path


@pytest.mark.parametrize("path", ALL)
def test_every_help_example_parses(path: str) -> None:
    """An example in --help names a real command and options it accepts."""
    command = command_at(path.split())
    # Click indents the epilog by two: an example line fits 80 columns as printed.
    assert all(len(line) <= 78 for line in (command.epilog or "").splitlines()), path
    for example in _examples(command):
        assert example[: 1 + len(path.split())] == ["pledgewatch", *path.split()], example
        args = example[1 + len(path.split()) :]
        command.make_context(path, args)  # raises on an unknown option or a bad value


def command_at(path: Sequence[str]) -> click.Command:
    """The command a `pledgewatch` word path names (`["flags", "list"]`)."""
    command: click.Command | None = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), name)
    assert command is not None
    return command
