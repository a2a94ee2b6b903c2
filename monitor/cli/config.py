"""`pledgewatch config check`: validate the configuration and print it, secrets hidden."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from monitor.cli.app import App, echo_wrapped, pass_app, to_json
from monitor.config import DEFAULT_CONFIG_FILE
from monitor.digest.text import base_url_warning


@click.group()
def config() -> None:
    """Check the configuration (TOML file plus PLEDGEWATCH_* environment variables)."""


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # JSON string escaping is valid TOML basic-string escaping.
    return json.dumps(str(value), ensure_ascii=False)


def to_toml(data: dict[str, dict[str, Any]]) -> str:
    """The effective settings as a TOML document (every key, defaults included)."""
    lines: list[str] = []
    for section, values in data.items():
        tables = {
            k: v for k, v in values.items() if isinstance(v, list) and v and isinstance(v[0], dict)
        }
        lines.append(f"[{section}]")
        for key, value in values.items():
            if value is None:  # TOML has no null: an unset key is left out, named
                lines.append(f"# {key} is unset")
            elif key not in tables:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
        for key, rows in tables.items():
            for row in rows:
                lines.append(f"[[{section}.{key}]]")
                lines += [f"{k} = {_toml_value(v)}" for k, v in row.items()]
                lines.append("")
    return "\n".join(lines)


def _config_source(app: App) -> str:
    if app.config_file:
        return app.config_file
    if os.environ.get("PLEDGEWATCH_CONFIG"):
        return os.environ["PLEDGEWATCH_CONFIG"]
    if Path(DEFAULT_CONFIG_FILE).is_file():
        return DEFAULT_CONFIG_FILE
    return "(no file: defaults and environment)"


@config.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["toml", "json"]),
    default="toml",
    show_default=True,
    help="Output format.",
)
@pass_app
def check(app: App, fmt: str) -> None:
    """Validate the configuration and print the effective settings with secrets hidden.

    An invalid file or variable stops every command with a message naming it; this
    command exits 0 only when everything is valid. Settings that are valid but probably
    not what you want (no `base_url` for digest links) are printed as warnings.
    """
    data = app.settings.redacted()
    if fmt == "json":
        click.echo(to_json(data))
    else:
        click.echo(f"# effective configuration; source: {_config_source(app)}")
        click.echo(to_toml(data), nl=False)
    for warning in filter(None, [base_url_warning(app.settings.digest.base_url)]):
        echo_wrapped(f"warning: {warning}", err=True)
    click.echo("configuration OK", err=True)


COMMANDS = [config]
