"""What can go wrong with the history file, said in one line that tells the user what to do.

The history must never cost an answer: recording and cache look-ups turn
every fault into one warning (once per process) and carry on unlogged;
commands that exist to read the history (``history``, ``last``, ``-c``) fail
with :class:`HistoryError`, one line and exit 2.  Both say the same things,
built here: which file, what is wrong, and the command that fixes it.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
from pathlib import Path

from .. import status
from ..errors import UsageError, one_line

LOCKED, CORRUPT, UNWRITABLE, FULL, NEWER, FAILED = "locked", "corrupt", "unwritable", "full", "newer", "failed"

OFF_HINT = "or turn logging off (log = false in the config, --no-log, LLMCLI_NO_LOG=1)"

_warned = False
_warn_lock = threading.Lock()


class HistoryError(UsageError):
    """A history command cannot read or change the history file (exit 2); the message names the file."""


def kind_of(exc: BaseException) -> str:
    """The kind of fault an exception from sqlite3 or the file system means."""
    from .schema import NewerSchema

    if isinstance(exc, NewerSchema):
        return NEWER
    if isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return LOCKED
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return CORRUPT
        if "full" in text:
            return FULL
        if "readonly" in text or "read-only" in text or "unable to open" in text or "permission" in text:
            return UNWRITABLE
        return FAILED
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return FULL
        return UNWRITABLE
    return FAILED


def describe(exc: BaseException, path: Path, *, timeout: float | None = None) -> str:
    """What is wrong with ``path`` and what to do, one line (no "warning:" or "error:" prefix)."""
    kind = kind_of(exc)
    if kind == LOCKED:
        waited = f" for {timeout:g} s" if timeout is not None else ""
        return f"{path} is locked by another program{waited}; try again when it is done"
    if kind == CORRUPT:
        return (f"{path} is not a readable history database ({one_line(str(exc))}); "
                "run 'llmcli history repair' to move it aside and start a new one")
    if kind == FULL:
        return f"the disk holding {path} is full; free some space ({OFF_HINT})"
    if kind == NEWER:
        return f"{path} was written by a newer llmcli ({exc}); upgrade llmcli to log into it"
    if kind == UNWRITABLE:
        reason = one_line(exc.strerror or str(exc)) if isinstance(exc, OSError) else one_line(str(exc))
        where = getattr(exc, "filename", None) or path
        if isinstance(exc, OSError) and exc.errno in (errno.ENOTDIR, errno.EEXIST):
            return f"cannot write {where} (not a directory); move that file out of the way {OFF_HINT}"
        return f"cannot write {where} ({reason}); check the directory's permissions {OFF_HINT}"
    return f"{path}: {type(exc).__name__}: {one_line(str(exc))}; run 'llmcli history repair' if it persists"


NOT_LOGGED = "this call was not logged"
NO_CACHE = "the cache was not consulted"


def warn_once(exc: BaseException, path: Path, *, timeout: float | None = None, what: str = NOT_LOGGED) -> None:
    """The one warning a process prints about its history (later faults stay silent)."""
    global _warned
    with _warn_lock:
        if _warned:
            return
        _warned = True
    status.warn(f"history: {what}: {describe(exc, path, timeout=timeout)}")


def reset_warning() -> None:
    """Let the next fault warn again (for tests, and for a long-lived process starting a new run)."""
    global _warned
    with _warn_lock:
        _warned = False


def error(exc: BaseException, path: Path, *, timeout: float | None = None) -> HistoryError:
    """The one-line error of a history command."""
    return HistoryError(f"history: {describe(exc, path, timeout=timeout)}")
