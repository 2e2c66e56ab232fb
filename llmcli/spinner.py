"""A small "waiting for the model" indicator on stderr, for terminals only.

Loading a provider SDK and waiting for the first token can take a second or
more of silence (``import anthropic`` alone is ~1.4 s).  When stderr is a
terminal, a one-line spinner says what llmcli is waiting for; it appears only
after a short delay (fast answers show nothing), and erases its line before
anything else is written.  stdout is never touched.

It wraps the writer: while the answer goes to the same terminal, the spinner
stops at the first word; while it goes to a pipe or a file (``| pbcopy``,
``-o``, ``--json``), it keeps spinning with a count of what has arrived.
"""

from __future__ import annotations

import sys
import threading
import time


FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Spinner:
    """Draws ``⠋ label`` on ``stream`` from a thread until stopped; erases its line on stop."""

    def __init__(self, label: str, stream=None, *, delay: float = 0.3, interval: float = 0.1) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.interval = interval
        self.detail = ""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._drawn = False
        self._thread: threading.Thread | None = None

    def start(self) -> "Spinner":
        self._thread = threading.Thread(target=self._run, name="llmcli-spinner", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop drawing and erase the line; safe to call more than once, from any state."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1)
        with self._lock:
            if self._drawn:
                self._write("\r\x1b[2K")
                self._drawn = False

    def print_above(self, line: str) -> None:
        """Write a status line without tearing the spinner's line (it is redrawn below on the next tick)."""
        with self._lock:
            self._write(("\r\x1b[2K" if self._drawn else "") + line + "\n")
            self._drawn = False

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        frame = 0
        while not self._stop.is_set():
            with self._lock:
                if self._stop.is_set():
                    break
                text = f"{FRAMES[frame % len(FRAMES)]} {self.label}{self.detail}"
                self._write(f"\r\x1b[2K\x1b[2m{text}\x1b[0m")
                self._drawn = True
            frame += 1
            self._stop.wait(self.interval)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self._stop.set()


class SpinningWriter:
    """A Writer that keeps a Spinner going until the answer shows (or, off-terminal, until the end)."""

    def __init__(self, inner, spinner: Spinner, *, answer_on_terminal: bool) -> None:
        self.inner = inner
        self.spinner = spinner
        self.answer_on_terminal = answer_on_terminal
        self.received = 0
        self.started = time.monotonic()

    def feed(self, text: str) -> None:
        if self.answer_on_terminal:
            self.spinner.stop()
        else:
            self.received += len(text)
            self.spinner.detail = f" · {self.received:,} characters received"
        self.inner.feed(text)

    def finish(self) -> None:
        self.spinner.stop()
        self.inner.finish()

    def abort(self) -> None:
        self.spinner.stop()
        self.inner.abort()
