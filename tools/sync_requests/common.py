"""What every part of the sync shares: its one error type, defaults, and small helpers."""

from __future__ import annotations

import os
import stat
import tempfile
from typing import Iterable, Optional

TOOL = "tools/sync_requests.py"
DEFAULT_ISSUES = (77764, 141287)
DEFAULT_REPO = "pytorch/pytorch"
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_OUT = "ops/targets.yaml"
DEFAULT_SEED = "ops/targets.seed.yaml"
DEFAULT_CACHE_DIR = ".cache/github"


class SyncError(Exception):
    """A failure reported as one line on stderr; nothing is written."""


def unique(items: Iterable) -> list:
    """The items in order, without repeats (lists compare by value)."""
    seen, out = set(), []
    for item in items:
        key = tuple(item) if isinstance(item, list) else item
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def scrubbable(token: Optional[str]) -> Optional[str]:
    """The token, if long enough to search text for (real GitHub tokens have 40+ chars).

    Redaction is a second line of defence: the token only ever goes into the
    Authorization header.  Scrubbing a 1-char test token would mangle every message.
    """
    return token if token and len(token) >= 8 else None


def _file_kind(mode: int) -> str:
    return ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")


def read_regular(path: str, limit: int, what: str) -> bytes:
    """The bytes of `path` if it is a regular file (after symlinks) of at most `limit` bytes.

    Opened non-blocking, so that a FIFO cannot hang the sync, and checked with fstat before
    anything is read, so that /dev/zero or /proc/self/mem cannot fill memory (the C++
    readers do the same: benchmarks/targets.cpp).  SyncError "<what> PATH is a FIFO, not a
    regular file" & co.; OSError (missing, unreadable) is the caller's.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SyncError(f"{what} {path} is {_file_kind(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise SyncError(f"{what} {path} has {st.st_size} bytes, more than the {limit} "
                            "this sync reads")
        with os.fdopen(fd, "rb") as f:
            fd = -1  # f closes it
            data = f.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:  # grew while being read
        raise SyncError(f"{what} {path} has more than the {limit} bytes this sync reads")
    return data


def output_target(path: str, what: str) -> str:
    """Where writing `path` must go: the file itself, or what its symlinks lead to.

    An existing destination must be a regular file: a FIFO, a device (/dev/stdout through
    /proc/self/fd/1), a directory or a socket is refused instead of being replaced by a file.
    A symlink is written through (it stays a symlink to the new file).
    """
    real = os.path.realpath(path)
    try:
        st = os.stat(path)  # follows symlinks: what a plain open() would write to
    except FileNotFoundError:
        return real
    if not stat.S_ISREG(st.st_mode):
        raise SyncError(f"{what} {path} is {_file_kind(st.st_mode)}, not a regular file: "
                        "pass the path of a file to (re)write")
    return real


def atomic_write(path: str, text: str) -> None:
    """Write via a temp file in the same directory + fsync + os.replace.  `path` names
    the file itself (output_target has resolved symlinks and refused special files)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
