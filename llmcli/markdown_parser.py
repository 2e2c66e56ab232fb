"""The one markdown-it configuration llmcli parses Markdown with: Rich's own, block rules only.

Three users need to know where Markdown blocks start and end: the live
terminal writer (which block is finished), the batch chunker (never cut inside
a fence or a table) and the Markdown-safe mode (which lines are prose).  They
must agree with each other and with what Rich renders, so they share this
parser: CommonMark with tables and strikethrough, as ``rich.markdown``
configures it, with inline parsing off (inline content never moves a block
boundary, and skipping it makes a parse several times faster).

Tokens carry ``map`` line ranges, so the same users also need the lines
markdown-it counts: :func:`split_lines` is the one definition of them.
"""

from __future__ import annotations

import re
from functools import cache

from markdown_it import MarkdownIt


@cache
def _shared() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("strikethrough").enable("table").disable("inline")


def block_parser() -> MarkdownIt:
    """The shared block parser (markdown-it's ``parse`` keeps no state between calls, so one serves every thread)."""
    return _shared()


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split where markdown-it splits them (``\\r\\n``, ``\\r``, ``\\n``).

    ``''.join(split_lines(t)) == t``, and line ``i`` is the one a token's
    ``map`` calls ``i``.  Unlike ``str.splitlines`` it does not cut at form
    feeds, U+2028 and the like, which markdown-it treats as ordinary characters.
    """
    return _LINE.findall(text)
