"""Whether a stream is a terminal, whether it may be coloured, and whether its reader has gone.

Decided here and nowhere else (render, the spinner, status lines, batch
progress, the diff view, the live Markdown writer, inputs and the CLI all
ask), the way Rich's Console decides once for its own output:

- **What stdout carries** depends only on what stdout is: a real terminal gets
  the rendered answer, anything else (a pipe, a file, ``TERM=dumb``) the raw
  text.  Colour variables (``FORCE_COLOR``) never turn a pipe into a terminal
  rendering: ``FORCE_COLOR=1 llmcli … > out.md`` still writes Markdown, and a
  ``--diff`` into a file is still a patch.  ``TTY_COMPATIBLE=1``/``0`` (Rich's
  own switch for "treat this as a terminal") is honoured.
- **Colour** on a terminal: off with ``NO_COLOR``; ``FORCE_COLOR`` may colour
  stderr (status lines, progress) even when it is not a terminal.
- **The reader went away** (``| head -1``, a closed terminal): one errno set,
  and one way to stop quietly (:func:`silence_stdout`).
- **A stream the shell closed** (``>&-``, ``<&-``, ``2>&-``): stand-ins made
  once at start (:func:`guard_closed_streams`), so that no traceback and no
  misdirected write can follow.

Kept free of Rich: the status lines of every error path import it.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from typing import Any

from .errors import InputError, StdoutClosed

#: errno values meaning the reader of a stream went away (EIO: the terminal was hung up;
#: EINVAL: some closed pipes).
CLOSED_ERRNOS = frozenset({errno.EPIPE, errno.EINVAL, errno.EIO})


def isatty(stream: Any) -> bool:
    """Whether a stream is a terminal; False for None, a closed stream or a stand-in without isatty()."""
    try:
        return stream is not None and bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _dumb() -> bool:
    return os.environ.get("TERM") == "dumb"


def stdout_is_terminal() -> bool:
    """Whether stdout gets the terminal rendering: a real terminal, not ``TERM=dumb``.

    ``TTY_COMPATIBLE=1``/``0`` (Rich's own switch) decides first.
    """
    compatible = os.environ.get("TTY_COMPATIBLE")
    if compatible in ("0", "1"):
        return compatible == "1"
    return not _dumb() and isatty(sys.stdout)


def stderr_is_terminal() -> bool:
    """Whether stderr may carry live drawings (a spinner, a progress bar): a real terminal, not ``TERM=dumb``."""
    return not _dumb() and isatty(sys.stderr)


def stdin_is_terminal() -> bool:
    """Whether stdin is a person at a keyboard (so nothing is piped in); a closed stdin counts as one."""
    return sys.stdin is None or isinstance(sys.stdin, ClosedStream) or isatty(sys.stdin)


def stdout_is_closed() -> bool:
    """Whether the shell closed stdout (``>&-``): an answer printed there would be lost; check before paying for it."""
    return sys.stdout is None or isinstance(sys.stdout, ClosedStream)


def stderr_colour() -> bool:
    """Colour on stderr: never with ``NO_COLOR``; always with a non-empty ``FORCE_COLOR``; else on a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stderr_is_terminal()


def is_closed_error(exc: BaseException, stream: Any = None) -> bool:
    """Whether ``exc`` (raised writing to ``stream``) means the reader went away."""
    if isinstance(exc, BrokenPipeError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in CLOSED_ERRNOS
    if isinstance(exc, ValueError):  # "I/O operation on closed file"; any other ValueError is a bug
        return stream is None or bool(getattr(stream, "closed", False))
    return False


def silence_stdout() -> None:
    """After the reader of stdout left: point fd 1 at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def stdout_console(stream: Any = None, **options: Any) -> Any:
    """A Rich Console for the terminal on stdout (or ``stream``), its decision already made here.

    ``force_terminal`` because :func:`stdout_is_terminal` decided (Rich's own
    rule would also obey ``FORCE_COLOR``); ``NO_COLOR`` is left to Rich.  A
    broken pipe raises :class:`llmcli.errors.StdoutClosed` rather than Rich's
    own reaction (pointing fd 1 at /dev/null and raising SystemExit).
    """
    from rich.console import Console

    console = Console(file=stream if stream is not None else sys.stdout, force_terminal=True, **options)

    def on_broken_pipe() -> None:
        console.quiet = True
        raise StdoutClosed()

    console.on_broken_pipe = on_broken_pipe  # type: ignore[method-assign]
    return console


def stderr_console() -> Any:
    """A Rich Console on stderr: a terminal when stderr is one; colour by :func:`stderr_colour`."""
    from rich.console import Console

    return Console(stderr=True, force_terminal=stderr_is_terminal(), no_color=not stderr_colour())


# -- standard streams the shell closed ------------------------------------------------------------


class ClosedStream(io.TextIOBase):
    """Stands for a standard stream that was closed when llmcli started (``<&-``, ``>&-``, ``2>&-``).

    Python leaves ``sys.stdin``/``stdout``/``stderr`` None then, and every
    ``print`` or ``sys.stdout.write`` would be an AttributeError.  Reading
    (stdin) and writing (stdout) raise one clear error instead; stderr, with
    nowhere left to report, discards.
    """

    def __init__(self, name: str, *, discard: bool = False) -> None:
        super().__init__()
        self.name = name
        self._discard = discard

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def _closed_error(self) -> Exception:
        if self.name == "stdin":
            return InputError("standard input is closed (<&-): there is nothing to read")
        return StdoutUnavailable("standard output is closed (>&-): nothing can be written to it")

    def readable(self) -> bool:
        return self.name == "stdin"

    def writable(self) -> bool:
        return self.name != "stdin"

    def read(self, size: int | None = -1) -> str:
        raise self._closed_error()

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]  # a text stream's readline
        raise self._closed_error()

    def write(self, text: str) -> int:
        if self._discard:
            return len(text)
        raise self._closed_error()

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation(f"{self.name} is closed")


class StdoutUnavailable(StdoutClosed):
    """Stdout was closed from the start (``>&-``): stop as for a vanished reader, but say why."""


def guard_closed_streams() -> list[str]:
    """Give each standard stream that was closed at start a stand-in; return their names.

    The descriptor itself is pointed at /dev/null: otherwise the next file or
    socket llmcli opens takes its number, and a child process (``api_key_cmd``)
    or a stray write to fd 1 would reach an HTTP connection or the ``-o``
    file.  Then ``sys.stdin`` reads as closed (so it counts as no input),
    ``sys.stdout`` refuses writes with one error line, ``sys.stderr`` discards.
    """
    closed = []
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        closed.append(name)
        try:
            os.fstat(fd)
        except OSError:
            _point_at_devnull(fd)
        setattr(sys, name, ClosedStream(name, discard=name == "stderr"))
    return closed


def _point_at_devnull(fd: int) -> None:
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    if null != fd:
        os.dup2(null, fd)
        os.close(null)
