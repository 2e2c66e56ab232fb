"""A file as the pieces a batch sends, and the way the answers are put back together.

A *unit* is one request's worth of text: its ``core`` is sent, and its
``lead``/``trail`` whitespace and everything ``kept`` between units (code,
front matter, HTML, link definitions in Markdown-safe mode) are copied back
byte for byte.  So a rewrite changes only what the model was shown, chunks
come back in order, and nothing is ever truncated: a file either becomes the
concatenation of all its parts or is not written.

In Markdown-safe mode link targets travel as tokens (``⟦1⟧``, see
:mod:`llmcli.batch.markdown_safe`).  They are numbered across the whole file,
with one tag chosen against the whole file, and a chunk is never cut inside
one; the check on the way back is made on the reassembled file: every token
exactly once, in the unit it was sent in, none invented, else
:class:`LinkTokensLost` and the file is not written.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..errors import one_line, scrub
from .chunking import chunk_text, split_whitespace
from .markdown_safe import LinkTokenError, link_tag, mask_links, split_markdown, token_pattern, unmask_links

#: How much of a link target a message shows (a data: URL or a signed link can be kilobytes).
TARGET_SHOWN = 40
#: How many links a message names before "and N more".
LINKS_SHOWN = 3


@dataclass
class Unit:
    lead: str
    core: str
    trail: str
    links: dict[str, str] = field(default_factory=dict)  # token -> original link target, the tokens in core


@dataclass
class Layout:
    """The file as an ordered list of kept strings and units.

    ``links``: every token of the file -> its original target (empty when
    nothing was masked); ``tag``: the tokens' tag (see ``link_tag``).
    """

    parts: list[str | Unit]
    links: dict[str, str] = field(default_factory=dict)
    tag: str = ""

    @property
    def units(self) -> list[Unit]:
        return [p for p in self.parts if isinstance(p, Unit)]

    def assemble(self, answers: list[str]) -> str:
        """Put ``answers`` (one per unit, in order) back; :class:`LinkTokensLost` if a link token was lost.

        A token missing, repeated, invented, or turning up in another unit's
        answer than the one it was sent in fails the whole file.
        """
        out: list[str] = []
        it = iter(answers)
        pattern = token_pattern(self.tag)
        missing: list[str] = []
        duplicated: list[str] = []
        unknown: list[str] = []
        failed: list[int] = []
        index = 0
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            answer = next(it).strip()
            if self.links:
                counts = Counter(pattern.findall(answer))
                lost = [token for token in part.links if counts[token] == 0]
                repeated = [token for token in part.links if counts[token] > 1]
                strange = [token for token in counts if token not in part.links]
                if lost or repeated or strange:
                    missing, duplicated, unknown = missing + lost, duplicated + repeated, unknown + strange
                    failed.append(index)
            out.append(part.lead + answer + part.trail)
            index += 1
        whole = "".join(out)
        if failed:
            raise LinkTokensLost(missing, duplicated, unknown, self.links, units=failed)
        try:
            return unmask_links(whole, self.links)  # the whole file, counted again: the last word
        except LinkTokenError as exc:  # pragma: no cover - the per-unit counts above catch it first
            raise LinkTokensLost(exc.missing, exc.duplicated, exc.unknown, self.links) from None


class LinkTokensLost(LinkTokenError):
    """The model's answers do not give back each link token of the file exactly once, in place.

    A :class:`~llmcli.batch.markdown_safe.LinkTokenError` (so a ``ValueError``)
    with ``missing``, ``duplicated``, ``unknown`` (the offending tokens, in
    file order), ``targets`` (token -> original target, for every token of the
    file), ``units`` (indices into ``Layout.units`` of the answers at fault:
    asking again for those is enough) and ``attempts`` (how many answers were
    tried; the message says so when more than one).  The message is meant for
    a person: which links the model dropped (targets cut to
    :data:`TARGET_SHOWN` characters) and that ``--no-markdown-safe`` sends the
    Markdown whole.
    """

    def __init__(self, missing: list[str], duplicated: list[str], unknown: list[str],
                 targets: dict[str, str], *, units: list[int] | None = None, attempts: int = 1) -> None:
        super().__init__(missing, duplicated, unknown)
        self.targets = targets
        self.units = units or []
        self.attempts = attempts
        self.args = (str(self),)

    @property
    def extra(self) -> list[str]:
        """Tokens the answers hold too often or that were never sent in that place."""
        return self.duplicated + [token for token in self.unknown if token not in self.duplicated]

    def with_attempts(self, attempts: int) -> LinkTokensLost:
        """The same loss, after ``attempts`` answers (for the message's "retried once")."""
        return LinkTokensLost(self.missing, self.duplicated, self.unknown, self.targets, units=self.units,
                              attempts=attempts)

    def __str__(self) -> str:
        what = []
        if self.missing:
            what.append(f"dropped {_links(self.missing)} ({self._named(self.missing)}) from its answer")
        if self.duplicated:
            what.append(f"repeated {_links(self.duplicated)} ({self._named(self.duplicated)})")
        if self.unknown:
            what.append(f"wrote {len(self.unknown)} link placeholder{'s' if len(self.unknown) > 1 else ''} "
                        f"that {'were' if len(self.unknown) > 1 else 'was'} not in that part of the text "
                        f"({self._named(self.unknown)})")
        text = "the model " + " and ".join(what)
        if self.attempts == 2:
            text += "; retried once"
        elif self.attempts > 2:
            text += f"; tried {self.attempts} times"
        return scrub(text + "; --no-markdown-safe sends the Markdown whole")

    def _named(self, tokens: list[str]) -> str:
        shown = [f"{token} → {_short(self.targets[token])}" if token in self.targets else token
                 for token in tokens[:LINKS_SHOWN]]
        if len(tokens) > LINKS_SHOWN:
            shown.append(f"and {len(tokens) - LINKS_SHOWN} more")
        return ", ".join(shown)


def _links(tokens: list[str]) -> str:
    return f"{len(tokens)} link{'s' if len(tokens) > 1 else ''}"


_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def _short(target: str) -> str:
    """A target fit for a one-line message: on one line, no user:password, at most TARGET_SHOWN characters."""
    text = _USERINFO.sub("…@", one_line(target))
    return text if len(text) <= TARGET_SHOWN else text[: TARGET_SHOWN - 1] + "…"


def layout(text: str, *, max_chars: int, markdown_safe: bool) -> Layout:
    """Cut ``text`` into units of at most ``max_chars`` (prose only when ``markdown_safe``)."""
    if not markdown_safe:
        return Layout(_units(text, max_chars, {}, None))
    parts: list[str | Unit] = []
    links: dict[str, str] = {}
    tag = link_tag(text)
    tokens = token_pattern(tag)
    for segment in split_markdown(text):
        if segment.rewrite and segment.text.strip():
            masked, table = mask_links(segment.text, tag=tag, first=len(links) + 1)
            links.update(table)
            parts += _units(masked, max_chars, table, tokens if table else None)
        else:
            parts.append(segment.text)
    return Layout(parts, links, tag)


def _units(text: str, max_chars: int, links: dict[str, str], tokens: re.Pattern[str] | None) -> list[str | Unit]:
    out: list[str | Unit] = []
    for chunk in chunk_text(text, max_chars, unbreakable=tokens):
        lead, core, trail = split_whitespace(chunk)
        if not core:
            out.append(chunk)
            continue
        mine = {token: links[token] for token in tokens.findall(core)} if tokens else {}
        out.append(Unit(lead, core, trail, mine))
    return out
