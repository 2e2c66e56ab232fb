"""``--show-reasoning``: the model's thinking, dim on stderr as it arrives, set apart from the answer.

stdout carries the answer only, so the thinking can only ever go to stderr: it reads
like the answer's preamble on a terminal, and ``2>/dev/null`` drops it.  It is framed
by a ``thinking:`` line before and a blank line after, so that when both streams are
the same terminal the answer visibly starts after it.  Colour (dim) follows the
terminal module's stderr rule; without colour the frame alone separates them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from .errors import scrub
from .terminal import stderr_colour

DIM, RESET = "\x1b[2m", "\x1b[0m"


class ReasoningDisplay:
    """A writer wrapper: ``reasoning(text)`` prints thinking on stderr; the answer's first text closes the block."""

    def __init__(self, inner, *, before_first: Callable[[], None] | None = None, stream=None) -> None:
        self.inner = inner
        self.stream = stream if stream is not None else sys.stderr
        self.before_first = before_first  # e.g. take a spinner off the line
        self.colour = stderr_colour()
        self.open = False
        self.last = ""

    def reasoning(self, text: str) -> None:
        if not text:
            return
        if not self.open:
            if self.before_first is not None:
                self.before_first()
            self._write(self._dim("thinking:") + "\n")
            self.open = True
        self.last = text
        self._write(self._dim(scrub(text)))

    def end(self) -> None:
        """The thinking is over (the answer starts, or the call ended): finish its line, leave a blank one."""
        if self.open:
            self._write(("" if self.last.endswith("\n") else "\n") + "\n")
            self.open = False

    # -- the Writer protocol: the answer goes on, after the thinking -------------------------

    def feed(self, text: str) -> None:
        self.end()
        self.inner.feed(text)

    def finish(self) -> None:
        self.end()
        self.inner.finish()

    def abort(self) -> None:
        self.end()
        self.inner.abort()

    def _dim(self, text: str) -> str:
        return f"{DIM}{text}{RESET}" if self.colour else text

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # stderr closed: the thinking was only ever a courtesy
