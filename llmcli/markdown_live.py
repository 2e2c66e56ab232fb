"""Stream an answer to a terminal as Markdown, rendered by Rich, while it arrives.

Loaded only in markdown mode (it imports Rich).  The design, and why:

* **Finished blocks are printed once, for good.**  :class:`~llmcli.markdown_blocks.BlockSplitter`
  says which top-level blocks can no longer change; they go through
  ``console.print`` and scroll up like any output.  Redrawing the whole answer
  in a ``Live`` instead is quadratic and leaves duplicated lines in the
  scrollback as soon as the answer is taller than the window.
* **Only the unfinished last block is live**, in a ``Live(transient=True,
  auto_refresh=False)`` refreshed from :meth:`LiveMarkdownWriter.feed` at most
  ``refresh_per_second`` times, plus one trailing refresh from a small thread
  when the stream stalls (otherwise the last words would stay invisible).
* **The preview costs the window, not the block**: it renders only the last
  rows' worth of the block's source (lines, and characters: a paragraph may
  have no line break), and refreshes are spaced so that drawing takes at most
  ``busy_share`` of the time (a screenful of highlighted code takes ~60 ms;
  refreshing it on every delta made a 2,000-line fence quadratic).
* **The live part is never taller than the window minus one row**: we crop it
  ourselves, because every ``vertical_overflow`` mode of ``Live`` misbehaves on
  tall content (duplicated or frozen rows).  Everything is committed with
  ``console.print`` *before* ``Live.stop()``, which would otherwise repaint a
  tall tail in full.
* **Keys typed meanwhile are not echoed** (they would corrupt the live region;
  ``ISIG`` stays on so Ctrl-C still works), and the terminal mode and the
  cursor are restored whatever happens.

Off a terminal (or on a console that is not interactive) there is no ``Live``:
blocks are printed as they are finished, with no cursor movement at all.
"""

from __future__ import annotations

import os
import threading
import time

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.segment import Segment, Segments

from .errors import StdoutClosed
from .markdown_blocks import BlockSplitter, Chunk, render_chunk
from .terminal import is_closed_error, stdout_console


class _TailView:
    """The renderable shown by the ``Live``: reads the writer's tail *when rendered*.

    A fixed renderable would go stale: each commit goes through the Live's
    render hook, which redraws the live region right after the committed text;
    a stale copy would show the just-committed block a second time.
    """

    def __init__(self, writer: LiveMarkdownWriter) -> None:
        self._writer = writer

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for index, line in enumerate(self._writer._preview_lines(console, options)):
            if index:
                yield Segment.line()
            yield from line


class LiveMarkdownWriter:
    """Writer (see :class:`llmcli.render.Writer`) that shows the answer as rendered Markdown.

    The final output is exactly what ``console.print(Markdown(answer))`` would
    print, block by block; on a real interactive terminal the block being
    written is previewed live below the finished ones.

    ``console``: defaults to :func:`llmcli.terminal.stdout_console` (the
    caller has decided stdout is a terminal; Rich applies ``NO_COLOR``).  ``live``: ``None`` decides
    automatically -- a console we create gets a ``Live`` only if it is
    interactive *and* stdout really is a tty (``FORCE_COLOR=1`` with stdout
    redirected would otherwise write cursor movements into a file); a console
    passed in is taken at its word (``is_terminal`` and ``is_interactive``).
    """

    def __init__(self, console: Console | None = None, *, refresh_per_second: float = 10,
                 live: bool | None = None, busy_share: float = 0.2) -> None:
        if not refresh_per_second > 0:
            raise ValueError("refresh_per_second must be > 0")
        if not 0 < busy_share <= 1:
            raise ValueError("busy_share must be in (0, 1]")
        own_console = console is None
        self.console = stdout_console() if console is None else console
        self._interval = 1.0 / refresh_per_second
        self._busy_share = busy_share
        self._gap = self._interval  # the time to leave after a refresh: the interval, or more if drawing is slow
        self._refresh_per_second = refresh_per_second
        self._blocks = BlockSplitter()
        self._use_live = _wants_live(self.console, own_console) if live is None else bool(live)
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._live: Live | None = None
        self._live_started = False
        self._unprinted: Chunk | None = None  # handed out by the splitter, not yet fully printed
        self._last_refresh = 0.0
        self._dirty = False
        self._stopping = False
        self._closed = False
        self._done = False
        self._tty_fd: int | None = None
        self._tty_saved: list | None = None
        # Rich's own reaction to a broken pipe is to point fd 1 at /dev/null and raise SystemExit;
        # we want the caller's StdoutClosed instead (restored in _teardown).
        self._had_pipe_handler = "on_broken_pipe" in vars(self.console)
        self._saved_pipe_handler = vars(self.console).get("on_broken_pipe")
        self.console.on_broken_pipe = self._on_broken_pipe  # type: ignore[method-assign]

    # -- the Writer protocol -------------------------------------------------------------------

    def feed(self, text: str) -> None:
        if self._closed:  # possibly noticed by the refresh thread
            self._raise_if_closed(StdoutClosed())
        if not text or self._done:
            return
        with self._lock:
            try:
                chunk = self._blocks.feed(text)
                if self._use_live and not self._live_started and self._blocks.has_text:
                    self._start_live()
                if chunk is not None:
                    self._commit(chunk)
                if self._live is not None:
                    self._schedule_refresh(committed=chunk is not None)
            except Exception as exc:
                self._raise_if_closed(exc)
                raise

    def finish(self) -> None:
        """Print what is left, take the live region down; the screen then shows exactly the document."""
        if self._done:
            if self._closed:
                raise StdoutClosed()
            return
        self._done = True
        try:
            try:
                self._stop_and_commit_rest()
            except Exception as exc:
                self._raise_if_closed(exc)
                raise
        finally:
            self._teardown()
        if self._closed:
            raise StdoutClosed()

    def abort(self) -> None:
        """Ctrl-C or an error mid-answer: keep what arrived on screen, restore the terminal; never raises."""
        if self._done:
            return
        self._done = True
        try:
            self._stop_and_commit_rest()
        except (Exception, KeyboardInterrupt) as exc:  # a second Ctrl-C must not skip the cleanup
            self._note_closed(exc)
        finally:
            try:
                self._teardown()
            except (Exception, KeyboardInterrupt):
                pass

    # -- printing --------------------------------------------------------------------------------

    def _commit(self, chunk: Chunk) -> None:
        """Print finished blocks; until that succeeded they are kept, so an interrupt cannot lose them.

        Rendering a big block takes a while, and nothing is written before it
        is complete: a Ctrl-C landing there would otherwise drop text that the
        splitter already removed from the tail.
        """
        self._unprinted = chunk
        self._print_chunk(chunk)
        self._unprinted = None

    def _stop_and_commit_rest(self) -> None:
        """Stop the refresh thread, then print everything not yet printed (finish and abort alike)."""
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
            self._commit_rest()

    def _commit_rest(self) -> None:
        """The end (or an interrupt): print an interrupted commit, then everything still in the tail."""
        if self._closed:
            return
        if self._unprinted is not None:
            self._commit(self._unprinted)
        self._commit(self._blocks.flush())

    def _print_chunk(self, chunk: Chunk) -> None:
        """Print finished blocks for good (with a Live running, its hook redraws the tail below them)."""
        if not chunk.text.strip(" \t\n"):  # blank lines render nothing (a no-break space is text)
            return
        segments = render_chunk(self.console, self.console.options, chunk)
        if segments:
            self.console.print(Segments(segments))

    def _preview_lines(self, console: Console, options: ConsoleOptions) -> list[list[Segment]]:
        """The tail rendered as it will be committed, as its last ``height - 1`` rows at most.

        Trailing padding is stripped (unless it carries a background, as in
        code blocks), so that a window made narrower mid-stream does not
        re-wrap long runs of spaces into extra rows.  A failure here must not
        cost the answer: the preview is only a preview.
        """
        height = options.size.height
        try:
            source = self._blocks.preview_source(max(height, 20), options.max_width)
            if not source.strip():
                return []
            chunk = Chunk(source, self._blocks.separated, self._blocks.refs)
            segments = render_chunk(console, options, chunk)
            lines = [_strip_padding(line) for line in
                     Segment.split_and_crop_lines(segments, options.max_width, pad=False,
                                                  include_new_lines=False)]
        except Exception:
            return []
        while lines and not lines[-1]:
            lines.pop()
        return lines[-max(1, height - 1):]

    # -- the live region -------------------------------------------------------------------------

    def _start_live(self) -> None:
        self._live_started = True
        self._live = Live(
            _TailView(self),
            console=self.console,
            transient=True,
            auto_refresh=False,
            refresh_per_second=self._refresh_per_second,
            # The view crops itself to height - 1; Rich's own overflow handling never has to act.
            vertical_overflow="visible",
            # Rich would send stderr through the console, i.e. to stdout.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._quiet_echo()
        self._live.start()
        self._last_refresh = 0.0
        threading.Thread(target=self._refresh_loop, name="llmcli-live-refresh", daemon=True).start()

    def _schedule_refresh(self, *, committed: bool) -> None:
        now = time.monotonic()
        if committed:  # the commit went through the Live's render hook, which redrew the tail
            self._last_refresh = now
            self._dirty = False
        elif now - self._last_refresh >= self._gap:
            self._refresh()
        elif not self._dirty:
            self._dirty = True
            self._wake.notify()  # the refresh thread will draw it if no delta comes in time

    def _refresh(self) -> None:
        """Redraw the tail; the next redraw waits the interval, or longer after a costly one.

        The wait runs from the end of the redraw: timed from its start, a
        redraw slower than the interval would happen on every delta, and the
        stream would go only as fast as the preview can be drawn.  The cost is
        this thread's CPU time, so a loaded machine pausing us is not taken
        for a slow redraw.
        """
        assert self._live is not None
        cpu = time.thread_time()
        self._live.refresh()
        cost = time.thread_time() - cpu
        self._last_refresh = time.monotonic()
        self._gap = max(self._interval, cost * (1 / self._busy_share - 1))
        self._dirty = False

    def _refresh_loop(self) -> None:
        """Trailing refresh: text that arrived less than an interval ago is shown when the stream pauses."""
        with self._wake:
            while not self._stopping and not self._closed:
                if not self._dirty:
                    self._wake.wait()
                    continue
                delay = self._last_refresh + self._gap - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                try:
                    self._refresh()
                except Exception as exc:
                    self._note_closed(exc)
                    self._dirty = False

    def _teardown(self) -> None:
        """Stop the Live (tail already committed), show the cursor, restore echo and Rich's pipe handler."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        live, self._live = self._live, None
        try:
            if live is not None:
                try:
                    live.stop()
                except Exception as exc:
                    self._note_closed(exc)
                finally:
                    if not self._closed:
                        try:
                            self.console.show_cursor(True)
                        except Exception as exc:
                            self._note_closed(exc)
        finally:
            self._restore_echo()
            if self._had_pipe_handler:
                self.console.on_broken_pipe = self._saved_pipe_handler  # type: ignore[method-assign]
            else:
                vars(self.console).pop("on_broken_pipe", None)

    # -- the terminal's echo -------------------------------------------------------------------

    def _quiet_echo(self) -> None:
        """Stop the terminal echoing typed keys (and ``^C``) into the live region; keep signals."""
        try:
            import termios

            fd = self.console.file.fileno()
            if not os.isatty(fd) or _in_background(fd):
                return
            saved = termios.tcgetattr(fd)
            quiet = list(saved)
            quiet[3] &= ~termios.ECHO
            termios.tcsetattr(fd, termios.TCSANOW, quiet)
        except (ImportError, AttributeError, ValueError, OSError):
            return
        self._tty_fd, self._tty_saved = fd, saved

    def _restore_echo(self) -> None:
        fd, saved = self._tty_fd, self._tty_saved
        self._tty_fd = self._tty_saved = None
        if fd is None or saved is None:
            return
        try:
            import termios

            termios.tcsetattr(fd, termios.TCSANOW, saved)
        except (ImportError, ValueError, OSError):
            pass

    # -- a closed stdout -----------------------------------------------------------------------

    def _on_broken_pipe(self) -> None:
        """Replaces ``Console.on_broken_pipe`` (called by Rich inside its write on EPIPE)."""
        self._closed = True
        self.console.quiet = True  # drop anything still buffered; write nothing more
        raise StdoutClosed()

    def _note_closed(self, exc: BaseException) -> bool:
        if isinstance(exc, StdoutClosed) or _is_closed_error(exc, self.console):
            self._closed = True
            self.console.quiet = True
            return True
        return False

    def _raise_if_closed(self, exc: BaseException) -> None:
        if self._note_closed(exc):
            if not self._done:
                self._done = True
                self._teardown()
            if isinstance(exc, StdoutClosed):
                raise exc
            raise StdoutClosed() from exc


def _wants_live(console: Console, own_console: bool) -> bool:
    if not (console.is_terminal and console.is_interactive) or console.is_dumb_terminal:
        return False
    if not own_console:
        return True
    try:
        return console.file.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _in_background(fd: int) -> bool:
    """A background job changing its terminal's modes would be stopped by SIGTTOU."""
    try:
        return os.tcgetpgrp(fd) != os.getpgrp()
    except OSError:  # not our controlling terminal: no job control applies
        return False


def _is_closed_error(exc: BaseException, console: Console) -> bool:
    return isinstance(exc, (OSError, ValueError)) and is_closed_error(exc, console.file)


def _strip_padding(line: list[Segment]) -> list[Segment]:
    """Drop trailing spaces that carry no background colour."""
    line = list(line)
    while line:
        segment = line[-1]
        if segment.control or (segment.style is not None and segment.style.bgcolor is not None):
            break
        text = segment.text.rstrip(" ")
        if text:
            line[-1] = Segment(text, segment.style)
            break
        line.pop()
    return line
