"""A file as the pieces a batch sends, and the way the answers are put back together.

A *unit* is one request's worth of text: its ``core`` is sent, and its
``lead``/``trail`` whitespace and everything ``kept`` between units (code,
front matter, HTML, link definitions in Markdown-safe mode) are copied back
byte for byte.  So a rewrite changes only what the model was shown, chunks
come back in order, and nothing is ever truncated: a file either becomes the
concatenation of all its parts or is not written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .chunking import chunk_text, split_whitespace
from .markdown_safe import mask_links, split_markdown, unmask_links


@dataclass
class Unit:
    lead: str
    core: str
    trail: str
    links: dict[str, str] = field(default_factory=dict)  # token -> original link target


@dataclass
class Layout:
    """The file as an ordered list of kept strings and units."""

    parts: list[str | Unit]

    @property
    def units(self) -> list[Unit]:
        return [p for p in self.parts if isinstance(p, Unit)]

    def assemble(self, answers: list[str]) -> str:
        """Put ``answers`` (one per unit, in order) back; raises ValueError if a link token was lost."""
        out: list[str] = []
        it = iter(answers)
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            answer = next(it).strip()
            if part.links:
                answer = unmask_links(answer, part.links)
            out.append(part.lead + answer + part.trail)
        return "".join(out)


def layout(text: str, *, max_chars: int, markdown_safe: bool) -> Layout:
    """Cut ``text`` into units of at most ``max_chars`` (prose only when ``markdown_safe``)."""
    parts: list[str | Unit] = []
    if markdown_safe:
        for segment in split_markdown(text):
            if segment.rewrite and segment.text.strip():
                masked, table = mask_links(segment.text)
                parts += _units(masked, max_chars, table)
            else:
                parts.append(segment.text)
    else:
        parts += _units(text, max_chars, {})
    return Layout(parts)


def _units(text: str, max_chars: int, links: dict[str, str]) -> list[str | Unit]:
    out: list[str | Unit] = []
    for chunk in chunk_text(text, max_chars):
        lead, core, trail = split_whitespace(chunk)
        if not core:
            out.append(chunk)
            continue
        mine = {token: target for token, target in links.items() if token in core}
        out.append(Unit(lead, core, trail, mine))
    return out
