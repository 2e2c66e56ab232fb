"""Where the answer goes: raw bytes to a pipe, live Markdown to a terminal, or nothing (JSON/file).

The mode is chosen once, at the start of a call, by :func:`choose_mode`, the
way Rich's Console decides once whether it talks to a terminal; every writer
then has the same three methods (``feed``, ``finish``, ``abort``).
Rich is imported only by the terminal writers, so a pipe never pays for it.
"""

from __future__ import annotations

import os
import sys
from typing import Protocol

from .errors import StdoutClosed  # noqa: F401  (re-exported: writers raise it)
from .status import isatty

RAW, MARKDOWN, PLAIN, SILENT = "raw", "markdown", "plain", "silent"


class Writer(Protocol):
    def feed(self, text: str) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


def stdout_is_terminal() -> bool:
    """Rich's rule: TTY_COMPATIBLE, then FORCE_COLOR (non-empty: a terminal; set but empty: not), then isatty()."""
    compatible = os.environ.get("TTY_COMPATIBLE")
    if compatible in ("0", "1"):
        return compatible == "1"
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return bool(force)
    return isatty(sys.stdout)


def choose_mode(*, raw: bool, markdown: bool, silent: bool) -> str:
    """silent (--json/-o) > raw (--raw or not a terminal) > plain (--no-markdown) > markdown."""
    if silent:
        return SILENT
    if raw or not stdout_is_terminal():
        return RAW
    return MARKDOWN if markdown else PLAIN


def make_writer(mode: str) -> Writer:
    if mode == SILENT:
        return NullWriter()
    if mode == RAW:
        return RawWriter()
    if mode == PLAIN:
        return PlainTerminalWriter()
    from .markdown_live import LiveMarkdownWriter

    return LiveMarkdownWriter()


class NullWriter:
    """--json and -o: the answer is delivered at the end, by the caller."""

    def feed(self, text: str) -> None:
        pass

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


class RawWriter:
    """The answer byte-exact (UTF-8 whatever the locale), flushed per delta, ending with one newline."""

    def __init__(self, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.buffer = getattr(self.stream, "buffer", None)
        self.last = ""

    def feed(self, text: str) -> None:
        if not text:
            return
        self.last = text
        try:
            if self.buffer is not None:
                self.stream.flush()
                self.buffer.write(text.encode("utf-8"))
                self.buffer.flush()
            else:
                self.stream.write(text)
                self.stream.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise StdoutClosed() from exc
        except OSError as exc:
            if exc.errno in (32, 22):  # EPIPE, EINVAL on some closed pipes
                raise StdoutClosed() from exc
            raise

    def finish(self) -> None:
        if self.last and not self.last.endswith("\n"):
            self.feed("\n")

    def abort(self) -> None:
        """Ctrl-C or an error mid-answer: what was printed stays; end the line so the prompt is clean."""
        try:
            self.finish()
        except StdoutClosed:
            pass


def write_stdout(text: str) -> None:
    """A command's whole output (a listing, a JSON object, a diff) on stdout, as RawWriter writes answers."""
    writer = RawWriter()
    writer.feed(text)
    writer.finish()


class PlainTerminalWriter(RawWriter):
    """--no-markdown on a terminal: the same plain stream (no Rich at all)."""


def silence_stdout() -> None:
    """After the reader of stdout left: point fd 1 at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
