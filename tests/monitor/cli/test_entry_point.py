"""The `pledgewatch` script: its entry point imports the command line only when it runs,
so the parse workers a poll spawns (which run the script again first) start light."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# What pip writes for a console script.
SCRIPT = """import sys
from monitor.__main__ import main
if __name__ == "__main__":
    sys.exit(main())
"""
# The same script, starting a spawn worker the way a poll does, to ask what it imported.
SPAWNING = """import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from monitor.__main__ import main


def loaded() -> bool:
    return "monitor.cli" in sys.modules


if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        print(pool.submit(loaded).result(timeout=60))
"""


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )


def test_the_installed_script_points_at_the_light_entry_point() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["pledgewatch"] == "monitor.__main__:main"


def test_the_script_runs_the_command_line(tmp_path: Path) -> None:
    script = tmp_path / "pledgewatch"
    script.write_text(SCRIPT)
    done = run(script, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage: pledgewatch" in done.stdout


def test_a_worker_spawned_under_the_script_does_not_import_the_command_line(
    tmp_path: Path,
) -> None:
    script = tmp_path / "pledgewatch"
    script.write_text(SPAWNING)
    done = run(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
