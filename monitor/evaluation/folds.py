"""Running a fit's independent folds on the machine's cores, results in their order.

Leave-one-pledge-out refits the model once per pledge, and the stacked word readings
once per corpus: hundreds of fits that share one read-only data set. Worker processes
are forked with the data already in memory (it is never pickled), each runs a slice of
the folds, and the results come back in the folds' order, so a run on several cores
gives byte for byte what a run on one does. Where forking is not available or not safe
(no fork start method; macOS, whose system libraries are not safe in a forked child; or
threads running in this process, which a fork could catch holding a lock), the folds run
here, one after another.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from monitor.ingest.parsepool import fork_is_safe

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Workers when the caller does not say: each comes to hold its own copy of much of the
# data set as it touches it (about 150 MB for the 60 corpora here), so a many-core server
# does not start one per core.
DEFAULT_MAX = 8
# What a forked worker runs: set before the fork, inherited, never pickled.
_TASK: tuple[Callable[[Any, Any], Any], Any] | None = None


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers(jobs: int | None, folds: int) -> int:
    """How many processes run `folds` folds: `jobs` (DEFAULT_MAX when None), never more
    than there are cores or folds (more would only share the cores and copy the data
    again), and 1 where a fork is not available or not safe."""
    wanted = DEFAULT_MAX if jobs is None else jobs
    if wanted < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if not fork_is_safe() or threading.active_count() > 1:
        return 1
    return max(1, min(wanted, cores(), folds))


def fold_map(
    fn: Callable[[Any, T], R], shared: Any, folds: Sequence[T], jobs: int | None = None
) -> list[R]:
    """`[fn(shared, f) for f in folds]`, the folds shared out among `workers(jobs)` forked
    processes that inherit `shared`; `fn` must be a module-level function. A worker that
    dies (killed for memory, say) costs time, not the run: the folds are run again here."""
    n = workers(jobs, len(folds))
    if n == 1:
        return [fn(shared, f) for f in folds]
    global _TASK
    _TASK = (fn, shared)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(n, mp_context=context) as pool:
            # A few slices per worker: folds differ in cost, so one slow slice does not
            # leave the other cores idle at the end.
            return list(pool.map(_run, folds, chunksize=max(1, len(folds) // (4 * n))))
    except BrokenProcessPool:
        log.warning("a fold worker died; running the %d folds in this process", len(folds))
        return [fn(shared, f) for f in folds]
    finally:
        _TASK = None


def _run(fold: Any) -> Any:
    assert _TASK is not None, "fold_map sets the task before the workers fork"
    fn, shared = _TASK
    return fn(shared, fold)


__all__ = ["cores", "fold_map", "workers"]
