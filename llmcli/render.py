"""Where the answer goes: raw bytes to a pipe, live Markdown to a terminal, or nothing (JSON/file).

The mode is chosen once, at the start of a call, by :func:`choose_mode`, the
way Rich's Console decides once whether it talks to a terminal; every writer
then has the same three methods (``feed``, ``finish``, ``abort``).
Rich is imported only by the terminal writers, so a pipe never pays for it.
"""

from __future__ import annotations

import sys
from typing import Protocol

from .errors import StdoutClosed
from .terminal import is_closed_error, stdout_is_terminal

RAW, MARKDOWN, PLAIN, SILENT = "raw", "markdown", "plain", "silent"


class Writer(Protocol):
    def feed(self, text: str) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


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
        return RawWriter()  # --no-markdown on a terminal: the same plain stream, no Rich at all
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
                self.buffer.write(text.encode("utf-8", "surrogateescape"))
                self.buffer.flush()
            else:
                self.stream.write(text)
                self.stream.flush()
        except (OSError, ValueError) as exc:
            if is_closed_error(exc, self.stream):
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


class Capture:
    """A writer stage keeping a copy of the text it passes on.

    Wrap the outermost writer with it, and an interrupted or failed stream
    can still be recorded with what arrived (``capture.text``).  Here, not in
    ``history``: single mode wraps every answer, and the history package
    brings sqlite3 with it (a call that is not logged must not pay for it).
    """

    def __init__(self, inner: Writer) -> None:
        self.inner = inner
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, text: str) -> None:
        self.parts.append(text)
        self.inner.feed(text)

    def finish(self) -> None:
        self.inner.finish()

    def abort(self) -> None:
        self.inner.abort()
