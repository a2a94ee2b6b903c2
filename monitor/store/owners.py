"""Who holds a lease: process names (`host:pid:tag@scope`) and proof that an owner is dead.

Every lease (a polled feed, a digest being sent) names its owner, so another process can
take it back once it can prove the owner is gone. `scope` names the pid namespace on one
boot of one machine: a pid means something only within it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlmodel import col

from monitor.store.db import Database, as_utc
from monitor.store.models import DaemonHeartbeat

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
PID_NAMESPACE = "/proc/self/ns/pid"
# A daemon hard-exits within 9.5 s of its stop signal, after writing `stopped_at`; the
# rest is a margin for the clocks of two hosts.
STOPPED_EXIT = timedelta(seconds=30)


@functools.cache
def process_scope() -> str:
    """This process's pid namespace on this boot of this machine, hashed ('' if unknown).

    Two containers reuse the same pids, two machines may share a host name, and a reboot
    starts pids afresh; two processes with the same scope see the same pids.
    """
    try:
        boot = BOOT_ID.read_text(encoding="ascii").strip()
        namespace = os.readlink(PID_NAMESPACE)
    except OSError:
        return ""
    return hashlib.sha256(f"{boot}/{namespace}".encode()).hexdigest()[:12]


def owner_name(tag: str) -> str:
    """`host:pid:tag@scope`, naming this process on its heartbeat and leases."""
    scope = process_scope()
    name = f"{socket.gethostname()}:{os.getpid()}:{tag}"
    return f"{name}@{scope}" if scope else name


@dataclass(frozen=True)
class OwnerName:
    """What a lease owner's name says about where it ran."""

    host: str
    pid: int | None
    scope: str  # '' when the name does not say (older names, other systems)


def parse_owner(owner: str) -> OwnerName:
    parts = owner.split(":", 2)
    pid = int(parts[1]) if len(parts) > 1 and parts[1].isascii() and parts[1].isdigit() else None
    tail = parts[2] if len(parts) > 2 else ""
    return OwnerName(host=parts[0], pid=pid, scope=tail.rpartition("@")[2] if "@" in tail else "")


def pid_running(pid: int) -> bool:
    """Whether a process with this pid exists here (a zombie or another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, and is not ours
        return True
    return True


def why_dead(
    owner: str,
    *,
    beat: DaemonHeartbeat | None,
    now: datetime,
    here: OwnerName | None = None,
    running: Callable[[int], bool] = pid_running,
) -> str | None:
    """Why the process named `owner` is certainly gone, or None when it may still run.

    Proof is a heartbeat marked stopped long enough ago for the process to have exited,
    or a pid that no longer exists in this very pid namespace (same host and scope). A
    heartbeat that merely went quiet proves nothing: a daemon cut off from the database
    may still be talking to the SMTP server, so its leases run their course.
    """
    if beat is not None and beat.stopped_at is not None:
        stopped = as_utc(beat.stopped_at)
        if stopped is not None and now - stopped >= STOPPED_EXIT:
            return f"its daemon stopped at {stopped:%Y-%m-%d %H:%M:%S} UTC"
    name = parse_owner(owner)
    here = here or parse_owner(owner_name("self"))
    if (
        name.pid is not None
        and name.pid > 0  # kill(0) would mean our process group
        and here.scope
        and (name.host, name.scope) == (here.host, here.scope)
        and not running(name.pid)
    ):
        return f"pid {name.pid} no longer runs on {name.host}"
    return None


def dead_owners(db: Database, owners: Iterable[str], *, now: datetime, me: str) -> dict[str, str]:
    """The owners among `owners` (not `me`) proven dead, with the proof."""
    wanted = sorted({o for o in owners if o and o != me})
    if not wanted:
        return {}
    with db.session() as session:
        beats = {
            b.id: b
            for b in session.execute(
                select(DaemonHeartbeat).where(col(DaemonHeartbeat.id).in_(wanted))
            ).scalars()
        }
    out = {}
    for owner in wanted:
        reason = why_dead(owner, beat=beats.get(owner), now=now)
        if reason is not None:
            out[owner] = reason
    return out
