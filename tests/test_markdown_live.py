"""The live Markdown writer: streamed output must equal a whole-document Rich render, live or not.

Reference: ``console.print(Markdown(doc))`` on an identical console.  The live
path is checked through a small terminal emulator (cursor up, erase line,
scrolling with a fixed height), so what is compared is what a user would see
in the scrollback, not the raw byte stream.
"""

from __future__ import annotations

import io
import os
import random
import re
import threading
import time

import pytest
from rich.console import Console
from rich.markdown import Markdown

from llmcli.errors import StdoutClosed
from llmcli.markdown_blocks import BlockSplitter
from llmcli.markdown_live import LiveMarkdownWriter

# -- documents ----------------------------------------------------------------------------------

DOCS = {
    "headings_paragraphs": "# Title\n\nA paragraph with **bold**, *em* and `code`.\nSame paragraph.\n\n"
                           "## Second\nDirectly after a heading.\n\nSetext heading\n---\n\nLast words.",
    "tight_and_loose_lists": "- one\n- two\n- three\n\nBetween.\n\n- loose one\n\n- loose two\n\n"
                             "  continued paragraph of two\n\n- loose three\n",
    "numbered_ones": "Steps:\n\n1. first\n1. second\n1. third\n\n3. starts at three\n4. four\n",
    "nested_lists": "- outer\n  - inner a\n  - inner b\n    1. deep\n    2. deeper\n- outer two\n\n"
                    "  more text for outer two\n",
    "fences": "```python\ndef f(x):\n\n    return x  # blank line above\n```\n\n~~~\ntilde fence\n~~~\n\n"
              "````md\n```\nnot a closer\n```\n````\n\nafter\n",
    "code_in_list_item": "1. Install:\n\n   ```bash\n   pip install thing\n\n   thing --help\n   ```\n\n"
                         "2. Run it.\n\n   ```\n   run\n   ```\n3. Done.\n",
    "indented_code_blank_line": "Text.\n\n    line one\n\n    line three\n\nAfter the code.\n",
    "block_quotes": "> quoted\n> still quoted\nlazy continuation\n\n> - list in quote\n> - two\n\n"
                    "> # heading in quote\n",
    "tables": "| Name | Value | Note |\n|:-----|------:|:----:|\n| a | 1 | x |\n| b | 22 | yy |\n\n"
              "Text after.\n\n| solo |\n|---|\n| r |\n",
    "rules": "Above.\n\n---\n\n- list after rule\n\n***\n\n| t |\n|---|\n| after rule |\n\n___\n\n"
             "<div>\nhtml after rule\n</div>\n\nend",
    "html_blocks": "<div>\n<b>raw</b>\n</div>\n\nText.\n\n<!-- a comment -->\n\n- list after comment\n",
    "references_before_use": "[rich]: https://github.com/Textualize/rich \"Rich\"\n\nIntro.\n\n"
                             "See [the library][rich] and [rich].\n",
    "crlf": "# CRLF\r\n\r\n- a\r\n- b\r\n\r\n```\r\ncode\r\n```\r\n\r\ndone\r\n",
    "no_trailing_newline": "para one\n\npara two without newline",
    "long_paragraph_wrap": "word " * 120 + "\n\n" + "another " * 50,
}


def _random_block(rng: random.Random) -> str:
    words = ["alpha", "beta", "**gamma**", "`delta`", "*eps*", "zeta", "eta", "[link](https://x.org)"]

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    kind = rng.randrange(13)
    if kind == 0:
        return "#" * rng.randint(1, 3) + " " + sentence(3)
    if kind == 1:
        return "\n".join(sentence(rng.randint(3, 12)) for _ in range(rng.randint(1, 3)))
    if kind == 2:
        return "\n".join(f"- {sentence(3)}" for _ in range(rng.randint(1, 4)))
    if kind == 3:
        return "\n\n".join(f"- {sentence(4)}" for _ in range(rng.randint(2, 4)))
    if kind == 4:
        return "\n".join(f"1. {sentence(3)}" for _ in range(rng.randint(2, 5)))
    if kind == 5:
        return f"- {sentence(2)}\n  - {sentence(2)}\n  - {sentence(2)}\n- {sentence(2)}"
    if kind == 6:
        body = "\n".join(f"x = {i}" if i % 3 else "" for i in range(rng.randint(1, 6)))
        return f"```{rng.choice(['', 'python', 'bash'])}\n{body}\n```"
    if kind == 7:
        return f"1. {sentence(3)}\n\n   ```\n   code here\n   ```\n2. {sentence(2)}"
    if kind == 8:
        return "    indented one\n\n    indented two"
    if kind == 9:
        return "\n".join(f"> {sentence(4)}" for _ in range(rng.randint(1, 3)))
    if kind == 10:
        rows = "\n".join(f"| {rng.randint(0, 99)} | {sentence(2)} |" for _ in range(rng.randint(1, 3)))
        return f"| n | words |\n|---|---|\n{rows}"
    if kind == 11:
        return rng.choice(["---", "***", "___"])
    return rng.choice(["<div>\nhtml\n</div>", "<!-- note -->"])


def random_doc(seed: int) -> str:
    rng = random.Random(seed)
    blocks = [_random_block(rng) for _ in range(rng.randint(3, 12))]
    return "".join(b + rng.choice(["\n\n", "\n\n\n"]) for b in blocks)


ALL_DOCS = list(DOCS.items()) + [(f"random{seed}", random_doc(seed)) for seed in range(40)]

# -- helpers ------------------------------------------------------------------------------------


def make_console(*, interactive: bool = False, color: str | None = None, height: int = 25, **extra) -> Console:
    return Console(file=io.StringIO(), force_terminal=True, force_interactive=interactive, width=80,
                   height=height, color_system=color, legacy_windows=False, **extra)


def whole_render(doc: str, color: str | None = None) -> str:
    console = make_console(color=color)
    console.print(Markdown(doc))
    return console.file.getvalue()


def stream(writer: LiveMarkdownWriter, doc: str, seed: int, *, max_delta: int = 12, stop_at: int | None = None):
    rng = random.Random(seed)
    end = len(doc) if stop_at is None else stop_at
    pos = 0
    while pos < end:
        size = min(rng.randint(1, max_delta), end - pos)
        writer.feed(doc[pos:pos + size])
        pos += size


_LINK_ID = re.compile(r"id=\d+;")


def normalise_links(text: str) -> str:
    """OSC 8 hyperlinks carry a random id per render."""
    return _LINK_ID.sub("id=0;", text)


class Terminal:
    """Just enough of a VT100 to replay Rich's output: what ends up on screen and in the scrollback.

    Cursor-up stops at the top row of the window (as on a real terminal), so a
    live region taller than the window would leave duplicates behind here too.
    """

    TOKEN = re.compile(r"\x1b\[(\?25[hl]|\d*[AK]|[\d;]*m)|\x1b\]8;[^\x1b]*\x1b\\|(\r)|(\n)|([^\x1b\r\n]+)|(\x1b)")

    def __init__(self, height: int) -> None:
        self.height = height
        self.lines: list[list[str]] = [[]]
        self.row = self.col = self.top = 0
        self.cursor_visible = True

    def feed(self, data: str) -> Terminal:
        for match in self.TOKEN.finditer(data):
            csi, cr, lf, text, stray = match.groups()
            if stray:
                raise AssertionError(f"unexpected escape at {data[match.start():match.start() + 10]!r}")
            if csi:
                if csi.startswith("?25"):
                    self.cursor_visible = csi.endswith("h")
                elif csi.endswith("A"):
                    self.row = max(self.top, self.row - int(csi[:-1] or 1))
                elif csi.endswith("K"):
                    assert csi in ("2K",), csi
                    self.lines[self.row] = []
            elif cr:
                self.col = 0
            elif lf:
                self.row += 1
                self.col = 0
                if self.row == len(self.lines):
                    self.lines.append([])
                self.top = max(self.top, self.row - self.height + 1)
            elif text:
                line = self.lines[self.row]
                if len(line) < self.col:
                    line.extend(" " * (self.col - len(line)))
                line[self.col:self.col + len(text)] = list(text)
                self.col += len(text)
        return self

    def text(self) -> str:
        rows = ["".join(line).rstrip() for line in self.lines]
        while rows and not rows[-1]:
            rows.pop()
        return "\n".join(rows)


def visible(rendered: str) -> str:
    return Terminal(10**6).feed(rendered).text()


# -- (1) commit-only output equals the whole-document render -------------------------------------


@pytest.mark.parametrize("color", [None, "truecolor"])
@pytest.mark.parametrize("name,doc", ALL_DOCS, ids=[name for name, _ in ALL_DOCS])
def test_streamed_equals_whole_document(name, doc, color):
    console = make_console(color=color)
    writer = LiveMarkdownWriter(console)
    stream(writer, doc, seed=len(doc))
    writer.finish()
    assert normalise_links(console.file.getvalue()) == normalise_links(whole_render(doc, color))


def test_commit_only_output_has_no_cursor_movement():
    console = make_console()
    writer = LiveMarkdownWriter(console)
    stream(writer, DOCS["fences"] + DOCS["tables"], seed=1)
    writer.finish()
    assert "\x1b" not in console.file.getvalue()


def test_blocks_are_printed_as_they_finish():
    console = make_console()
    writer = LiveMarkdownWriter(console)
    writer.feed("First paragraph.\n\n")
    assert console.file.getvalue() == ""  # only a next block proves the paragraph is over
    writer.feed("Second")
    assert console.file.getvalue() == ""  # only complete lines are parsed
    writer.feed(" paragraph.\n")
    assert "First paragraph." in console.file.getvalue()
    assert "Second" not in console.file.getvalue()  # it could still grow
    writer.finish()
    assert console.file.getvalue() == whole_render("First paragraph.\n\nSecond paragraph.\n")


def test_crlf_split_between_deltas():
    console = make_console()
    writer = LiveMarkdownWriter(console)
    for piece in ["- a\r", "\n- b\r", "\n\r", "\nafter\r"]:
        writer.feed(piece)
    writer.finish()
    assert console.file.getvalue() == whole_render("- a\n- b\n\nafter\n")


def test_own_console_on_a_redirected_stdout_gets_no_live(monkeypatch):
    """FORCE_COLOR=1 makes Rich call a redirected stdout interactive; no cursor codes must land in the file."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    writer = LiveMarkdownWriter()
    assert writer.console.is_interactive
    stream(writer, DOCS["nested_lists"], seed=3)
    writer.finish()
    assert "\x1b[1A" not in out.getvalue() and "\x1b[?25l" not in out.getvalue()
    assert "deeper" in out.getvalue()


# -- (2) the live path --------------------------------------------------------------------------

LIVE_CASES = ["headings_paragraphs", "numbered_ones", "code_in_list_item", "tables", "rules", "html_blocks"]


@pytest.mark.parametrize("name", LIVE_CASES + ["random3", "random7", "random11"])
def test_live_path_leaves_exactly_the_document(name):
    doc = dict(ALL_DOCS)[name]
    console = make_console(interactive=True, height=12)
    writer = LiveMarkdownWriter(console, refresh_per_second=1e9, busy_share=1)  # refresh on every delta
    stream(writer, doc, seed=7)
    writer.finish()
    raw = console.file.getvalue()
    assert "\x1b[?25l" in raw and "\x1b[1A" in raw  # the Live really ran
    term = Terminal(12).feed(raw)
    assert term.cursor_visible
    assert term.text() == visible(whole_render(doc))


def test_live_path_tall_blocks_do_not_duplicate_lines():
    """A 60-line fence and a 40-item list in an 12-row window: each line once in the scrollback."""
    code = "\n".join(f"line_{i:03d} = {i}" for i in range(60))
    items = "\n".join(f"1. item_{i:03d} text" for i in range(40))
    doc = f"Intro paragraph.\n\n```python\n{code}\n```\n\n{items}\n\nThe end.\n"
    console = make_console(interactive=True, height=12)
    writer = LiveMarkdownWriter(console, refresh_per_second=1e9, busy_share=1)
    stream(writer, doc, seed=11, max_delta=30)
    writer.finish()
    screen = Terminal(12).feed(console.file.getvalue()).text()
    assert screen == visible(whole_render(doc))
    for i in range(60):
        assert screen.count(f"line_{i:03d} ") == 1
    for i in range(40):
        assert screen.count(f"item_{i:03d} ") == 1
    assert screen.count("Intro paragraph.") == 1 and screen.count("The end.") == 1


def test_live_region_never_taller_than_window_minus_one():
    doc = "```\n" + "\n".join(f"row {i}" for i in range(100))
    console = make_console(interactive=True, height=10)
    writer = LiveMarkdownWriter(console, refresh_per_second=1e9, busy_share=1)
    heights = []
    original = writer._preview_lines

    def spy(console_, options):
        lines = original(console_, options)
        heights.append(len(lines))
        return lines

    writer._preview_lines = spy
    stream(writer, doc, seed=5)
    writer.finish()
    assert heights and max(heights) <= 9


def _long_paragraph(chars: int) -> str:
    """One paragraph without a line break, with inline markup and things that start blocks at a line start."""
    rng = random.Random(chars)
    words = ["alpha", "beta", "**gamma**", "`delta`", "*eps*", "#", "1.", "-", ">", "```", "[link](https://x.org)"]
    parts, total = [], 0
    while total < chars:
        parts.append(rng.choice(words))
        total += len(parts[-1]) + 1
    return " ".join(parts)


def _spy_previews(writer: LiveMarkdownWriter) -> list[str]:
    sources: list[str] = []
    original = writer._blocks.preview_source

    def spy(rows, width):
        sources.append(original(rows, width))
        return sources[-1]

    writer._blocks.preview_source = spy
    return sources


def test_live_path_one_long_paragraph_leaves_exactly_the_document():
    """A 30 KB paragraph without a line break (issue 10, fault 11): previews bounded, scrollback exact."""
    doc = "Intro paragraph.\n\n" + _long_paragraph(30_000) + "\n\nThe end.\n"
    console = make_console(interactive=True, height=12)
    writer = LiveMarkdownWriter(console, refresh_per_second=1e9, busy_share=1)
    sources = _spy_previews(writer)
    stream(writer, doc, seed=13, max_delta=300)
    writer.finish()
    screen = Terminal(12).feed(console.file.getvalue()).text()
    assert screen == visible(whole_render(doc))
    assert screen.count("Intro paragraph.") == 1 and screen.count("The end.") == 1
    assert len(sources) > 50
    assert max(map(len, sources)) <= 2 * 20 * 80 + 2  # rows (at least 20) x width x 2, never the block
    assert sum("gamma" in source for source in sources) > 40


def test_live_path_one_long_fence_leaves_exactly_the_document():
    code = "\n".join(f"value_{i:04d} = transform(value_{i - 1:04d})  # line {i}" for i in range(400))
    doc = f"Intro paragraph.\n\n```python\n{code}\n```\n\nThe end.\n"
    console = make_console(interactive=True, height=12)
    writer = LiveMarkdownWriter(console, refresh_per_second=1e9, busy_share=1)
    sources = _spy_previews(writer)
    stream(writer, doc, seed=17, max_delta=200)
    writer.finish()
    screen = Terminal(12).feed(console.file.getvalue()).text()
    assert screen == visible(whole_render(doc))
    for i in range(400):
        assert screen.count(f"value_{i:04d} = ") == 1
    fence_previews = [source for source in sources if "value_0300" in source]
    assert fence_previews and all(source.startswith("```python\n") for source in fence_previews)
    assert max(source.count("\n") for source in sources) <= 21  # the head and 20 rows' worth of lines


def test_preview_of_a_long_line_is_bounded_starts_on_a_word_and_stays_a_paragraph():
    splitter = BlockSplitter()
    for word in ("word " * 5000 + "# heading-like").split(" "):
        splitter.feed(word + " ")
    preview = splitter.preview_source(10, 40)
    assert len(preview) <= 2 * 10 * 40 + 1 and preview.endswith("# heading-like ")
    assert preview.startswith("word ")
    splitter = BlockSplitter()
    splitter.feed("x" * 1000 + " 1. " + "y" * 791)
    assert splitter.preview_source(10, 40) == "1\\. " + "y" * 791  # escaped: a paragraph, not a list
    splitter = BlockSplitter()
    splitter.feed("Short one.\n\nAnd another line.")
    assert splitter.preview_source(10, 40) == "Short one.\n\nAnd another line."  # fits: all of it


def test_preview_after_a_closed_fence_is_not_shown_as_code():
    splitter = BlockSplitter()
    splitter.feed("```\ncode\n```\n\n")
    splitter.feed("prose " * 400)
    preview = splitter.preview_source(10, 40)
    assert not preview.startswith("```") and preview.startswith("prose ")
    splitter = BlockSplitter()
    splitter.feed("```\n" + "code " * 400)  # an open fence with one long line: still code
    assert splitter.preview_source(10, 40).startswith("```\n")


def test_slow_refreshes_are_spaced_by_their_cost(monkeypatch):
    """A refresh that cost 0.5 s of CPU (fake clocks) is followed by at least 2 s without one (busy_share 0.2)."""
    from llmcli import markdown_live

    now = [1000.0]
    monkeypatch.setattr(markdown_live.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(markdown_live.time, "thread_time", lambda: now[0])  # as if all of it were drawing
    console = make_console(interactive=True)
    writer = LiveMarkdownWriter(console, refresh_per_second=10, busy_share=0.2)
    writer.feed("Start")
    assert writer._live is not None
    calls = []

    def slow_refresh():
        calls.append(now[0])
        now[0] += 0.5

    monkeypatch.setattr(writer._live, "refresh", slow_refresh)
    now[0] += 1
    writer.feed(" one")
    assert len(calls) == 1 and writer._gap == pytest.approx(2.0)
    for _ in range(19):  # 1.9 s more, in steps of 0.1 s: no refresh yet
        now[0] += 0.1
        writer.feed(" more")
    assert len(calls) == 1
    now[0] += 0.2
    writer.feed(" last")
    assert len(calls) == 2
    writer.finish()
    assert "last" in console.file.getvalue()


def test_trailing_refresh_shows_text_when_the_stream_pauses():
    console = make_console(interactive=True)
    writer = LiveMarkdownWriter(console, refresh_per_second=20)
    writer.feed("Hello")
    writer.feed(" there, world")  # within the refresh interval: not drawn yet
    deadline = time.monotonic() + 5
    while "world" not in console.file.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "world" in console.file.getvalue()
    writer.finish()
    assert visible(console.file.getvalue()) == visible(whole_render("Hello there, world"))


def test_echo_is_off_while_live_and_restored_after():
    termios = pytest.importorskip("termios")
    master, slave = os.openpty()
    drained = []
    reader = threading.Thread(target=lambda: _drain(master, drained), daemon=True)
    reader.start()
    out = os.fdopen(slave, "w", encoding="utf-8")
    try:
        console = Console(file=out, force_terminal=True, force_interactive=True, width=80, height=24,
                          color_system=None)
        assert termios.tcgetattr(slave)[3] & termios.ECHO
        writer = LiveMarkdownWriter(console)
        writer.feed("Some *text* arriving")
        assert not termios.tcgetattr(slave)[3] & termios.ECHO
        writer.abort()
        assert termios.tcgetattr(slave)[3] & termios.ECHO
    finally:
        out.close()
        reader.join(2)
        os.close(master)


def _drain(fd: int, sink: list) -> None:
    try:
        while chunk := os.read(fd, 4096):
            sink.append(chunk)
    except OSError:
        pass


# -- (3) abort ----------------------------------------------------------------------------------


@pytest.mark.parametrize("interactive", [False, True])
def test_abort_keeps_what_arrived(interactive):
    doc = DOCS["code_in_list_item"] + "\n" + DOCS["tables"]
    cut = len(doc) * 2 // 3
    console = make_console(interactive=interactive)
    writer = LiveMarkdownWriter(console, refresh_per_second=1e9, busy_share=1)
    stream(writer, doc, seed=2, stop_at=cut)
    writer.abort()
    writer.abort()  # twice: still quiet
    writer.finish()  # after abort: nothing more
    term = Terminal(25).feed(console.file.getvalue())
    assert term.text() == visible(whole_render(doc[:cut]))
    assert term.cursor_visible


def test_abort_mid_fence_and_before_anything():
    console = make_console(interactive=True)
    writer = LiveMarkdownWriter(console)
    writer.abort()
    assert console.file.getvalue() == ""
    writer = LiveMarkdownWriter(console)
    writer.feed("```python\nx = 1\ny = ")
    writer.abort()
    assert "y =" in visible(console.file.getvalue())


# -- (4) a closed stdout ------------------------------------------------------------------------


@pytest.mark.parametrize("interactive", [False, True])
def test_closed_file_raises_stdout_closed(interactive):
    console = make_console(interactive=interactive)
    console.file.close()
    writer = LiveMarkdownWriter(console)
    with pytest.raises(StdoutClosed):
        stream(writer, "# one\n\npara\n\n- list\n", seed=1)
        writer.finish()
    writer.abort()  # never raises
    with pytest.raises(StdoutClosed):
        writer.finish()


@pytest.mark.parametrize("interactive", [False, True])
def test_broken_pipe_raises_stdout_closed_not_system_exit(interactive):
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    out = os.fdopen(write_fd, "w", encoding="utf-8")
    try:
        console = Console(file=out, force_terminal=True, force_interactive=interactive, width=80,
                          color_system=None)
        writer = LiveMarkdownWriter(console)
        with pytest.raises(StdoutClosed):
            for part in ["# one\n\n", "para\n\n", "- list\n", "\nmore\n"]:
                writer.feed(part)
            writer.finish()
        writer.abort()
        assert "on_broken_pipe" not in vars(console)  # Rich's handler is back
    finally:
        try:
            out.close()
        except OSError:
            pass


# -- (5) linear work, counted rather than timed ---------------------------------------------------


def _big_doc(units: int) -> str:
    parts = []
    for i in range(units):
        parts.append(f"## Section {i}\n\nSome text for section {i}, with *emphasis*.\n\n")
        parts.append("".join(f"1. item {j} of a longish numbered list\n" for j in range(30)) + "\n")
        parts.append("```python\n" + "".join(f"value_{j} = {j} * 2\n" for j in range(40)) + "```\n\n")
    parts.append("```\n" + "".join(f"open fence line {j}\n" for j in range(60 * units)))  # one huge open block
    return "".join(parts)


def _parsed_chars(doc: str) -> int:
    splitter = BlockSplitter()
    rng = random.Random(0)
    pos = 0
    while pos < len(doc):
        size = rng.randint(20, 60)
        splitter.feed(doc[pos:pos + size])
        pos += size
    splitter.flush()
    return splitter.parsed_chars


def test_splitter_work_grows_linearly():
    small, large = _big_doc(4), _big_doc(16)
    work_small, work_large = _parsed_chars(small), _parsed_chars(large)
    assert work_large / work_small < 4 * 1.5
    assert work_large < 20 * len(large)


def test_preview_source_is_bounded():
    splitter = BlockSplitter()
    splitter.feed("| a | b |\n|---|---|\n" + "".join(f"| {i} | x |\n" for i in range(5000)))
    preview = splitter.preview_source(24, 80)
    assert preview.startswith("| a | b |\n|---|---|\n")
    assert preview.count("\n") <= 50
    splitter = BlockSplitter()
    splitter.feed("```python\n" + "".join(f"x{i} = {i}\n" for i in range(5000)))
    preview = splitter.preview_source(24, 80)
    assert preview.startswith("```python\n") and "x4999 = 4999" in preview
    assert preview.count("\n") <= 49


def test_interrupt_while_rendering_a_commit_loses_nothing(monkeypatch):
    """Ctrl-C while a finished block is being rendered: abort() still prints it, then the rest."""
    import llmcli.markdown_live as markdown_live

    real = markdown_live.render_chunk
    interrupted = []

    def render_once_interrupted(console, options, chunk, **kwargs):
        if "first" in chunk.text and not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt
        return real(console, options, chunk, **kwargs)

    monkeypatch.setattr(markdown_live, "render_chunk", render_once_interrupted)
    console = make_console()
    writer = LiveMarkdownWriter(console)
    writer.feed("first paragraph\n\n")
    with pytest.raises(KeyboardInterrupt):
        writer.feed("second paragraph\nstill second")
    writer.abort()
    assert interrupted
    assert console.file.getvalue() == whole_render("first paragraph\n\nsecond paragraph\nstill second")
