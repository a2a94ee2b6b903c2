"""Helpers for parse worker processes: they leave when the process that started them dies."""

from __future__ import annotations

import os
import threading
import time


def exit_with_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Pool initializer: end this worker once its parent is gone (even after a kill -9).

    A worker blocked waiting for work would otherwise outlive a poller that was killed.
    """

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def warm_up() -> None:
    """A first task for a new worker: import the parser before the first body arrives."""
    import feeds.parse  # noqa: F401
