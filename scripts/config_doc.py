"""Write docs/config.md from the Settings model, so the reference cannot drift from the code.

python scripts/config_doc.py          # rewrite docs/config.md
python scripts/config_doc.py --check  # exit 1 if docs/config.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "config.md"
FIX = "run .venv/bin/python scripts/config_doc.py"
sys.path.insert(0, str(REPO))

from monitor.config import SHORT_ENV, Settings, _env_key  # noqa: E402

INTRO = """\
# Configuration reference

pledgewatch reads one TOML file (`--config FILE`, else `$PLEDGEWATCH_CONFIG`, else
`pledgewatch.toml` in the working directory, if present), then the environment: every
key `[section] key` can be set as `PLEDGEWATCH_<SECTION>_<KEY>`, and the environment wins
over the file. `--db URL` wins over both. Lists are comma-separated in the environment.
`pledgewatch config check` validates everything and prints the effective configuration
with secrets hidden; an invalid value stops every command with a message naming the key
or variable.

This file is generated from the settings model by `python scripts/config_doc.py`; a test
fails when it is out of date.
"""


def _type(info: FieldInfo) -> str:
    text = _name(info.annotation)
    text = text.replace("monitor.config.", "").replace(" | None", ", optional")
    bounds = []
    for meta in info.metadata:
        for name, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(meta, name, None)
            if value is not None:
                bounds.append(f"{sign} {value}")
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    args = get_args(annotation)
    if get_origin(annotation) in (Union, UnionType) and type(None) not in args:
        return " or ".join(_name(a) for a in args)
    return str(annotation).replace("typing.", "")


def _default(info: FieldInfo) -> str:
    value: Any = info.get_default(call_default_factory=True)
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, list):
        return "`[]`" if not value else f"`{value}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """The whole reference as Markdown."""
    out = [INTRO]
    short: dict[tuple[str, str], list[str]] = {}
    for var, where in SHORT_ENV.items():
        short.setdefault(where, []).append(var)
    for section, finfo in Settings.model_fields.items():
        model = finfo.get_default(call_default_factory=True)
        assert isinstance(model, BaseModel)
        cls = type(model)
        out.append(f"## [{section}]\n")
        if cls.__doc__:
            out.append(" ".join(cls.__doc__.split()) + "\n")
        out.append("| key | environment variable | default | type | description |")
        out.append("|---|---|---|---|---|")
        tables: list[tuple[str, type[BaseModel]]] = []
        for key, info in cls.model_fields.items():
            item = _table_item(info)
            if item is not None:
                tables.append((key, item))
                env = f"(file only: `[[{section}.{key}]]` tables, below)"
            else:
                names = [_env_key(section, key), *short.get((section, key), [])]
                env = ", ".join(f"`{v}`" for v in dict.fromkeys(names))
            out.append(
                f"| `{key}` | {env} | {_cell(_default(info))} | {_cell(_type(info))} "
                f"| {_cell(info.description or '')} |"
            )
        out.append("")
        for key, item in tables:
            out.append(f"### [[{section}.{key}]]\n")
            out.append("| key | default | type | description |")
            out.append("|---|---|---|---|")
            for sub, info in item.model_fields.items():
                default = "(required)" if info.is_required() else _default(info)
                out.append(
                    f"| `{sub}` | {_cell(default)} | {_cell(_type(info))} "
                    f"| {_cell(info.description or '')} |"
                )
            out.append("")
    return "\n".join(out)


def _table_item(info: FieldInfo) -> type[BaseModel] | None:
    """The model of a list-of-tables key (such as digest subscriptions), else None."""
    args = getattr(info.annotation, "__args__", ())
    if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0]
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not DOC.is_file() or DOC.read_text(encoding="utf-8") != text:
            sys.stderr.write(
                f"{DOC.relative_to(REPO)} is out of date: run python scripts/config_doc.py\n"
            )
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {DOC.relative_to(REPO)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
