"""Splitting a long text for a model with a limited input.  Pure functions, no I/O.

* :func:`split_whitespace` separates the spacing around a text from its core,
  so a rewritten core can be put back with the original spacing.
* :func:`chunk_text` cuts a text into pieces of at most ``max_chars`` whose
  concatenation is the text, cutting where a reader would: between
  paragraphs, else between lines, sentences, words, and only as a last resort
  inside a word; never inside a fenced code block or a table, and never inside
  a span the caller marks as unbreakable (Markdown-safe mode's link tokens).
* :func:`estimate_tokens` guesses a token count without a tokenizer.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata

from ..markdown_parser import block_parser, split_lines

__all__ = ["chunk_text", "estimate_tokens", "split_whitespace"]


def split_whitespace(text: str) -> tuple[str, str, str]:
    """``(leading whitespace, core, trailing whitespace)``, with ``lead + core + trail == text``.

    Whitespace is what :meth:`str.isspace` says (so also a no-break space and
    the like).  A text of whitespace only is all lead: ``(text, "", "")``.
    """
    core = text.strip()
    if not core:
        return text, "", ""
    lead = len(text) - len(text.lstrip())
    trail = len(text) - len(text.rstrip())
    return text[:lead], core, text[len(text) - trail :]


# -- chunk_text ----------------------------------------------------------------------------------

# A sentence ends at . ! ? … (then closing quotes or brackets) followed by whitespace, or at a CJK
# full stop, exclamation or question mark (no space follows those).  The whitespace stays with the
# sentence before it, so the next piece starts on a word.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+|[。！？｡]+[\"'”’」』)）\]]*\s*")
# Words and the whitespace runs between them are separate pieces: the packer joins them again, and
# a word that fits is never cut just because the space after it does not.
_WORDS_AND_SPACES = re.compile(r"\S+|\s+")


_WHOLE_BLOCKS = frozenset({"fence", "table_open"})


def _whole_block_line_ranges(text: str) -> list[tuple[int, int]]:
    """Line ranges ``[first, end)`` of fenced code blocks and tables at any depth (in lists, blockquotes too).

    markdown-it decides, configured as everywhere in llmcli
    (:func:`llmcli.markdown_parser.block_parser`), so an unclosed fence runs to
    the end of its container, a fence-like line inside an indented code block
    is no fence, and a table is what Rich would render as one.  Its lines are
    those of :func:`llmcli.markdown_parser.split_lines`.
    """
    if "```" not in text and "~~~" not in text and "|" not in text:
        return []
    return [(token.map[0], token.map[1]) for token in block_parser().parse(text)
            if token.type in _WHOLE_BLOCKS and token.map]


def _is_blank(line: str) -> bool:
    return not line.strip()


def _cut_after(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Pieces of text cut right after each match of pattern (no empty piece)."""
    pieces = []
    start = 0
    for match in pattern.finditer(text):
        if start < match.end() < len(text):
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _glued(text: str, index: int) -> bool:
    """Whether a cut before text[index] would split one visible character (or a CRLF)."""
    char = text[index]
    before = text[index - 1]
    if before == "\r" and char == "\n":
        return True
    if before == "\u200d" or char in "\u200c\u200d":  # zero-width (non-)joiner sequences
        return True
    if unicodedata.combining(char) or "\ufe00" <= char <= "\ufe0f" or "\U0001f3fb" <= char <= "\U0001f3ff":
        return True  # combining mark, variation selector, skin tone modifier
    return False


def _hard_cut(text: str, max_chars: int, spans: list[tuple[int, int]]) -> list[str]:
    """Slices of at most max_chars, never cut inside one of ``spans`` (sorted ``(start, end)`` offsets).

    A cut moves back, while the slice stays non-empty, so as not to split a
    character or a span; when that is impossible a character is split (one
    long cluster), but a span never is: the slice then ends after it, the one
    case where a slice exceeds max_chars.
    """
    starts = [start for start, _ in spans]

    def inside(cut: int) -> int:
        """The end of the span that a cut before text[cut] would split, else 0."""
        index = bisect.bisect_left(starts, cut) - 1
        return spans[index][1] if index >= 0 and spans[index][1] > cut else 0

    pieces = []
    start = 0
    while len(text) - start > max_chars:
        cut = start + max_chars
        while cut > start + 1 and (_glued(text, cut) or inside(cut)):
            cut -= 1
        if _glued(text, cut) or inside(cut):
            cut = start + max_chars  # nothing but one long cluster or span: cut it anyway...
            cut = inside(cut) or cut  # ...but after the span, never inside it
        if cut >= len(text):
            break
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def _split_line(text: str, max_chars: int, unbreakable: re.Pattern[str] | None) -> list[str]:
    """One line too long: cut at sentence ends, then a sentence too long around whitespace, then hard."""
    result: list[str] = []
    for sentence in _cut_after(text, _SENTENCE_END):
        if len(sentence) <= max_chars:
            result.append(sentence)
            continue
        for word in _WORDS_AND_SPACES.findall(sentence):
            if len(word) <= max_chars:
                result.append(word)
            else:
                spans = [m.span() for m in unbreakable.finditer(word)] if unbreakable else []
                result.extend(_hard_cut(word, max_chars, spans))
    return result


def _pieces(text: str, max_chars: int, unbreakable: re.Pattern[str] | None) -> list[str]:
    """The text as a list of pieces, in order, each at most max_chars except whole blocks and spans.

    A paragraph (its lines up to and including the blank lines after it)
    that fits is one piece; a longer one is cut between lines, a fenced block
    or a table staying one piece, and a line still too long by :func:`_split_line`.
    """
    lines = split_lines(text)
    block_of: list[int | None] = [None] * len(lines)  # which fence or table a line belongs to
    for number, (first, end) in enumerate(_whole_block_line_ranges(text)):
        for index in range(first, min(end, len(lines))):
            block_of[index] = number

    def cuttable(index: int) -> bool:
        """Whether a cut between line index and the next falls outside every fence and table."""
        return block_of[index] is None or index + 1 >= len(lines) or block_of[index + 1] != block_of[index]

    paragraphs: list[list[int]] = [[]]
    for index, line in enumerate(lines):
        paragraphs[-1].append(index)
        next_is_text = index + 1 < len(lines) and not _is_blank(lines[index + 1])
        if next_is_text and _is_blank(line) and cuttable(index):
            paragraphs.append([])

    pieces: list[str] = []
    for paragraph in paragraphs:
        whole = "".join(lines[index] for index in paragraph)
        if len(whole) <= max_chars:
            pieces.append(whole)
            continue
        group: list[str] = []
        for index in paragraph:
            group.append(lines[index])
            if not cuttable(index):
                continue  # inside a fence or table: it stays one piece
            joined = "".join(group)
            group = []
            if len(joined) <= max_chars or block_of[index] is not None:
                pieces.append(joined)  # fits, or a whole fence or table (never cut)
            else:
                pieces.extend(_split_line(joined, max_chars, unbreakable))
        if group:  # cannot happen (a block's last line is cuttable); never drop text
            pieces.append("".join(group))
    pieces = [piece for piece in pieces if piece]
    return _join_split_spans(text, pieces, unbreakable) if unbreakable else pieces


def _join_split_spans(text: str, pieces: list[str], unbreakable: re.Pattern[str]) -> list[str]:
    """Pieces merged wherever a boundary between two falls inside a match of ``unbreakable``.

    :func:`_hard_cut` already avoids that for spans within a word; this makes
    the promise hold for any pattern (one spanning whitespace or lines too).
    """
    spans = [m.span() for m in unbreakable.finditer(text) if m.end() - m.start() > 1]
    if not spans:
        return pieces
    merged: list[str] = []
    offset = 0
    span = 0
    for piece in pieces:
        start, offset = offset, offset + len(piece)
        while span < len(spans) and spans[span][1] <= start:
            span += 1
        if merged and span < len(spans) and spans[span][0] < start:
            merged[-1] += piece  # the boundary at start splits spans[span]
        else:
            merged.append(piece)
    return merged


def chunk_text(text: str, max_chars: int, *, unbreakable: re.Pattern[str] | None = None) -> list[str]:
    """Cut text into chunks of at most max_chars whose concatenation is exactly text.

    Pieces are packed greedily, in order: a chunk takes the next piece while
    it fits.  Pieces are, by preference: whole paragraphs (a paragraph ends
    after the blank line(s) that follow it); for a paragraph longer than
    max_chars, its lines; for a line longer than max_chars, its sentences
    (after ``.`` ``!`` ``?`` ``…`` and closing quotes, plus the whitespace after
    them; after ``。！？`` with or without it); then its words and the whitespace
    between them; and a word longer than max_chars is cut hard (not
    between a character and its combining marks or joiners, nor inside a
    CRLF, where that can be helped).  A fenced code block (``` or ~~~, at any
    depth, as CommonMark reads it; an unclosed one runs to the end) and a
    table (a model shown half a table loses its header) are never cut: one
    longer than max_chars is a chunk of its own.  Nor is a match of the
    ``unbreakable`` pattern (Markdown-safe mode's ``⟦1⟧`` link tokens): a
    cut that would fall inside one moves before it (or, for a match longer
    than max_chars, after it).  Those are the only cases where a chunk
    exceeds max_chars.

    ``""`` gives ``[]``; ``max_chars < 1`` raises ValueError.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if len(text) <= max_chars:  # what the packing below gives for a text that fits, without parsing it
        return [text] if text else []
    chunks: list[str] = []
    current = ""
    for piece in _pieces(text, max_chars, unbreakable):
        if len(piece) > max_chars:  # a fence, table or span too long for any chunk: alone
            if current:
                chunks.append(current)
                current = ""
            chunks.append(piece)
        elif len(current) + len(piece) <= max_chars:
            current += piece
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


# -- estimate_tokens -----------------------------------------------------------------------------

# Characters that BPE tokenizers (cl100k, o200k, Claude's, Llama's) spend about one token each on:
# CJK ideographs (with extensions), kana, Hangul, bopomofo, CJK punctuation and fullwidth forms.
_ONE_TOKEN = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    "\u3200-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
    "\U00020000-\U0003ffff]"
)
# Latin (ASCII, Latin-1, Latin Extended A/B, IPA, spacing modifiers, combining marks,
# Latin Extended Additional) and general punctuation: about four characters a token.
_LATIN = re.compile("[\u0000-\u036f\u1e00-\u1eff\u2000-\u206f]")


def estimate_tokens(text: str) -> int:
    """A cheap, tokenizer-free guess of the number of tokens in text.

    Heuristic, tuned on OpenAI-style BPE vocabularies and meant for
    ``--dry-run`` figures and for choosing a chunk size, not for billing:

    * Latin-script text, digits, punctuation and whitespace: 4 characters a
      token (English prose averages about 4 to 4.5; code a little less);
    * CJK ideographs, kana, Hangul, CJK punctuation and fullwidth forms: 1 token each;
    * any other character (Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai,
      emoji, ...): 2 characters a token, as those scripts split into short pieces.

    The three parts are added and rounded up, so a non-empty text is at least 1.
    """
    if not text:
        return 0
    if text.isascii():
        return math.ceil(len(text) / 4)
    rest = _ONE_TOKEN.sub("", text)
    one_token = len(text) - len(rest)
    latin = len(rest) - len(_LATIN.sub("", rest))
    other = len(rest) - latin
    return math.ceil(one_token + latin / 4 + other / 2)
