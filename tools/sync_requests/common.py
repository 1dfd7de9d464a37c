"""What every part of the sync shares: its one error type, defaults, and small helpers."""

from __future__ import annotations

import os
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


def atomic_write(path: str, text: str) -> None:
    """Write via a temp file in the same directory + fsync + os.replace."""
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
