"""Load and validate folders of pledge YAML files (reads files, touches no database).

`parse_pledge` is pure (text in); `load_catalogues` reads each file through
`localfiles`, so a symlink to a device, a FIFO or an oversized file is one problem
line, never a hang or a process grown until the kernel kills it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from localfiles import LocalFileError, read_local_text
from pledges.errors import CatalogueError, Problem
from pledges.models import PledgeIn

SHIPPED = Path(__file__).parent / "catalogue"
# The biggest shipped pledge is a few KB; a megabyte is room for any honest one.
MAX_PLEDGE_FILE_BYTES = 1_000_000


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text for field-level validation.

    Aliases (`*name`) are refused: a few lines of anchors, each a list of the one before
    repeated nine times, stand for billions of values, and validating them (or quoting
    them in a problem) grew the process by gigabytes. Pledge files do not need them.
    """

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in pledge files", event.start_mark
            )
        return super().compose_node(parent, index)


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def shipped_catalogue() -> Path:
    """The folder of pledges that ships with pledgewatch."""
    return SHIPPED


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def parse_pledge(text: str, path: str) -> tuple[PledgeIn | None, list[Problem]]:
    """Parse one YAML document into a pledge, or return every problem in it."""
    try:
        return _parse_pledge(text, path)
    except RecursionError:
        # PyYAML composes nodes recursively: a document nested thousands deep (never a
        # real pledge) exhausts the stack; it is one problem, not a traceback.
        return None, [Problem(path, "(file)", "invalid YAML: nested too deeply")]


def _parse_pledge(text: str, path: str) -> tuple[PledgeIn | None, list[Problem]]:
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(path, where, f"invalid YAML: {reason}")]
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        return None, [Problem(path, "(file)", f"expected a mapping of fields, got {kind}")]
    try:
        pledge = PledgeIn.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = _field_path(tuple(err["loc"]))
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
                if err.get("input") is None and " " in str(err["loc"][-1]):
                    # Words with no value: what YAML leaves of text after a comma in an
                    # unquoted value of a {...} mapping, the usual way to write history.
                    msg += " (in a {...} mapping a comma ends a value: quote text with a comma)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            elif "input" in err and err["type"] not in ("value_error",):
                msg = f"{msg} (got {_short(err['input'])})"
            problems.append(Problem(path, field, msg))
        return None, problems
    stem = Path(path).stem
    if pledge.id != stem:
        return None, [Problem(path, "id", f"id {pledge.id!r} must equal the file name {stem!r}")]
    return pledge, []


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def check_catalogue(pledges: Iterable[tuple[str, PledgeIn]]) -> list[Problem]:
    """Checks across files: duplicate ids, and a name or alias claimed by two companies."""
    problems: list[Problem] = []
    seen_ids: dict[str, str] = {}
    owner: dict[str, tuple[str, str]] = {}  # lower-cased term -> (company, path)
    for path, p in pledges:
        if p.id in seen_ids:
            problems.append(
                Problem(path, "id", f"duplicate id {p.id!r} (also in {seen_ids[p.id]})")
            )
        else:
            seen_ids[p.id] = path
        terms = [("company.name", p.company.name)]
        terms += [(f"company.aliases[{i}]", a) for i, a in enumerate(p.company.aliases)]
        terms += [(f"company.products[{i}]", a) for i, a in enumerate(p.company.products)]
        for field, term in terms:
            key = term.casefold()
            prev = owner.get(key)
            if prev is None:
                owner[key] = (p.company.name, path)
            elif prev[0] != p.company.name:
                problems.append(
                    Problem(
                        path,
                        field,
                        f"{term!r} already names company {prev[0]!r} (in {prev[1]}); "
                        "a name or alias may belong to one company only",
                    )
                )
    return problems


def _pledge_files(path: Path) -> list[Path]:
    """The pledge files a path names: itself, or the `*.yaml` / `*.yml` files in it."""
    if not path.exists():
        raise CatalogueError([Problem(str(path), "(folder)", "no such folder or file")])
    if path.is_file():
        if path.suffix not in (".yaml", ".yml"):
            raise CatalogueError(
                [Problem(str(path), "(file)", "not a pledge file (*.yaml) or a folder of them")]
            )
        return [path]
    if not path.is_dir():
        raise CatalogueError([Problem(str(path), "(folder)", "not a folder")])
    try:
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    except OSError as exc:
        raise CatalogueError(
            [Problem(str(path), "(folder)", f"unreadable: {exc.strerror}")]
        ) from exc
    if not files:
        raise CatalogueError([Problem(str(path), "(folder)", "no pledge files (*.yaml) found")])
    return files


def load_catalogue(folder: Path) -> list[PledgeIn]:
    """Load every `*.yaml` / `*.yml` pledge in `folder`; raise CatalogueError listing all."""
    return load_catalogues([folder])


def load_catalogues(paths: Sequence[Path]) -> list[PledgeIn]:
    """Load folders of pledges and single pledge files together as one catalogue.

    The checks across files (duplicate ids, a name claimed by two companies) run over
    all of them, so a user's own folder is validated against the shipped one it joins.
    Raises CatalogueError listing every problem in every path.
    """
    problems: list[Problem] = []
    files: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        try:
            found = _pledge_files(path)
        except CatalogueError as exc:
            problems.extend(exc.problems)
            continue
        # A file named on its own and again through its folder is read once.
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    loaded: list[tuple[str, PledgeIn]] = []
    for file in files:
        try:
            text = read_local_text(file, max_bytes=MAX_PLEDGE_FILE_BYTES)
        except LocalFileError as exc:
            problems.append(Problem(str(file), "(file)", exc.reason))
            continue
        pledge, errs = parse_pledge(text, str(file))
        problems.extend(errs)
        if pledge is not None:
            loaded.append((str(file), pledge))
    problems.extend(check_catalogue(loaded))
    if problems:
        raise CatalogueError(problems)
    return [p for _, p in loaded]


def catalogue_schema() -> dict[str, Any]:
    """The catalogue file format as JSON Schema (for editors and external checks)."""
    schema = PledgeIn.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://pledgewatch.example/schema/pledge.json"
    return schema
