"""Run `python -m monitor daemon` as a real subprocess, with short intervals set via env."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO

FAST_ENV = {
    "PLEDGEWATCH_DAEMON_POLL_TICK_SECONDS": "1",
    "PLEDGEWATCH_DAEMON_HEARTBEAT_SECONDS": "1",
    "PLEDGEWATCH_DAEMON_DIGEST_CHECK_MINUTES": "1",
    "PLEDGEWATCH_DAEMON_STARTUP_SPREAD_SECONDS": "0",
    "PLEDGEWATCH_DAEMON_LEASE_SECONDS": "30",
    "PLEDGEWATCH_FEEDS_ALLOW_PRIVATE_ADDRESSES": "true",
    "PLEDGEWATCH_FEEDS_CONNECT_TIMEOUT": "4",
    "PLEDGEWATCH_FEEDS_TOTAL_TIMEOUT": "10",
    "PLEDGEWATCH_FEEDS_READ_TIMEOUT": "5",
}


def clean_env(
    db_url: str, extra: dict[str, str] | None = None, unset: tuple[str, ...] = ()
) -> dict[str, str]:
    """The test process's environment without PLEDGEWATCH_*, plus the daemon's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEDGEWATCH_")}
    env.update(FAST_ENV)
    env["PLEDGEWATCH_DB"] = db_url
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    for name in unset:
        env.pop(name, None)
    return env


def cli(
    args: list[str],
    *,
    db_url: str,
    cwd: Path,
    extra: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run one `pledgewatch` command in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], env=clean_env(db_url, extra), cwd=cwd,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


class DaemonProcess:
    """One daemon subprocess; its log goes to a file in `workdir`."""

    def __init__(
        self,
        db_url: str,
        workdir: Path,
        *,
        name: str = "daemon",
        extra: dict[str, str] | None = None,
        args: list[str] | None = None,
        unset: tuple[str, ...] = (),
    ) -> None:
        self.env = clean_env(db_url, extra, unset)
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.args = args or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> DaemonProcess:
        self.runs += 1
        with open(self.log_path, "ab") as log:
            log.write(f"--- run {self.runs}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--log-level", "INFO", *self.args, "daemon"],
                env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def run_log(self) -> str:
        """The log of the current (latest) run only."""
        return self.log().rsplit(f"--- run {self.runs}\n", 1)[-1]

    def wait_log(self, text: str, timeout: float = 20, count: int = 1) -> None:
        """Wait until the current run has logged `text` (`count` times)."""
        wait_for(
            lambda: self.run_log().count(text) >= count,
            timeout,
            f"{text!r} in daemon log",
            on_fail=self.log,
        )

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def terminate(self, timeout: float = 15) -> tuple[int, float]:
        """SIGTERM; returns (exit status, seconds it took to exit)."""
        assert self.proc is not None
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - t0

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def wait(self, timeout: float = 20) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.alive():
            self.kill9()


def wait_for(
    predicate: Callable[[], object],
    timeout: float,
    what: str,
    on_fail: Callable[[], str] | None = None,
    every: float = 0.1,
) -> None:
    """Poll `predicate` until true or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    detail = "\n" + on_fail()[-4000:] if on_fail else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
