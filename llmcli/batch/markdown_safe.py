"""What of a Markdown file may be sent to a model, and what must come back byte for byte.

Pure functions, no I/O.  ``llmcli batch`` uses them to rewrite the prose of a
file while everything else stays exactly as it was:

* :func:`split_markdown` cuts a document into :class:`Segment` pieces whose
  concatenation is the original text, always: prose (``rewrite=True``) may be
  sent; front matter, code, HTML, link reference definitions and horizontal
  rules (``rewrite=False``) are never sent.
* :func:`mask_links` replaces link targets in a prose segment by opaque
  tokens, and :func:`unmask_links` puts them back, refusing an answer in which
  a token went missing, was duplicated or was invented.

How the cut is made
-------------------
The block structure comes from markdown-it-py (the parser Rich uses), configured
as everywhere in llmcli (:func:`llmcli.markdown_parser.block_parser`: CommonMark
with GFM tables, as Rich configures it).  Its tokens carry ``map`` line ranges;
the original text is cut at those *lines* (nothing is ever re-rendered), so
CRLF endings, trailing spaces, tabs and a missing final newline survive.  Lines
are :func:`llmcli.markdown_parser.split_lines`, split exactly where markdown-it
splits them (``\\r\\n``, ``\\r``, ``\\n``).

Every line gets one of three classes.  The rule that matters is the second
one: a line is prose only if a paragraph, heading or table covers it, so
anything the parser did not explain as prose is never sent; listing the
code tokens as kept is a second layer on top.

* **kept**: a line of a ``fence``, ``code_block`` or ``html_block`` token *at any
  depth* (a fence inside a list item or a blockquote too), a line of an ``hr``
  (nothing in it to rewrite, only a marker the model could change),
  the front matter, and any non-blank line that no leaf block covers: those
  are link reference definitions (markdown-it emits no token for them, at
  the top level or inside a container), a bare list marker, or content past
  markdown-it's nesting limit.  Keeping what the parser did not explain is
  the safe direction.
* **prose**: a line of a ``paragraph``, ``heading`` or ``table`` token, at any depth
  (so list items and blockquotes are prose through their paragraphs).
* **blank**: only spaces, tabs and ``>`` markers.  A blank stretch is prose when
  the lines on both sides are prose (it separates two paragraphs of one
  stretch of prose) and kept otherwise, so prose segments start and end on
  text and the model never sees the spacing around code.

Lists and blockquotes containing code (the choice asked for): they are
**split within**, by lines.  A list item with a fence gives a prose segment for
the item's text before the fence (``- Install it:``), a kept segment for the
fence lines (with their indentation or ``>`` markers), and prose again after
it.  Keeping the whole list instead would leave every other item of a long
list unedited; since segments are whole original lines, splitting costs
nothing in exactness.

Front matter is detected by hand (mdit_py_plugins is not a dependency): the
very first line is ``---`` (YAML) or ``+++`` (TOML), optionally after a BOM and
followed by spaces, and a later line closes it (``---`` or ``...`` for YAML,
``+++`` for TOML).  Unclosed, it is not front matter (Jekyll and Hugo agree),
and the document is parsed as Markdown from its first line.

Link tokens
-----------
A masked target becomes ``⟦1⟧``, ``⟦2⟧``, ... (U+27E6/U+27E7, mathematical white
square brackets).  Why this form:

* no character Markdown gives a meaning to: a model that "fixes" Markdown does
  not escape it (``LLMCLI_LINK_1`` invites ``LLMCLI\\_LINK\\_1``), and
  ``[text](⟦1⟧)`` is still a valid CommonMark link, so the model sees a link;
* no word in it: nothing to spell-check, translate, capitalise or pluralise;
* short, and rare in real text.  When the text already contains something of
  the form ``⟦<tag><digits>⟧``, a letter tag is added (``⟦L1⟧``, ``⟦LL1⟧``...)
  until the form is unused, so an original ``⟦3⟧`` is never mistaken for a token.
  :func:`unmask_links` reads the tag back from the table's keys.

What is masked (anywhere in the given text, which should be prose: it knows
nothing of code blocks; code spans are skipped untouched, backslash escapes
respected, and no code span or link is taken to cross a blank line, a
heading line or a table row):

* inline links and images: the whole inside of the parentheses, destination
  *and* title, ``[text](⟦1⟧)`` / ``![alt](⟦2⟧)``: the link text and alt text stay
  visible so their spelling can be fixed;
* full reference links' labels, ``[text][⟦3⟧]``: a changed label breaks the link
  (in ``[a][b][c]`` or ``[a][b](c)`` every part after the first is masked:
  which pair is the link depends on definitions elsewhere);
* autolinks ``<https://...>`` and ``<me@example.com>``, whole;
* bare URLs (``http://``, ``https://``, ``ftp://``, ``www.``, GFM's extended
  autolinks: trailing ``.,:;!?*_~'"`` and unbalanced ``)`` are left out; a
  scheme glued to a word is masked too, from the scheme on);
* inline HTML opening tags that have attributes (``<a href="...">``, ``<img src=... >``), whole.

Masking errs on the side of masking: a masked span is restored verbatim, so
masking something that was not a link costs only a word the model cannot
see, while missing a link would send its target.  Shortcut and collapsed
references (``[text]``, ``[text][]``) are not masked: their label *is* the text.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass

from ..markdown_parser import block_parser, split_lines

__all__ = [
    "LinkTokenError",
    "Segment",
    "link_tag",
    "mask_links",
    "split_markdown",
    "token_pattern",
    "unmask_links",
]


@dataclass(frozen=True)
class Segment:
    """A run of whole original lines.

    ``text``: the exact original characters.  ``rewrite``: True for prose that
    may be sent to the model; False for what is kept as-is and never sent.
    """

    text: str
    rewrite: bool


# -- lines ---------------------------------------------------------------------------------------


def _is_blankish(line: str) -> bool:
    """Blank, or only blockquote markers: an empty line inside a blockquote."""
    return line.strip(" \t\r\n>") == ""


# -- front matter --------------------------------------------------------------------------------

_FM_OPEN = re.compile(r"\ufeff?(---|\+\+\+)[ \t]*(?:\r\n|\r|\n)")
_FM_CLOSE = {
    "---": re.compile(r"(?:---|\.\.\.)[ \t]*(?:\r\n|\r|\n)?"),
    "+++": re.compile(r"\+\+\+[ \t]*(?:\r\n|\r|\n)?"),
}


def _front_matter_lines(lines: list[str]) -> int:
    """How many leading lines are front matter (0 if none)."""
    if not lines:
        return 0
    opened = _FM_OPEN.fullmatch(lines[0])
    if not opened:
        return 0
    closing = _FM_CLOSE[opened.group(1)]
    for index in range(1, len(lines)):
        if closing.fullmatch(lines[index]):
            return index + 1
    return 0


# -- split_markdown ------------------------------------------------------------------------------

_KEEP, _PROSE, _BLANK, _UNSEEN = "keep", "prose", "blank", "unseen"
_KEPT_TOKENS = frozenset({"fence", "code_block", "html_block", "hr"})
_PROSE_TOKENS = frozenset({"paragraph_open", "heading_open", "table_open"})


def _line_classes(lines: list[str]) -> list[str]:
    classes = [_UNSEEN] * len(lines)
    start = _front_matter_lines(lines)
    for index in range(start):
        classes[index] = _KEEP
    body = "".join(lines[start:])
    if body:
        tokens = block_parser().parse(body)
        # Kept first, so that a kept range always wins over a prose one.
        for token in tokens:
            if token.type in _KEPT_TOKENS and token.map:
                for index in range(start + token.map[0], start + token.map[1]):
                    classes[index] = _KEEP
        for token in tokens:
            if token.type in _PROSE_TOKENS and token.map:
                for index in range(start + token.map[0], start + token.map[1]):
                    if classes[index] == _UNSEEN:
                        classes[index] = _PROSE
    for index in range(start, len(lines)):
        if classes[index] == _UNSEEN:
            # Blank lines go with their neighbours; anything else no leaf block explains is kept
            # (reference definitions, a bare list marker, content past the nesting limit).
            classes[index] = _BLANK if _is_blankish(lines[index]) else _KEEP
    # A blank stretch is prose only between two prose lines.
    index = 0
    while index < len(classes):
        if classes[index] != _BLANK:
            index += 1
            continue
        end = index
        while end < len(classes) and classes[end] == _BLANK:
            end += 1
        between_prose = index > 0 and end < len(classes) and classes[index - 1] == _PROSE and classes[end] == _PROSE
        for blank in range(index, end):
            classes[blank] = _PROSE if between_prose else _KEEP
        index = end
    return classes


def split_markdown(text: str) -> list[Segment]:
    """Cut ``text`` into prose (may be sent) and kept (never sent) segments.

    ``''.join(s.text for s in result) == text`` always; adjacent segments are of
    different kinds (runs of the same kind are merged); ``""`` gives ``[]``.
    See the module docstring for what is kept and why.
    """
    lines = split_lines(text)
    classes = _line_classes(lines)
    segments: list[Segment] = []
    run: list[str] = []
    kind = None
    for line, cls in zip(lines, classes):
        if cls != kind and run:
            segments.append(Segment("".join(run), kind == _PROSE))
            run = []
        kind = cls
        run.append(line)
    if run:
        segments.append(Segment("".join(run), kind == _PROSE))
    return segments


# -- mask_links ----------------------------------------------------------------------------------

TOKEN_OPEN = "\u27e6"  # ⟦
TOKEN_CLOSE = "\u27e7"  # ⟧
_KEY_RE = re.compile(re.escape(TOKEN_OPEN) + r"(\D*?)(\d+)" + re.escape(TOKEN_CLOSE))

_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_ASCII_SPACE = " \t\n\r\f\v"

_AUTOLINK = re.compile(
    r"<(?:[A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\x00-\x20]*"
    r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>"
)
_HTML_ATTRIBUTE = r"""\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?"""
_HTML_OPEN_WITH_ATTRIBUTES = re.compile(r"<[A-Za-z][A-Za-z0-9-]*(?:%s)+\s*/?>" % _HTML_ATTRIBUTE)
# Where something may start: an escape, a code span, an autolink or tag, a bracket, or a bare URL
# (a scheme even glued to a word, as in "seehttps://...": not a GFM autolink, but still a target;
# "www." only at the start of a word).
_INTERESTING = re.compile(r"[\\`<\[\]]|(?:https?|ftp)://|(?<![^\W_])www\.", re.IGNORECASE)
_BARE_URL = re.compile(r"(?:(?:https?|ftp)://[^\s<>\[\]`|\"]+|www\.[A-Za-z0-9][^\s<>\[\]`|\"]*)", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")
_URL_TRAILING = ".,:;!?*_~'\""
_ATX_HEADING = re.compile(r"[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*#{1,6}(?:[ \t\r\n]|$)")
_TABLE_DELIMITER = re.compile(r"\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?")


class LinkTokenError(ValueError):
    """The model's answer does not hold each link token exactly once.

    ``missing``, ``duplicated``, ``unknown``: the offending tokens, in order.
    """

    def __init__(self, missing: list[str], duplicated: list[str], unknown: list[str]) -> None:
        self.missing = missing
        self.duplicated = duplicated
        self.unknown = unknown
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if duplicated:
            parts.append("duplicated " + ", ".join(duplicated))
        if unknown:
            parts.append("unknown " + ", ".join(unknown))
        super().__init__("link tokens changed: " + "; ".join(parts))


def _is_table_delimiter(line: str) -> bool:
    """``|---|:--:|`` (possibly inside blockquote markers)."""
    core = line.lstrip(" \t>").rstrip(" \t\r\n")
    return "|" in core and _TABLE_DELIMITER.fullmatch(core) is not None


def _regions(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the stretches a code span or a link can lie within.

    A paragraph ends at a blank line, an ATX heading is one line, and a table
    row is one line; a stretch holding a table delimiter row is therefore cut
    into single lines.  (A code span or link never crosses these boundaries,
    so scanning each stretch alone can only find more, never fewer.)
    """
    regions: list[tuple[int, int]] = []
    group: list[tuple[int, int]] = []

    def close_group() -> None:
        if not group:
            return
        if any(_is_table_delimiter(text[a:b]) for a, b in group):
            regions.extend(group)
        else:
            regions.append((group[0][0], group[-1][1]))
        group.clear()

    offset = 0
    for line in split_lines(text):
        start, offset = offset, offset + len(line)
        if _is_blankish(line):
            close_group()
        elif _ATX_HEADING.match(line):
            close_group()
            regions.append((start, offset))
        else:
            group.append((start, offset))
    close_group()
    return regions


def _skip_space(text: str, index: int, end: int) -> int:
    while index < end and text[index] in _ASCII_SPACE:
        index += 1
    return index


def _link_tail(text: str, index: int, end: int) -> int | None:
    """Parse ``destination "title")`` from just after ``](``; the index of the closing ``)`` or None.

    markdown-it's own helpers and the same steps as its inline link rule, so what
    counts as a link target here is exactly what the parser would render as one.
    """
    from markdown_it.helpers import parseLinkDestination, parseLinkTitle

    index = _skip_space(text, index, end)
    if index < end and text[index] != ")":
        destination = parseLinkDestination(text, index, end)
        if not destination.ok:
            return None
        index = destination.pos
        after = _skip_space(text, index, end)
        title = parseLinkTitle(text, after, end)
        if after < end and after != index and title.ok:
            after = _skip_space(text, title.pos, end)
        index = after
    return index if index < end and text[index] == ")" else None


def _reference_label(text: str, index: int, end: int) -> int | None:
    """From just after ``][``: the index of the label's closing ``]`` (label non-empty), else None."""
    start = index
    while index < end and index - start <= 999:
        char = text[index]
        if char == "\\" and index + 1 < end:
            index += 2
            continue
        if char == "[":
            return None
        if char == "]":
            return index if text[start:index].strip() else None
        index += 1
    return None


def _bare_url_end(text: str, start: int, end: int) -> int | None:
    match = _BARE_URL.match(text, start, end)
    if not match:
        return None
    stop = match.end()
    opening, closing = text.count("(", start, stop), text.count(")", start, stop)
    while stop > start:
        if text[stop - 1] in _URL_TRAILING:
            stop -= 1
        elif text[stop - 1] == ")" and closing > opening:
            stop -= 1
            closing -= 1
        else:
            break
    if text[start:stop].lower() in ("http://", "https://", "ftp://", "www."):
        return None
    return stop


def _find_spans(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Append the (start, end) spans to mask within text[start:end], in order."""
    openers = 0  # unmatched '[' so far (code spans, escapes and masked spans excluded)
    backtick_runs: dict[int, list[int]] | None = None  # run length -> starts of maximal runs, built on demand
    index = start
    while index < end:
        found = _INTERESTING.search(text, index, end)
        if not found:
            return
        index = found.start()
        char = text[index]
        if char == "\\":
            index += 2 if index + 1 < end and text[index + 1] in _ASCII_PUNCT else 1
        elif char == "`":
            run_end = index
            while run_end < end and text[run_end] == "`":
                run_end += 1
            if backtick_runs is None:
                backtick_runs = {}
                for run in _BACKTICKS.finditer(text, start, end):
                    backtick_runs.setdefault(len(run.group()), []).append(run.start())
            # The closer is the next maximal run of the same length (backslashes do not escape it).
            length = run_end - index
            starts = backtick_runs.get(length, [])
            found_at = bisect.bisect_left(starts, run_end)
            index = starts[found_at] + length if found_at < len(starts) else run_end
        elif char == "<":
            match = _AUTOLINK.match(text, index, end) or _HTML_OPEN_WITH_ATTRIBUTES.match(text, index, end)
            if match:
                spans.append((index, match.end()))
                index = match.end()
            else:
                index += 1
        elif char == "[":
            openers += 1
            index += 1
        elif char == "]":
            index += 1
            if not openers:
                continue
            openers -= 1
            # "[text](target)", "[text][label]", and in "[a][b][c]" or "[a][b](c)" every later part
            # (which of them is the link depends on definitions elsewhere: mask them all).
            while index < end and text[index] in "([":
                if text[index] == "(":
                    close = _link_tail(text, index + 1, end)
                    if close is not None:
                        if text[index + 1 : close].strip(_ASCII_SPACE):
                            spans.append((index + 1, close))
                        index = close + 1
                    break
                close = _reference_label(text, index + 1, end)
                if close is None:
                    break
                spans.append((index + 1, close))
                index = close + 1
        else:  # a bare URL
            stop = _bare_url_end(text, index, end)
            if stop is None:
                index = found.end()
            else:
                spans.append((index, stop))
                index = stop


def link_tag(text: str) -> str:
    """The shortest tag ('', 'L', 'LL', ...) whose tokens cannot be confused with anything in ``text``.

    Give it the whole file when its prose segments are masked one by one
    (with :func:`mask_links`'s ``tag``), so that no token form occurs anywhere
    in the file but where a link was masked, code and front matter included.
    """
    tag = ""
    while token_pattern(tag).search(text):
        tag += "L"
    return tag


def token_pattern(tag: str = "") -> re.Pattern[str]:
    """What a link token with this tag looks like (``⟦1⟧``, ``⟦L12⟧``...)."""
    return re.compile(re.escape(TOKEN_OPEN) + re.escape(tag) + r"\d+" + re.escape(TOKEN_CLOSE))


def mask_links(text: str, *, tag: str | None = None, first: int = 1) -> tuple[str, dict[str, str]]:
    """Replace link targets in prose by tokens; return the masked text and token -> original.

    ``unmask_links(*mask_links(t)) == t`` for every ``t``.  Tokens are numbered
    in order of appearance from ``first``, one per occurrence (the same URL
    twice gets two tokens), so "each token exactly once" can be checked on the
    way back.  ``tag``: from :func:`link_tag` (by default, of ``text``).
    Meant for prose segments from :func:`split_markdown`: it knows nothing of
    code blocks (a URL inside one would be masked, and restored exactly, but
    the block itself should not be sent at all).
    """
    spans: list[tuple[int, int]] = []
    for start, end in _regions(text):
        _find_spans(text, start, end, spans)
    if not spans:
        return text, {}
    if tag is None:
        tag = link_tag(text)
    table: dict[str, str] = {}
    pieces: list[str] = []
    previous = 0
    for number, (start, end) in enumerate(spans, first):
        token = f"{TOKEN_OPEN}{tag}{number}{TOKEN_CLOSE}"
        table[token] = text[start:end]
        pieces.append(text[previous:start])
        pieces.append(token)
        previous = end
    pieces.append(text[previous:])
    return "".join(pieces), table


def unmask_links(text: str, table: dict[str, str]) -> str:
    """Put the originals back in place of the tokens of ``table``.

    Raises :class:`LinkTokenError` (a ValueError naming the tokens) when a
    token of the table is missing or appears more than once, or when a token
    of the same form that is not in the table appears: the caller should then
    fail the file rather than write broken links.  An empty table returns
    ``text`` unchanged (nothing was masked, so nothing can be checked).
    """
    if not table:
        return text
    tags = set()
    for key in table:
        match = _KEY_RE.fullmatch(key)
        if not match:
            raise ValueError(f"not a link token: {key!r}")
        tags.add(match.group(1))
    alternatives = "|".join(re.escape(tag) for tag in sorted(tags, key=len, reverse=True))
    pattern = re.compile(re.escape(TOKEN_OPEN) + "(?:" + alternatives + r")\d+" + re.escape(TOKEN_CLOSE))
    counts = Counter(pattern.findall(text))
    missing = [key for key in table if counts[key] == 0]
    duplicated = [key for key in table if counts[key] > 1]
    unknown = [key for key in counts if key not in table]
    if missing or duplicated or unknown:
        raise LinkTokenError(missing, duplicated, unknown)
    return pattern.sub(lambda match: table[match.group(0)], text)
