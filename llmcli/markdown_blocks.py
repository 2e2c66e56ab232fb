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


class BlockSplitter:
    """Holds the uncommitted tail of a Markdown stream and hands out the part that became final.

    ``feed`` normalises line endings, appends, and returns the finished
    :class:`Chunk` (or ``None``); ``flush`` returns the whole rest at the end.
    Only complete lines are parsed.  Inside an open top-level code fence no
    parse is needed until a line that could close it arrives (a 40 KB fence
    would otherwise be re-parsed per line); above :data:`BACKOFF_CHARS` the
    parses are spaced out geometrically.  ``parsed_chars`` counts the work, so
    a test can check that it grows linearly without timing anything.
    """

    def __init__(self, *, backoff_chars: int = BACKOFF_CHARS) -> None:
        self._md = block_parser()
        self._backoff_chars = backoff_chars
        self.tail = ""  # uncommitted text, "\n" line endings only
        self._pending_cr = False  # a delta ended in "\r": it may be half of "\r\n"
        self._complete = 0  # len of the tail's complete lines
        self._parsed = 0  # self._complete at the last parse
        self._fence: re.Pattern[str] | None = None  # closing-fence pattern while a top-level fence is open
        self._head = ""  # opening line(s) of the last block, to keep a cut preview recognisable
        self._head_end = 0  # where those lines end in the tail
        self.separated = False  # see Chunk.separated, for the next chunk
        self.refs = ""
        self.parsed_chars = 0

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
        self.tail += text
        if "\n" not in text:
            return None
        previous, self._complete = self._complete, self.tail.rfind("\n") + 1
        if self._fence is not None:
            if not self._fence.search(self.tail, previous, self._complete):
                return None
            self._fence = None  # a closing line arrived: parse again now
        elif self._complete > self._backoff_chars and self._complete - self._parsed < self._complete // 8:
            return None
        return self._split()

    def flush(self) -> Chunk:
        """Everything not yet handed out (the stream ended or was interrupted); resets the splitter."""
        if self._pending_cr:
            self._pending_cr = False
            self.tail += "\n"
        chunk = Chunk(self.tail, self.separated, self.refs)
        self.tail = ""
        self._complete = self._parsed = self._head_end = 0
        self._fence = None
        self._head = ""
        return chunk

    # -- parsing -------------------------------------------------------------------------------

    def _split(self) -> Chunk | None:
        text = self.tail[: self._complete]
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
            cut_line = blocks[-1].map[0]
            cut = _line_offset(text, cut_line)
            chunk = Chunk(self.tail[:cut], self.separated, self.refs)
            self._collect_refs(env, text, cut_line)
            self.separated = blocks[-2].type != "hr"
            self.tail = self.tail[cut:]
            self._complete -= cut
            self._parsed -= cut
        self._note_last_block(blocks[-1], text, cut_line, cut)
        return chunk

    def _note_last_block(self, block, text: str, cut_line: int, cut: int) -> None:
        """Remember an open fence (to skip parses) and the opening lines of the last block (for previews)."""
        self._fence = None
        self._head = ""
        self._head_end = 0
        first, end = block.map
        start = _line_offset(text, first, start_line=cut_line, start=cut)
        if block.type == "fence":
            marker = block.markup
            closing = re.compile(r"^ {0,3}%s{%d,}[ \t]*$" % (re.escape(marker[0]), len(marker)), re.M)
            n_lines = text.count("\n", cut)  # lines of the tail after the cut
            last_closes = False
            if end - cut_line == n_lines and end - first >= 2:
                last_start = text.rfind("\n", 0, len(text) - 1) + 1
                last_closes = bool(closing.match(text, last_start))
            if end - cut_line == n_lines and not last_closes:
                self._fence = closing  # runs to the end of what arrived: still open
            head_lines = 1
        elif block.type == "table_open":
            head_lines = 2
        else:
            return
        head_end = _line_offset(text, first + head_lines, start_line=cut_line, start=cut) - cut
        self._head = text[start:cut + head_end]
        self._head_end = head_end

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

    def preview_source(self, max_lines: int) -> str:
        """The tail to show live; for a tail of more than ``max_lines`` lines, only its last lines.

        Rendering costs time proportional to the text, ten times a second, and
        only the bottom of a tall block fits on screen anyway.  The opening
        line of a fence (or the header of a table) is kept so the visible part
        still renders as code (or as a table).
        """
        tail = self.tail
        start = len(tail)
        for _ in range(max_lines):
            start = tail.rfind("\n", 0, start)
            if start < 0:
                return tail
        start += 1
        if self._head and start >= self._head_end:
            return self._head + tail[start:]
        return tail[start:]


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
