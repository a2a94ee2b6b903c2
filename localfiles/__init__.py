"""Reading a local file a user named: regular files only, under a size cap.

`feeds`, `pledges` and `monitor` all read files a person points them at (a catalogue
folder, an OPML export, a config file, feed files to ingest). Each used to trust the
path: a symlink to /dev/zero grew a process until the kernel killed it, and a FIFO hung
the command forever. This package is the one place that reads such files, below the
three packages (it imports none of them), so each keeps its parsing pure (bytes or text
in) and every read refuses the same things with the same words.

The file is opened with O_NONBLOCK, so opening a FIFO returns at once instead of waiting
for a writer, and the type and size are checked on the open descriptor (fstat), so the
file cannot be swapped between the check and the read. A path that is not a regular
file is refused before it is opened at all, since opening some devices has effects.

LocalFileError          a file was refused or could not be read; `path`, `kind`, message
"""

from __future__ import annotations

import os
import stat

__all__ = ["LocalFileError", "read_local_file", "read_local_text"]

READ_CHUNK = 1 << 20


class LocalFileError(Exception):
    """A local file was refused or unreadable: `kind` is not_found, not_a_file,
    too_large or unreadable; str() is `<path>: <what is wrong>`."""

    def __init__(self, path: str, message: str, *, kind: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message
        self.kind = kind


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check(path: str, st: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise LocalFileError(
            path, f"not a regular file ({_what(st.st_mode)}); refused", kind="not_a_file"
        )
    if st.st_size > max_bytes:
        raise LocalFileError(
            path, f"file is {st.st_size} bytes, over the {max_bytes} byte cap", kind="too_large"
        )


def read_local_file(path: str | os.PathLike[str], *, max_bytes: int) -> bytes:
    """The bytes of the regular file at `path` (symlinks followed), at most `max_bytes`.

    Raises LocalFileError for a missing file, a directory, FIFO, device or socket, a file
    over the cap (also one that grows past it while being read) or a read error.
    """
    name = os.fspath(path)
    try:
        _check(name, os.stat(name), max_bytes)
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(name, flags)
    except FileNotFoundError as exc:
        raise LocalFileError(name, "no such file", kind="not_found") from exc
    except OSError as exc:
        raise LocalFileError(
            name, f"cannot read: {exc.strerror or exc}", kind="unreadable"
        ) from exc
    try:
        _check(name, os.fstat(fd), max_bytes)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, READ_CHUNK):
            total += len(chunk)
            if total > max_bytes:
                raise LocalFileError(
                    name, f"file grew past the {max_bytes} byte cap while read", kind="too_large"
                )
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise LocalFileError(
            name, f"cannot read: {exc.strerror or exc}", kind="unreadable"
        ) from exc
    finally:
        os.close(fd)


def read_local_text(path: str | os.PathLike[str], *, max_bytes: int) -> str:
    """The file at `path` as UTF-8 text (a BOM is dropped); see read_local_file."""
    data = read_local_file(path, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LocalFileError(
            os.fspath(path),
            f"unreadable as UTF-8 text (byte {exc.start} is invalid)",
            kind="unreadable",
        ) from exc
