"""One daemon per SQLite file, and never on a network filesystem.

SQLite's locks are only as good as the filesystem's: on NFS, CIFS or SSHFS they may be
ignored, and two writers corrupt the file. So the daemon refuses such a file (unless the
operator insists), and takes an exclusive OS lock on `<db file>.daemon.lock` (beside the
file its path resolves to) so that a second daemon on the same file, by whatever name,
refuses to start. The lock is `flock`: the kernel drops it
when the process ends, however it ends (kill -9 included), so a stale lock cannot block a
restart. PostgreSQL needs neither: several daemons share it through row leases.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

MOUNTS_FILE = Path("/proc/mounts")
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb3", "smbfs", "fuse.sshfs", "sshfs", "9p", "afs",
        "ceph", "glusterfs", "fuse.glusterfs", "lustre", "davfs", "fuse.s3fs", "fuse.rclone",
    }
)  # fmt: skip


class DaemonError(Exception):
    """The daemon cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class Mount:
    """One line of /proc/mounts."""

    point: str
    fstype: str
    source: str


def _unescape(field: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def parse_mounts(text: str) -> list[Mount]:
    """The mounts listed in /proc/mounts text."""
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            mounts.append(Mount(point=_unescape(parts[1]), fstype=parts[2], source=parts[0]))
    return mounts


def mount_of(path: Path, mounts: list[Mount]) -> Mount | None:
    """The mount holding `path`: the longest mount point that is a prefix of it."""
    target = str(path)
    best: Mount | None = None
    for m in mounts:
        point = m.point.rstrip("/") or "/"
        inside = target == point or target.startswith(point + "/") or point == "/"
        if inside and (best is None or len(point) > len(best.point.rstrip("/") or "/")):
            best = m
    return best


def read_mounts() -> str:
    try:
        return MOUNTS_FILE.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def check_local_filesystem(db_file: Path, *, allow_network: bool, mounts_text: str) -> None:
    """Refuse (or warn, when allowed) if the database file lives on a network filesystem."""
    # The file may not exist yet; its folder decides.
    where = db_file.resolve() if db_file.exists() else db_file.parent.resolve()
    mount = mount_of(where, parse_mounts(mounts_text))
    if mount is None or mount.fstype not in NETWORK_FILESYSTEMS:
        return
    problem = (
        f"the SQLite database {db_file} is on a {mount.fstype} network filesystem "
        f"({mount.source} at {mount.point}), where file locks are unreliable and two "
        "writers can corrupt it"
    )
    if not allow_network:
        raise DaemonError(
            f"{problem}. Move it to a local disk, or use PostgreSQL (PLEDGEWATCH_DB); "
            "set [daemon] allow_network_filesystem = true only if you accept the risk"
        )
    log.warning("%s; starting anyway (allow_network_filesystem is set)", problem)


def lock_path_for(db_file: Path) -> Path:
    """`<db file>.daemon.lock` beside the file itself, symlinks resolved.

    Two names for one file (a symlink to it, or to a folder above it) must meet at one
    lock, or a second daemon started through the other name runs beside the first.
    """
    real = Path(os.path.realpath(db_file))
    return real.with_name(real.name + ".daemon.lock")


class InstanceLock:
    """Exclusive, non-blocking OS locks on `<db file>.daemon.lock` and on the file itself.

    The lock file says who holds it; the lock on the database file is keyed by its device
    and inode, so a hard link in another folder meets it too. It is a BSD `flock`, which
    on a local filesystem never touches the POSIX locks SQLite takes on the same file.
    """

    def __init__(self, db_file: Path) -> None:
        self.db_file = db_file
        self.path = lock_path_for(db_file)
        self._fh: IO[str] | None = None
        self._db_fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise DaemonError naming the daemon that holds it."""
        try:
            fh = open(self.path, "a+", encoding="utf-8")  # held until release()
        except OSError as exc:
            raise DaemonError(
                f"cannot create the lock file {self.path}: {exc.strerror}; the daemon needs "
                "write access to the database's folder"
            ) from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise DaemonError(
                f"another pledgewatch daemon is already running on {self.db_file} "
                f"(lock {self.path} is held by {holder}); one SQLite file takes one daemon. "
                "Stop the other one, or use PostgreSQL to run several"
            ) from exc
        try:
            self._db_fd = _lock_file_itself(Path(os.path.realpath(self.db_file)))
        except BlockingIOError as exc:
            fh.close()
            raise DaemonError(
                f"another pledgewatch daemon is already running on {self.db_file} under "
                "another name (a hard link to the same file); one SQLite file takes one "
                "daemon. Stop the other one, or use PostgreSQL to run several"
            ) from exc
        except OSError as exc:
            fh.close()
            raise DaemonError(f"cannot open {self.db_file}: {exc.strerror}") from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        # Closed after SQLite's own handles (the daemon disposes of its engine first).
        if self._db_fd is not None:
            os.close(self._db_fd)
            self._db_fd = None
        if self._fh is None:
            return
        try:
            fh = self._fh
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_file_itself(real: Path) -> int:
    """An fd holding an exclusive flock on `real` (created empty if missing, as SQLite would).

    Raises BlockingIOError when another process holds it.
    """
    fd = os.open(real, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd
