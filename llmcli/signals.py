"""SIGTERM stops llmcli the way Ctrl-C does, and the exit code still tells the two apart.

``kill PID`` (a CI timeout, a service manager, ``timeout 30 llmcli …``) must not
leave a terminal without echo, a half-drawn live region or a batch's in-flight
files unwritten: it is turned into the same KeyboardInterrupt that Ctrl-C raises,
so every clean-up path runs once.  Only the exit code differs: 130 for Ctrl-C,
143 (128 + SIGTERM, what a shell reports for a killed process) for SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from .errors import EXIT_INTERRUPTED, EXIT_TERMINATED

_terminated = threading.Event()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside: SIGTERM raises KeyboardInterrupt in the main thread (and is remembered)."""
    _terminated.clear()
    previous: Any = None
    installed = False
    if threading.current_thread() is threading.main_thread():

        def handler(signum: int, frame: Any) -> None:
            _terminated.set()
            raise KeyboardInterrupt

        try:
            previous = signal.signal(signal.SIGTERM, handler)
            installed = True
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        if installed:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGTERM, previous)


def interrupted_exit_code() -> int:
    """143 if the interruption was a SIGTERM, else 130 (Ctrl-C)."""
    return EXIT_TERMINATED if _terminated.is_set() else EXIT_INTERRUPTED


def interrupted_word() -> str:
    return "terminated" if _terminated.is_set() else "interrupted"
