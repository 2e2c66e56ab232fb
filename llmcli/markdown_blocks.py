"""Cut a streamed Markdown answer into finished top-level blocks, and render each one as Rich would.

A terminal cannot take back what scrolled away, so the live writer prints a
block only once it is final.  Two things decide whether the printed pieces add
up to exactly what ``console.print(Markdown(whole_answer))`` shows:

* **Where a block ends.**  Only the parser knows: a blank line does not end a
  loose list, ``1. 1. 1.`` is one list, a fence inside a list item belongs to
  the item, an indented code block may contain blank lines.  So
  :class:`BlockSplitter` asks markdown-it (configured as Rich configures it)
  about the *uncommitted tail only* and treats everything before the last
  top-level block as final: a later line can extend the last block, but can no
  longer change the ones before it.  Parsing the whole answer on every line
  would be quadratic.
* **The spacing between blocks.**  Rich adds no margins of its own: before a
  top-level element it emits a bare newline when the element closed before it
  left a flag set (every element does, except ``hr``).  :func:`render_chunk`
  reproduces that flag by rendering a one-line sentinel paragraph before the
  chunk and dropping the sentinel's line.

Nothing here touches the terminal; :mod:`llmcli.markdown_live` does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .markdown_parser import block_parser

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console, ConsoleOptions
    from rich.segment import Segment

#: Rendered before a chunk so that Rich's "newline before the next element" flag is set.
SENTINEL = "x\n\n"

#: Above this many characters of complete lines in the tail, parse again only after the tail grew by
#: an eighth: one huge block (a long list) would otherwise be re-parsed on every line (quadratic).
BACKOFF_CHARS = 8192

#: Characters of source a preview renders per cell of the window: more than one, as markup
#: (``**``, a link's target) takes no room on screen.  (Less is no cheaper: refreshes are spaced by their cost.)
PREVIEW_CHARS_PER_CELL = 2

#: How far past a character cut the preview looks for a space to start on (a word is not split).
WORD_SEARCH = 80

_GAP = re.compile(r"\n| +")
_BLOCK_START = re.compile(r"[!-/:-@\[-`{-~]|\d{1,9}[.)]")  # what could make a cut preview start another block

_TOP_LEVEL_REFERENCE = re.compile(r" {0,3}\[")


@dataclass(frozen=True)
class Chunk:
    """Source text of one or more finished top-level blocks, ready to render.

    ``separated``: whether Rich would put a blank line before it (something was
    printed before and it did not end with a horizontal rule).  ``refs``: link
    reference definitions from earlier chunks, which the chunk may use.
    """

    text: str
    separated: bool
    refs: str = ""


class _Text:
    """Text appended in small pieces, joined only when the whole is needed.

    ``s += piece`` on an attribute copies the whole string every time (CPython
    extends in place only local variables): per delta, on a 139 KB paragraph,
    that is quadratic.  The pieces are joined when the whole text is asked
    for (a parse, a commit: spaced out by the splitter), and :meth:`suffix`
    reads the end without joining anything before it (the preview).
    """

    def __init__(self, text: str = "") -> None:
        self._pieces = [text] if text else []
        self._length = len(text)

    def __len__(self) -> int:
        return self._length

    def append(self, text: str) -> None:
        self._pieces.append(text)
        self._length += len(text)

    def value(self) -> str:
        if len(self._pieces) > 1:
            self._pieces = ["".join(self._pieces)]
        return self._pieces[0] if self._pieces else ""

    def suffix(self, size: int) -> str:
        """The last ``size`` characters (all of them when there are fewer), at a cost of O(size)."""
        if size <= 0:
            return ""
        taken: list[str] = []
        missing = size
        for piece in reversed(self._pieces):
            if len(piece) >= missing:
                taken.append(piece[len(piece) - missing:])
                break
            taken.append(piece)
            missing -= len(piece)
        return "".join(reversed(taken))


class BlockSplitter:
    """Holds the uncommitted tail of a Markdown stream and hands out the part that became final.

    ``feed`` normalises line endings, appends, and returns the finished
    :class:`Chunk` (or ``None``); ``flush`` returns the whole rest at the end.
    Only complete lines are parsed.  Inside an open top-level code fence no
    parse is needed until a line that could close it arrives (a 40 KB fence
    would otherwise be re-parsed per line); above :data:`BACKOFF_CHARS` the
    parses are spaced out geometrically; text without a line break is only
    appended (a paragraph of one 139 KB line costs nothing until it ends).
    ``parsed_chars`` counts the work, so a test can check that it grows
    linearly without timing anything.
    """

    def __init__(self, *, backoff_chars: int = BACKOFF_CHARS) -> None:
        self._md = block_parser()
        self._backoff_chars = backoff_chars
        self._tail = _Text()  # uncommitted text, "\n" line endings only
        self.has_text = False  # anything but whitespace arrived since the last flush
        self._pending_cr = False  # a delta ended in "\r": it may be half of "\r\n"
        self._complete = 0  # len of the tail's complete lines
        self._parsed = 0  # self._complete at the last parse
        self._fence: re.Pattern[str] | None = None  # closing-fence pattern while a top-level fence is open
        self._head = ""  # opening line(s) of the last block, to keep a cut preview recognisable
        self._head_end = 0  # where those lines end in the tail
        self._head_stop: int | None = None  # where the block ends in the tail (None: it is still open)
        self._last_is_fence = False
        self.separated = False  # see Chunk.separated, for the next chunk
        self.refs = ""
        self.parsed_chars = 0

    @property
    def tail(self) -> str:
        """The uncommitted text (joined: costs O(tail) when deltas arrived since the last call)."""
        return self._tail.value()

    # -- input -------------------------------------------------------------------------------

    def _normalise(self, text: str) -> str:
        if self._pending_cr:
            text = "\r" + text
            self._pending_cr = False
        if text.endswith("\r"):
            self._pending_cr = True
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def feed(self, text: str) -> Chunk | None:
        text = self._normalise(text)
        if not text:
            return None
        self._tail.append(text)
        if not self.has_text and not text.isspace():
            self.has_text = True
        newline = text.rfind("\n")
        if newline < 0:
            return None
        previous, self._complete = self._complete, len(self._tail) - len(text) + newline + 1
        if self._fence is not None:
            fresh = self._tail.suffix(len(self._tail) - previous)  # the lines completed now, and what follows
            if not self._fence.search(fresh, 0, self._complete - previous):
                return None
            self._fence = None  # a closing line arrived: parse again now
        elif self._complete > self._backoff_chars and self._complete - self._parsed < self._complete // 8:
            return None
        return self._split()

    def flush(self) -> Chunk:
        """Everything not yet handed out (the stream ended or was interrupted); resets the splitter."""
        if self._pending_cr:
            self._pending_cr = False
            self._tail.append("\n")
        chunk = Chunk(self._tail.value(), self.separated, self.refs)
        self._tail = _Text()
        self.has_text = False
        self._complete = self._parsed = self._head_end = 0
        self._fence = None
        self._head = ""
        self._head_stop = None
        self._last_is_fence = False
        return chunk

    # -- parsing -------------------------------------------------------------------------------

    def _split(self) -> Chunk | None:
        tail = self._tail.value()
        text = tail[: self._complete]
        self._parsed = self._complete
        env: dict = {}
        tokens = self._md.parse(text, env)
        self.parsed_chars += len(text)
        blocks = [t for t in tokens if t.level == 0 and t.nesting >= 0 and t.map]
        if not blocks:
            return None
        chunk = None
        cut_line = 0
        cut = 0
        if len(blocks) >= 2:
            last_map = blocks[-1].map
            assert last_map is not None  # blocks without a map were left out
            cut_line = last_map[0]
            cut = _line_offset(text, cut_line)
            chunk = Chunk(tail[:cut], self.separated, self.refs)
            self._collect_refs(env, text, cut_line)
            self.separated = blocks[-2].type != "hr"
            self._tail = _Text(tail[cut:])
            self._complete -= cut
            self._parsed -= cut
        self._note_last_block(blocks[-1], text, cut_line, cut)
        return chunk

    def _note_last_block(self, block, text: str, cut_line: int, cut: int) -> None:
        """Remember an open fence (to skip parses) and the opening lines of the last block (for previews)."""
        self._fence = None
        self._head = ""
        self._head_end = 0
        self._head_stop = None
        self._last_is_fence = block.type == "fence"
        first, end = block.map
        start = _line_offset(text, first, start_line=cut_line, start=cut)
        runs_to_end = end - cut_line == text.count("\n", cut)  # to the last line that arrived
        if block.type == "fence":
            marker = block.markup
            closing = re.compile(r"^ {0,3}%s{%d,}[ \t]*$" % (re.escape(marker[0]), len(marker)), re.MULTILINE)
            last_closes = False
            if runs_to_end and end - first >= 2:
                last_start = text.rfind("\n", 0, len(text) - 1) + 1
                last_closes = bool(closing.match(text, last_start))
            if runs_to_end and not last_closes:
                self._fence = closing  # runs to the end of what arrived: still open
            head_lines = 1
            still_open = self._fence is not None
        elif block.type == "table_open":
            head_lines = 2
            still_open = runs_to_end  # the next line may be another row
        else:
            return
        head_end = _line_offset(text, first + head_lines, start_line=cut_line, start=cut) - cut
        self._head = text[start:cut + head_end]
        self._head_end = head_end
        if not still_open:  # text after the block must not be previewed under its head
            self._head_stop = _line_offset(text, end, start_line=first, start=start) - cut

    def _collect_refs(self, env: dict, text: str, cut_line: int) -> None:
        """Keep top-level link reference definitions from the part being handed out.

        Rich renders each chunk separately, so a ``[text][label]`` in a later
        block would otherwise lose a definition made in an earlier one.
        (A definition that comes *after* its use cannot be helped: the using
        block is already on screen.)
        """
        for ref in env.get("references", {}).values():
            line_map = ref.get("map")
            if not line_map or line_map[1] > cut_line:
                continue
            start = _line_offset(text, line_map[0])
            source = text[start:_line_offset(text, line_map[1], start_line=line_map[0], start=start)]
            if _TOP_LEVEL_REFERENCE.match(source):
                self.refs += source if source.endswith("\n") else source + "\n"

    # -- preview ---------------------------------------------------------------------------------

    def preview_source(self, rows: int, width: int) -> str:
        """The end of the tail, about ``rows`` rows of ``width`` columns' worth, to show live.

        Rendering costs time proportional to the text, up to ten times a
        second, and only the bottom of a tall block fits on screen anyway, so
        what is rendered is bounded by the window, never by the block: the last
        ``rows`` lines of a fence (a code line is at least one row), the last
        ``2 * rows`` lines of anything else (soft line breaks join lines), and
        in both cases at most :data:`PREVIEW_CHARS_PER_CELL` ``* rows * width``
        characters (a paragraph may be one line of 139 KB).  The opening line of a fence (or the header of
        a table) is kept so the visible part still renders as code (or as a
        table).  Text cut by characters starts on a word, and a first
        character that would start another kind of block (``#``, ``-``,
        ``1.``, ``>``...) is escaped, so a cut paragraph still renders as one.
        """
        max_lines = rows if self._last_is_fence else 2 * rows
        length = len(self._tail)
        window = self._tail.suffix(int(PREVIEW_CHARS_PER_CELL * rows * width) + 1)  # +1: is the first a line start?
        start = len(window)
        count = 0
        while count < max_lines:
            newline = window.rfind("\n", 0, start)
            if newline < 0:
                break
            start, count = newline, count + 1
        mid_line = False
        if count == max_lines:
            start += 1  # just after a line break
        elif len(window) == length:
            start = 0  # fewer lines than that, and all of them fit: the whole tail
        elif count and start == 0:
            start = 1  # the window starts just after a line break
        else:  # as many characters as allowed, the first line cut: start on a word (or the next line)
            gap = _GAP.search(window, 1, 1 + WORD_SEARCH)
            start = gap.end() if gap else 1
            mid_line = not gap or gap.group() != "\n"
        source = window[start:]
        at = length - len(source)  # where the preview starts in the tail
        if self._head and self._head_end <= at and (self._head_stop is None or at < self._head_stop):
            return self._head + source
        block_start = _BLOCK_START.match(source) if mid_line else None
        if block_start:  # "\\#", "1\\.": literal characters, still the paragraph they were in
            escape_at = block_start.end() - 1
            return source[:escape_at] + "\\" + source[escape_at:]
        return source


def _line_offset(text: str, line: int, *, start_line: int = 0, start: int = 0) -> int:
    """Offset of the start of ``line`` (0-based) in ``text``, counting on from a known line start."""
    pos = start
    for _ in range(line - start_line):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


def render_chunk(console: Console, options: ConsoleOptions, chunk: Chunk, **markdown_args) -> list[Segment]:
    """Render a chunk exactly as it appears inside a whole-document ``Markdown`` render.

    Rich emits a newline before a top-level element when the previous element
    (at any depth) asked for one; lists, quotes and tables even start with one
    when rendered alone, and HTML blocks render nothing but still set the
    flag.  Rendering ``"x\\n\\n" + chunk`` and dropping the first line leaves
    exactly the state Rich is in mid-document; after a rule (which clears the
    flag) or at the start, the chunk is rendered alone.
    """
    from rich.markdown import Markdown
    from rich.segment import Segment

    prefix = (SENTINEL if chunk.separated else "") + (chunk.refs + "\n" if chunk.refs else "")
    segments = console.render(Markdown(prefix + chunk.text, **markdown_args), options)
    if not chunk.separated:
        return list(segments)
    result: list[Segment] = []
    for segment in segments:  # drop the sentinel's line, up to and including its newline
        if "\n" in segment.text and not segment.control:
            rest = segment.text.split("\n", 1)[1]
            if rest:
                result.append(Segment(rest, segment.style))
            break
    result.extend(segments)
    return result
