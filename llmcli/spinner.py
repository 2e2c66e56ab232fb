"""A one-line "what is the model doing" indicator on stderr, for terminals only.

Loading a provider SDK and waiting for the first token can take a second or
more of silence (``import anthropic`` alone is ~1.4 s), and a reasoning model
may think for a minute before its first word.  When stderr is a terminal, a
one-line spinner says what is happening, and where:

- ``waiting for lmstudio (localhost:1234)`` — the request is out, nothing came back yet;
- ``thinking · 1,204 characters of reasoning`` — reasoning arrives (never shown: it is not the answer);
- ``receiving from lmstudio (localhost:1234) · 58 characters`` — the answer arrives but goes
  elsewhere (``| pbcopy``, ``-o``, ``--json``).

It names the *profile* and the host of its base URL, not the provider kind:
the ``lmstudio`` profile may point at any server.  It appears only after a
short delay (fast answers show nothing) and erases its line before anything
else is written.  stdout is never touched.

:class:`SpinningWriter` wraps the answer's writer and moves the spinner from
state to state; while the answer goes to the same terminal, the spinner stops
at the first word.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

WAITING = "waiting"
THINKING = "thinking"
RECEIVING = "receiving"

#: Seconds of waiting after which the line also says how long it has been.
SHOW_ELAPSED_AFTER = 3.0


def host_of(base_url: str | None) -> str:
    """``host:port`` of a base URL as written (``localhost:1234``, ``api.groq.com``); never its userinfo."""
    if not base_url:
        return ""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a malformed port: show no host rather than fail a call over a label
        return ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None and host else host


def describe(profile: str, base_url: str | None) -> str:
    """``profile (host)``, or just the profile when there is no base URL."""
    host = host_of(base_url)
    return f"{profile} ({host})" if host else profile


class Spinner:
    """Draws ``⠋ <state line>`` on ``stream`` from a thread until stopped; erases its line on stop.

    Build one with :meth:`waiting`; :meth:`thinking` and :meth:`receiving`
    change what it says (from any thread).  :meth:`line` is the pure draw
    function (what the next frame will say), so tests need no timing.
    A plain ``Spinner("label")`` still shows a fixed label.
    """

    def __init__(
        self,
        label: str = "",
        stream: TextIO | None = None,
        *,
        delay: float = 0.3,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.detail = ""  # appended to a fixed label (the older interface)
        self.where = ""
        self.state: str | None = None
        self.chars = 0
        self.reasoning_chars = 0
        self.reasoning_tokens: int | None = None
        self.since = clock()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._drawn = False
        self._thread: threading.Thread | None = None

    # -- what it says ---------------------------------------------------------------

    @classmethod
    def waiting(cls, profile: str, base_url: str | None = None, stream: TextIO | None = None,
                **options: Any) -> Spinner:
        """A spinner saying ``waiting for PROFILE (HOST)``; call :meth:`start` to show it."""
        spinner = cls("", stream, **options)
        spinner.where = describe(profile, base_url)
        spinner.state = WAITING
        return spinner

    def thinking(self, chars: int, tokens: int | None = None) -> None:
        """Reasoning is arriving: ``chars`` so far (``tokens`` when the server counted them)."""
        self.reasoning_chars = chars
        if tokens is not None:
            self.reasoning_tokens = tokens
        self._enter(THINKING)

    def receiving(self, chars: int) -> None:
        """The answer is arriving (and shown elsewhere): ``chars`` so far."""
        self.chars = chars
        self._enter(RECEIVING)

    def _enter(self, state: str) -> None:
        if self.state is None:  # a fixed label: keep it, count after it
            self.detail = (
                f" · {self.chars:,} characters received" if state == RECEIVING
                else f" · thinking ({self.reasoning_chars:,} characters)"
            )
            return
        if self.state != state:
            self.state = state
            self.since = self.clock()

    def line(self, frame: int = 0) -> str:
        """The text of one frame, without terminal codes."""
        return f"{FRAMES[frame % len(FRAMES)]} {self.text()}"

    def text(self) -> str:
        """What the spinner says now."""
        if self.state is None:
            return f"{self.label}{self.detail}"
        if self.state == THINKING:
            amount = (
                f"{self.reasoning_tokens:,} reasoning tokens" if self.reasoning_tokens is not None
                else f"{self.reasoning_chars:,} characters of reasoning"
            )
            return f"thinking · {amount}"
        if self.state == RECEIVING:
            return f"receiving from {self.where} · {self.chars:,} characters"
        waited = self.clock() - self.since
        return f"waiting for {self.where}" + (f" · {waited:.0f} s" if waited >= SHOW_ELAPSED_AFTER else "")

    # -- drawing ------------------------------------------------------------------------

    def start(self) -> Spinner:
        self.since = self.clock()
        self._thread = threading.Thread(target=self._run, name="llmcli-spinner", daemon=True)
        self._thread.start()
        return self

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

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

    def draw(self, frame: int = 0) -> None:
        """Draw one frame now (the thread calls this every ``interval``)."""
        with self._lock:
            if self._stop.is_set():
                return
            self._write(f"\r\x1b[2K\x1b[2m{self.line(frame)}\x1b[0m")
            self._drawn = True

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        frame = 0
        while not self._stop.is_set():
            self.draw(frame)
            frame += 1
            self._stop.wait(self.interval)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self._stop.set()


class SpinningWriter:
    """A Writer that keeps a Spinner saying what is happening until the answer shows (or, off-terminal, until the end).

    The call layer feeds it the answer (:meth:`feed`) and, when the model
    reasons, the reasoning (:meth:`reasoning`): reasoning only moves the
    spinner to "thinking" and is passed on to an inner writer that wants it;
    it never reaches the answer.
    """

    def __init__(self, inner: Any, spinner: Spinner, *, answer_on_terminal: bool) -> None:
        self.inner = inner
        self.spinner = spinner
        self.answer_on_terminal = answer_on_terminal
        self.received = 0
        self.reasoned = 0
        self.started = time.monotonic()

    def reasoning(self, text: str) -> None:
        """A piece of the model's reasoning arrived (a ``ReasoningDelta``)."""
        self.reasoned += len(text)
        if not self.spinner.stopped:
            self.spinner.thinking(self.reasoned)
        forward = getattr(self.inner, "reasoning", None)
        if forward is not None:
            forward(text)

    def reasoning_tokens(self, tokens: int | None) -> None:
        """The server's count of reasoning tokens (``Usage.reasoning_tokens``), when it sends one early."""
        if tokens is not None and not self.spinner.stopped:
            self.spinner.thinking(self.reasoned, tokens)

    def feed(self, text: str) -> None:
        if self.answer_on_terminal:
            self.spinner.stop()
        else:
            self.received += len(text)
            self.spinner.receiving(self.received)
        self.inner.feed(text)

    def finish(self) -> None:
        self.spinner.stop()
        self.inner.finish()

    def abort(self) -> None:
        self.spinner.stop()
        self.inner.abort()
