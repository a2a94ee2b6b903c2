"""Cross-validation folds shared out among forked processes: same results, same order."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from monitor.evaluation.folds import DEFAULT_MAX, cores, fold_map, workers

REPO = Path(__file__).resolve().parents[3]
HOLDOUT_2 = REPO / "eval" / "holdout-2"
HOLDOUT_3 = REPO / "eval" / "holdout-3"

# Run in a fresh interpreter, where no other thread runs, so the folds really fork.
FORKED = """
import os, json, time
from monitor.evaluation.folds import fold_map

def square_where(shared, n):
    time.sleep(0.05)  # long enough that both workers take folds
    return shared["offset"] + n * n, os.getpid()

out = fold_map(square_where, {"offset": 1}, list(range(40)), jobs=2)
print(json.dumps({"values": [v for v, _ in out], "pids": sorted({p for _, p in out}),
                  "parent": os.getpid()}))
"""


@pytest.mark.skipif(cores() < 2, reason="one core: the folds run in-process")
def test_folds_run_in_forked_workers_and_come_back_in_order() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORKED], capture_output=True, text=True, check=True, cwd=REPO
    )
    out = json.loads(done.stdout)
    assert out["values"] == [1 + n * n for n in range(40)]
    assert len(out["pids"]) == 2
    assert out["parent"] not in out["pids"]


# A worker that dies mid-run (here, each forked worker exits at its first fold).
DYING = """
import os, json
from monitor.evaluation.folds import fold_map

PARENT = os.getpid()

def die_in_a_worker(shared, n):
    if os.getpid() != PARENT:
        os._exit(1)
    return shared + n

print(json.dumps(fold_map(die_in_a_worker, 10, list(range(20)), jobs=2)))
"""


@pytest.mark.skipif(cores() < 2, reason="one core: the folds run in-process")
def test_a_worker_that_dies_costs_time_not_the_run() -> None:
    done = subprocess.run(
        [sys.executable, "-c", DYING], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert json.loads(done.stdout) == [10 + n for n in range(20)]
    assert "a fold worker died" in done.stderr


def _double(shared: int, n: int) -> int:
    return shared * n


def test_one_job_runs_the_folds_here_in_order() -> None:
    assert fold_map(_double, 3, [1, 2, 3], jobs=1) == [3, 6, 9]
    assert fold_map(_double, 3, [], jobs=4) == []


def test_no_more_workers_than_folds_and_at_least_one_job() -> None:
    assert workers(8, 3) <= 3
    assert workers(8, 0) == 1
    # Asked for more than the cores, no more than the cores: a mistyped --jobs 1000 must
    # not fork a thousand copies of the data set.
    assert workers(1000, 1000) <= cores()
    # Unasked, one per core but not one per core of a many-core server.
    assert 1 <= workers(None, 1000) <= min(DEFAULT_MAX, cores())
    with pytest.raises(ValueError, match="at least 1"):
        workers(0, 10)


def test_no_fork_while_another_thread_runs() -> None:
    # A fork copies only the forking thread: a lock another thread held would stay
    # held in the child for ever.
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert workers(4, 100) == 1
    finally:
        stop.set()
        other.join()


def test_no_fork_on_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    # fork is offered there, but a forked child of a process that has touched the
    # system frameworks can crash: the folds run in this process instead.
    monkeypatch.setattr(sys, "platform", "darwin")
    assert workers(4, 100) == 1
    assert fold_map(lambda shared, n: shared + n, 10, [1, 2, 3], jobs=4) == [11, 12, 13]


def _eval_cv(jobs: int) -> dict[str, object]:
    args = ["eval", "--cv", "--jobs", str(jobs), str(HOLDOUT_2), str(HOLDOUT_3), "--format", "json"]
    done = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_eval_cv_gives_the_same_figures_on_one_core_or_two() -> None:
    one, two = _eval_cv(1), _eval_cv(2)
    assert one == two
    assert one["leave_one_pledge_out"]["tp"] > 0  # type: ignore[index]
