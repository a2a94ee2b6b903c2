"""The import direction of ../shared/DESIGN.md: feeds and pledges never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_packages(package: str) -> set[str]:
    found: set[str] = set()
    for path in (REPO / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_feeds_knows_nothing_of_pledges_or_monitor() -> None:
    assert not imported_packages("feeds") & {"pledges", "monitor"}


def test_pledges_knows_nothing_of_feeds_or_monitor() -> None:
    assert not imported_packages("pledges") & {"feeds", "monitor"}


def modules_importing(name: str) -> set[str]:
    found = set()
    for package in ("feeds", "pledges", "monitor"):
        for path in (REPO / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(n.split(".")[0] == name for n in names):
                    found.add(path.relative_to(REPO).as_posix())
    return found


def test_only_the_scheduler_module_imports_apscheduler() -> None:
    assert modules_importing("apscheduler") <= {"monitor/daemon/scheduler.py"}


def test_only_the_parse_module_imports_feedparser() -> None:
    assert modules_importing("feedparser") <= {"feeds/parse.py"}
