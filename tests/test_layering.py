"""The import direction of ../shared/DESIGN.md and the README's picture of `monitor/`.

`localfiles` (reading a file a user named) sits below everything and imports none of
ours; `feeds` and `pledges` never import each other; `monitor` is rooms stacked in one
direction: each room imports only the rooms listed under it in `ALLOWED`, so a newcomer
can read a room knowing what it can reach. Module-level and function-level imports count
alike, so a cycle cannot hide inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MONITOR = REPO / "monitor"

# Room -> the rooms of `monitor` it may import (`config` is open to every room).
ALLOWED: dict[str, set[str]] = {
    "store": set(),
    "auth": {"store"},
    "query": {"store"},
    "flags": {"store", "query"},
    "ingest": {"store", "query", "flags"},
    "evaluation": {"store", "query", "flags", "ingest"},
    "poll": {"store", "query", "flags", "ingest"},
    "digest": {"store", "query", "flags"},
    "daemon": {"store", "query", "flags", "ingest", "poll", "digest"},
    "api": {"store", "auth", "query", "flags", "ingest", "poll", "digest", "daemon"},
    "web": {"store", "auth", "query", "flags", "ingest", "poll", "digest", "daemon", "api"},
    "cli": {
        "store", "auth", "query", "flags", "ingest", "evaluation", "poll", "digest", "daemon",
        "web", "api",
    },
}  # fmt: skip
ROOT_MODULES = {"__init__", "__main__", "config"}


def imports_of(path: Path) -> Iterator[str]:
    """Every absolute module name `path` imports, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            if node.module == "monitor":  # `from monitor import poll` names a room too
                yield from (f"monitor.{a.name}" for a in node.names)


def imported_packages(package: str) -> set[str]:
    return {name.split(".")[0] for p in (REPO / package).rglob("*.py") for name in imports_of(p)}


def test_feeds_knows_nothing_of_pledges_or_monitor() -> None:
    assert not imported_packages("feeds") & {"pledges", "monitor"}


def test_pledges_knows_nothing_of_feeds_or_monitor() -> None:
    assert not imported_packages("pledges") & {"feeds", "monitor"}


def test_localfiles_sits_below_every_package() -> None:
    """The local-file reader is shared by all three packages, so it imports none of them."""
    assert not imported_packages("localfiles") & {"feeds", "pledges", "monitor"}


def room_of(module: str) -> str | None:
    """`monitor.poll.cycle` -> `poll`; None for `monitor.config` and other root modules."""
    parts = module.split(".")
    if parts[0] != "monitor" or len(parts) < 2 or parts[1] in ROOT_MODULES:
        return None
    return parts[1]


def room_violations(root: Path, allowed: dict[str, set[str]]) -> list[str]:
    found = []
    for path in sorted((root / "monitor").rglob("*.py")):
        rel = path.relative_to(root)
        if len(rel.parts) < 3:
            continue  # monitor/config.py and friends
        room = rel.parts[1]
        for name in imports_of(path):
            target = room_of(name)
            if target is not None and target != room and target not in allowed.get(room, set()):
                found.append(f"{rel.as_posix()}: room {room!r} imports {name} (room {target!r})")
    return sorted(set(found))


def test_every_room_imports_only_the_rooms_below_it() -> None:
    assert room_violations(REPO, ALLOWED) == []


def test_the_room_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """A store module reaching up into the daemon is reported (the check can fail)."""
    store = tmp_path / "monitor" / "store"
    store.mkdir(parents=True)
    (store / "db.py").write_text("from monitor.daemon.service import run\nimport monitor.config\n")
    assert room_violations(tmp_path, ALLOWED) == [
        "monitor/store/db.py: room 'store' imports monitor.daemon.service (room 'daemon')"
    ]


def test_every_room_is_listed_and_the_root_holds_only_config() -> None:
    rooms = {p.name for p in MONITOR.iterdir() if (p / "__init__.py").exists()}
    assert rooms == set(ALLOWED)
    assert {p.stem for p in MONITOR.glob("*.py")} == ROOT_MODULES


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_says_what_it_owns(room: str) -> None:
    doc = ast.get_docstring(ast.parse((MONITOR / room / "__init__.py").read_text()))
    assert doc and len(doc.split()) >= 8


def test_no_import_cycles_between_modules() -> None:
    """Module-level imports form no cycle (function-level ones may defer a heavy import)."""
    graph: dict[str, set[str]] = {}
    for path in (REPO / "monitor").rglob("*.py"):
        rel = path.relative_to(REPO).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = {d for d in deps if d.startswith("monitor")}
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:
                continue
            if seen.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack, dep]))
            if dep not in seen:
                visit(dep)
        stack.pop()
        seen[node] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module)


def modules_importing(name: str) -> set[str]:
    found = set()
    for package in ("feeds", "pledges", "monitor"):
        for path in (REPO / package).rglob("*.py"):
            if any(n.split(".")[0] == name for n in imports_of(path)):
                found.add(path.relative_to(REPO).as_posix())
    return found


def test_only_the_scheduler_module_imports_apscheduler() -> None:
    assert modules_importing("apscheduler") <= {"monitor/daemon/scheduler.py"}


def test_only_the_parse_module_imports_feedparser() -> None:
    assert modules_importing("feedparser") <= {"feeds/parse.py"}


def test_only_the_fetching_modules_import_aiohttp() -> None:
    assert modules_importing("aiohttp") <= {"feeds/fetch.py", "feeds/connect.py", "feeds/wire.py"}
