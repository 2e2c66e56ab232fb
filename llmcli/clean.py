"""A light, safe clean-up of an answer: take off a wrapper the model added around the whole text.

Models sometimes return the rewrite inside one code fence, inside quotes, or
inside the very ``<text>`` tags we sent.  That wrapper is removed only when
it wraps the *whole* answer, appears exactly once, and the input did not
start with the same thing; the inside is never touched.  ``--no-clean`` keeps
the answer as it came.

:class:`CleaningWriter` keeps streaming intact: an answer is held back only
when its first characters could open such a wrapper.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"\A(?P<fence>`{3,}|~{3,})[^\n`]*\n(?P<body>.*?)\n?(?P=fence)[ \t]*\Z", re.S)
_TAGS = re.compile(r"\A<(?P<tag>text(?:-\d+)?)>[ \t]*\n?(?P<body>.*?)\n?</(?P=tag)>\Z", re.S)
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb", "\u201e": "\u201c"}
# First characters that may open a wrapper: an answer starting with one is held until complete.
OPENERS = "`~<" + "".join(_QUOTES)


def clean_answer(answer: str, source: str) -> str:
    """``answer`` without a whole-answer fence, quote pair or echoed ``<text>`` tags the source lacked."""
    core = answer.strip()
    src = source.lstrip()
    m = _TAGS.match(core)
    if m and not src.startswith("<"):
        core = m.group("body").strip("\n")
        answer = core
    m = _FENCE.match(core)
    inner_fence = m and re.search(rf"^{re.escape(m.group('fence'))}", m.group("body"), re.M)
    if m and not src.startswith(m.group("fence")[:3]) and not inner_fence:
        return m.group("body")
    if len(core) >= 2 and core[0] in _QUOTES and core[-1] == _QUOTES[core[0]] and not src.startswith(core[0]):
        inner = core[1:-1]
        if core[0] not in inner and _QUOTES[core[0]] not in inner:
            return inner
    return answer


class CleaningWriter:
    """Passes text through to ``inner``, or holds a possibly wrapped answer and writes it cleaned."""

    def __init__(self, inner, source: str) -> None:
        self.inner = inner
        self.source = source
        self.buffer: list[str] = []
        self.holding: bool | None = None  # None until the first visible character arrives

    def feed(self, text: str) -> None:
        if self.holding is False:
            self.inner.feed(text)
            return
        self.buffer.append(text)
        if self.holding:  # decided: held until the end (joining the buffer per delta would be quadratic)
            return
        head = "".join(self.buffer).lstrip()
        if not head:
            return
        self.holding = head[0] in OPENERS and not self.source.lstrip().startswith(head[0])
        if not self.holding:
            self.inner.feed("".join(self.buffer))
            self.buffer.clear()

    def finish(self) -> None:
        if self.buffer:
            whole = "".join(self.buffer)
            self.inner.feed(clean_answer(whole, self.source) if self.holding else whole)
            self.buffer.clear()
        self.inner.finish()

    def abort(self) -> None:
        if self.buffer:
            self.inner.feed("".join(self.buffer))
            self.buffer.clear()
        self.inner.abort()
