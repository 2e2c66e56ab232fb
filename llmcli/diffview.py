"""What the model changed: the diff between an input text and its rewrite.

One concept: *showing a change*.  A pipe gets a standard unified diff (the
format ``patch``, ``git apply`` and every reviewer already read); a terminal
gets the same information coloured, and, for texts short enough to be read
as prose, word by word inside the rewritten text, because a rewrite usually
touches a few words on every line and a line diff would mark every line.

Rich is imported only when a terminal view is drawn, so a pipe (or a run that
never shows a diff) never pays for it.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Iterator

from .errors import StdoutClosed
from .render import RawWriter
from .terminal import is_closed_error

# The word view runs SequenceMatcher(autojunk=False) on words, whose cost
# grows with the product of the lengths; past these sizes (either side) the
# line view is shown instead.  ~300 lines of prose is ~20 000 characters,
# drawn in a few tenths of a second; the character cap guards few, very long
# lines.
WORD_DIFF_MAX_LINES = 300
WORD_DIFF_MAX_CHARS = 24_000
# ...and a work budget inside those caps: a text made of a few words repeated
# makes the matcher cubic even when short.  One unit is one position visited
# by find_longest_match (~60 ns); 24 000 characters of ordinary prose or
# Markdown, lightly or heavily rewritten, use 0.4-7 million.
WORD_DIFF_BUDGET = 12_000_000

# Styles carry meaning without colour too: with NO_COLOR Rich drops the
# colours but keeps strike (deleted) and bold+underline (inserted).
DELETED = "red strike"
INSERTED = "green bold underline"
HEADER = "bold"
HUNK = "cyan"
LINE_DELETED = "red"
LINE_INSERTED = "green"
NOTE = "dim"

NO_NEWLINE = "\\ No newline at end of file\n"

# Words (with inner apostrophes: "don't" is one word), each line break, runs
# of other whitespace, and runs of one punctuation character ("---", "...").
# Every character falls in one token, so the tokens joined give the text back.
# Words and punctuation are matched; whitespace is compared where they meet.
_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|\r?\n|[^\S\r\n]+|([^\w\s])\1*|.", re.DOTALL)


def write_diff(
    before: str,
    after: str,
    *,
    stream,
    terminal: bool,
    from_label: str = "input",
    to_label: str = "answer",
    width: int | None = None,
) -> bool:
    """Write the diff of before -> after to `stream`; return True if they differ.

    ``terminal`` is the caller's decision (see terminal.stdout_is_terminal), not
    re-detected here, so FORCE_COLOR and tests behave like the answer does.
    Equal texts write nothing: silence is the usual "no change" in the shell.
    """
    if before == after:
        return False
    if not terminal:
        RawWriter(stream).feed(unified(before, after, from_label, to_label))
        return True
    console = _console(stream, width)
    if console.color_system is None:  # TERM=dumb: no style can mark a word, the plain diff reads as is
        RawWriter(stream).feed(unified(before, after, from_label, to_label))
        return True
    controls = _controls(stream)
    chunks = _word_chunks(before, after) if _fits_word_view(before) and _fits_word_view(after) else None
    if chunks is not None:
        _print(console, [_header(from_label, to_label), _word_text(chunks, controls)])
    else:
        diff = _unified_lines(before, after, from_label, to_label)
        _print(console, [_line_text(diff, controls)], soft_wrap=True)
    return True


def unified(before: str, after: str, from_label: str = "input", to_label: str = "answer") -> str:
    """A standard unified diff (difflib, n=3 context), '' when equal.

    Lines without a final newline are handled as `diff` does ("\\ No newline at end of file").
    """
    if before == after:
        return ""
    return "".join(_unified_lines(before, after, from_label, to_label))


def header_name(name: str) -> str:
    """A file name as a unified diff header holds it: as is, or C-quoted the way GNU diff quotes it.

    ``--- with space.txt`` is read by ``patch`` as the file ``with``; GNU diff
    writes ``--- "with space.txt"`` and patch reads the quotes back, escapes
    included.  So a name holding a space, a quote, a backslash, a control
    character, a line separator or bytes that are not UTF-8 (kept with
    ``surrogateescape``) is quoted: ``\\t``, ``\\n``, ``\\"``, ``\\\\`` and an
    octal ``\\351`` per other byte.  A quoted header is always valid UTF-8.
    """
    if not any(_needs_quote(ch) for ch in name):
        return name
    out = ['"']
    for ch in name:
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\{ord(ch) - 0xDC00:03o}")
        elif _needs_quote(ch) and ch != " ":
            out.append("".join(f"\\{byte:03o}" for byte in ch.encode("utf-8")))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n",
              "\v": "\\v", "\f": "\\f", "\r": "\\r"}


def _needs_quote(ch: str) -> bool:
    import unicodedata

    return ch in _C_ESCAPES or ch == " " or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")


def _unified_lines(before: str, after: str, from_label: str, to_label: str) -> Iterator[str]:
    """difflib's unified diff, every line ending in '\\n': an unterminated last line gets diff's marker."""
    diff = difflib.unified_diff(_lines(before), _lines(after), fromfile=header_name(from_label),
                                tofile=header_name(to_label), n=3)
    for line in diff:
        if line.endswith("\n"):
            yield line
        else:
            yield line + "\n"
            yield NO_NEWLINE


def _lines(text: str) -> list[str]:
    """Lines as `diff` sees them: split on '\\n' only (str.splitlines also splits on '\\r', '\\f', U+2028…)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


# --- word view -------------------------------------------------------------


def _fits_word_view(text: str) -> bool:
    """Within both caps (the character cap first: it is O(1) and keeps megabytes from being split)."""
    return len(text) <= WORD_DIFF_MAX_CHARS and len(_lines(text)) <= WORD_DIFF_MAX_LINES


def _tokens(text: str) -> list[str]:
    """Words, whitespace runs, line breaks and punctuation; ''.join(_tokens(t)) == t."""
    return [match.group() for match in _TOKEN.finditer(text)]


def _words_and_gaps(text: str) -> tuple[list[str], list[str]]:
    """The non-space tokens, and the whitespace around them: gaps[0] leads, gaps[k + 1] follows words[k].

    Only words and punctuation are matched; whitespace is compared in place
    afterwards.  Matching whitespace tokens too would make the hundreds of
    single spaces of a page the matcher's most frequent token (seconds of
    work), and, marked as junk instead, they would split every match at each
    space, which costs as much.
    """
    words: list[str] = []
    gaps = [""]
    for token in _tokens(text):
        if token.isspace():
            gaps[-1] += token
        else:
            words.append(token)
            gaps.append("")
    return words, gaps


def _word_chunks(before: str, after: str) -> list[tuple[str, str, str]] | None:
    """The texts as ("equal", text, text) and ("change", deleted, inserted) runs, in order.

    Joined, the deleted and equal runs give `before`, the inserted and equal
    runs `after`.  None when matching would cost more than WORD_DIFF_BUDGET:
    the caller shows the line view instead of making the user wait.
    """
    a, a_gaps = _words_and_gaps(before)
    b, b_gaps = _words_and_gaps(after)
    try:
        opcodes = _BoundedMatcher(a, b, WORD_DIFF_BUDGET).get_opcodes()
    except _TooCostly:
        return None
    chunks: list[tuple[str, str, str]] = []
    _add(chunks, a_gaps[0], b_gaps[0])
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2)):
                _add(chunks, a[i], b[j])
                _add(chunks, a_gaps[i + 1], b_gaps[j + 1])
        else:
            old = "".join(a[i] + a_gaps[i + 1] for i in range(i1, i2))
            new = "".join(b[j] + b_gaps[j + 1] for j in range(j1, j2))
            _add(chunks, old, new)
    return _tidy(chunks)


def _add(chunks: list[tuple[str, str, str]], old: str, new: str) -> None:
    """Append a run, merged into the previous one of the same kind (a change next to a change is one change)."""
    if not old and not new:
        return
    kind = "equal" if old == new else "change"
    if chunks and chunks[-1][0] == kind:
        _, last_old, last_new = chunks[-1]
        chunks[-1] = (kind, last_old + old, last_new + new)
    else:
        chunks.append((kind, old, new))


def _tidy(chunks: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Make changes read as a person would mark them on paper.

    A change spanning lines, with as many lines before as after, becomes one
    change per line (a rewritten list stays a list, each item next to its
    old version); whitespace both sides share at a change's ends is not part
    of the change ("is " -> "will be " marks "is" and "will be").
    """
    tidy: list[tuple[str, str, str]] = []
    for kind, old, new in chunks:
        if kind == "equal":
            _add(tidy, old, new)
            continue
        if "\n" in old and old.count("\n") == new.count("\n"):
            pairs = list(zip(old.split("\n"), new.split("\n")))
        else:
            pairs = [(old, new)]
        for index, (old_line, new_line) in enumerate(pairs):
            if index:
                _add(tidy, "\n", "\n")
            lead, old_core, new_core, trail = _shared_space(old_line, new_line)
            _add(tidy, lead, lead)
            _add(tidy, old_core, new_core)
            _add(tidy, trail, trail)
    return tidy


def _shared_space(old: str, new: str) -> tuple[str, str, str, str]:
    """(leading whitespace both share, old middle, new middle, trailing whitespace both share)."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start] and old[start].isspace():
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end] and old[-1 - end].isspace():
        end += 1
    return old[:start], old[start : len(old) - end], new[start : len(new) - end], old[len(old) - end :]


class _TooCostly(Exception):
    pass


class _BoundedMatcher(difflib.SequenceMatcher):
    """SequenceMatcher on words, autojunk off, that gives up past a work budget.

    autojunk would make frequent words ("the", ",") unmatchable, which spoils
    a word diff.  Without it the cost is unbounded on repetitive texts:
    find_longest_match visits, for each word of its range of `a`, every
    position of that word in `b`.  That count, summed by a prefix sum, bounds
    each call's work before it runs, so the budget is never exceeded, and
    the fallback is deterministic (the same texts always get the same view).
    """

    def __init__(self, a: list[str], b: list[str], budget: int) -> None:
        super().__init__(None, a, b, autojunk=False)
        positions = self.b2j  # type: ignore[attr-defined]  # word -> its indices in b (set by set_seq2)
        self._work = list(itertools.accumulate((len(positions.get(word, ())) for word in a), initial=0))
        self._budget = budget

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        if ahi is None:
            ahi = len(self.a)  # type: ignore[attr-defined]  # set by set_seq1
        self._budget -= self._work[ahi] - self._work[alo]
        if self._budget < 0:
            raise _TooCostly()
        return super().find_longest_match(alo, ahi, blo, bhi)


def _word_text(chunks: list[tuple[str, str, str]], controls: dict[int, str]):
    """The rewritten text as laid out, with deletions struck through in place and insertions underlined.

    A deleted line break is shown as a mark, not a break, and an inserted one
    as a mark before the break, so the layout is the answer's and a change
    made only of line breaks is still visible.
    """
    from rich.text import Text

    newline = controls[ord("\n")]
    equal_table = {**controls, ord("\n"): "\n"}
    deleted_table = controls
    inserted_table = {**controls, ord("\n"): newline + "\n"}
    text = Text()
    for kind, old, new in chunks:
        if kind == "equal":
            text.append(new.replace("\r\n", "\n").translate(equal_table))
            continue
        if old:
            text.append(old.translate(deleted_table), DELETED)
        if new:
            text.append(new.translate(inserted_table), INSERTED)
    return text


# --- line view -------------------------------------------------------------


def _line_text(diff_lines: Iterable[str], controls: dict[int, str]):
    """A unified diff, coloured by line kind; the first two lines are its headers whatever they contain."""
    from rich.text import Text

    text = Text()
    for index, line in enumerate(diff_lines):
        body = line[:-1]  # every line ends with exactly one "\n"
        if index < 2:
            style = HEADER
        elif body.startswith("@@"):
            style = HUNK
        elif body.startswith("-"):
            style = LINE_DELETED
        elif body.startswith("+"):
            style = LINE_INSERTED
        elif body.startswith("\\"):
            style = NOTE
        else:
            style = None
            body = body.removesuffix("\r")  # a CRLF context line; on changed lines a CR is shown
        text.append(body.translate(controls), style)
        text.append("\n")
    return text


def _header(from_label: str, to_label: str):
    from rich.text import Text

    return Text.assemble((f"--- {header_name(from_label)}", HEADER), "\n",
                         (f"+++ {header_name(to_label)}", HEADER), "\n")


# --- output ----------------------------------------------------------------


def _controls(stream) -> dict[int, str]:
    """Visible stand-ins for control characters, a str.translate table.

    The texts come from a user and a model: an ESC in them must not reach the
    terminal as a command, and a changed line break or CR must be seen.  Tab
    stays (Rich expands it).  ASCII stand-ins when the stream cannot encode
    the Unicode control pictures.
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "\u21b5\u240d\u241b".encode(encoding)
        pictures = True
    except (LookupError, UnicodeEncodeError):
        pictures = False
    table: dict[int, str] = {}
    for code in range(0x20):
        if code == 0x09:
            continue
        table[code] = chr(0x2400 + code) if pictures else "^" + chr(code + 0x40)
    table[0x0A] = "\u21b5" if pictures else "\\n"
    table[0x0D] = "\u240d" if pictures else "\\r"
    table[0x7F] = "\u2421" if pictures else "^?"
    for code in range(0x80, 0xA0):
        table[code] = f"\\x{code:02x}"
    return table


def _console(stream, width: int | None):
    """A Rich Console on `stream` that never interprets markup (brackets in the texts stay literal).

    force_terminal because the caller already decided this is a terminal;
    no_color is left to Rich, which reads NO_COLOR from the environment.
    """
    from .terminal import stdout_console

    return stdout_console(stream, width=width, markup=False, emoji=False, highlight=False)


def _print(console, texts: list, *, soft_wrap: bool = False) -> None:
    """Print Rich Text objects; a closed stream is StdoutClosed, as for the answer (see render.RawWriter).

    soft_wrap (the line view) leaves long lines to the terminal, as `diff`
    does, and halves Rich's time on a diff of megabytes.
    """
    stream = console.file
    try:
        for text in texts:
            console.print(text, end="" if text.plain.endswith("\n") else "\n", soft_wrap=soft_wrap)
        stream.flush()
    except (OSError, ValueError) as exc:
        if is_closed_error(exc, stream):
            raise StdoutClosed() from exc
        raise
