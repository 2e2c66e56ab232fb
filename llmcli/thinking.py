"""Inline thinking: a think block at the start of the answer text, split off while it streams.

Local servers (LM Studio, llama.cpp's ``--reasoning-format none``, older
Ollama) and Groq's qwen3 in raw mode send a reasoning model's thinking inside
the answer text, as ``<think>…</think>`` before the answer.  :func:`split`
sits between a backend's events and every consumer: it turns such a leading
block into :class:`ReasoningDelta` events as it arrives, so no writer, file,
``--json`` text or diff ever sees it.  An answer that does not start with a
think tag is passed on after at most its first few characters (after any
leading whitespace, no more than the longest opening tag is held back), then
untouched and uncopied.

Shapes recognised (those LM Studio, llama.cpp, Ollama, Groq and Magistral send): ``<think>``,
``<thinking>``, ``[THINK]`` (Magistral self-hosted), ``◁think▷``; a tag may
be cut across deltas anywhere.  Chat templates that open the block in the
prompt make the model's text start *inside* it, with only a closing tag:
``split(events, opened=True)`` (profile key ``think_tags = "open"``) handles
that live, and :func:`strip_lone_close` handles it wherever the whole answer
is known before it is written.  A block that is never closed is all thinking:
the answer is then empty, and the caller reports that.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from .providers.base import Event, ReasoningDelta, TextDelta

# (opening tag, closing tag) pairs, as models emit them.
TAGS: tuple[tuple[str, str], ...] = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("[THINK]", "[/THINK]"),
    ("◁think▷", "◁/think▷"),
)
OPENERS = tuple(opener for opener, _ in TAGS)
CLOSERS = tuple(closer for _, closer in TAGS)


def split(events: Iterator[Event], *, opened: bool = False) -> Iterator[Event]:
    """``events`` with a leading think block in the text turned into ReasoningDelta events.

    ``opened``: the answer starts inside a thinking block (the chat template
    opened it), so everything up to the first closing tag is thinking.  The
    whitespace between the closing tag and the answer is dropped.  Every other
    event (the provider's own ReasoningDelta, Usage, Done) passes unchanged,
    in order.
    """
    it = iter(events)
    if opened:
        closers, text = CLOSERS, ""
    else:
        found = yield from _leading(it)
        if found is None:
            return
        closers, text = found
    after = yield from _thinking(it, closers, text)
    if after is not None:
        yield from _answer(it, after)


def strip_lone_close(text: str, *, source: str | None = None) -> tuple[str, str]:
    """``(answer, thinking)`` of a whole answer whose thinking has no opening tag.

    For templates that open the think block in the prompt: the text is
    ``thinking…</think>\\n\\nanswer``.  Only a closing tag with no opening tag
    before it counts; a text that starts with a whole block is split the same
    way :func:`split` would.  ``source``: the text that was sent to be
    rewritten; when it contains a closing tag itself, the answer may rightly
    contain one too, and nothing is stripped.  No closing tag: ``(text, "")``.
    """
    if source is not None and any(closer in source for closer in CLOSERS):
        return text, ""
    head = text.lstrip()
    for opener, closer in TAGS:
        if head.startswith(opener):
            end = head.find(closer, len(opener))
            if end < 0:
                return "", head[len(opener):].strip()  # never closed: all thinking
            return head[end + len(closer):].lstrip(), head[len(opener):end].strip()
    found = _first(text, CLOSERS)
    if found is None:
        return text, ""
    end, closer = found
    if any(opener in text[:end] for opener in OPENERS):
        return text, ""  # a tag pair inside the answer: text, not thinking
    return text[end + len(closer):].lstrip(), text[:end].strip()


# -- the three states of split: before the answer is known to start with a tag, in the block, after --


def _leading(it: Iterator[Event]) -> Generator[Event, None, tuple[tuple[str, ...], str] | None]:
    """Pass everything on unless the text starts with an opening tag.

    Returns None when the stream was passed through to its end, else the
    closing tag(s) to look for and the text after the opening tag.
    """
    held = ""
    for event in it:
        if not isinstance(event, TextDelta):
            if isinstance(event, ReasoningDelta):
                yield event
                continue
            break  # Usage / Done: the text is over
        held += event.text
        head = held.lstrip()
        if not head:
            continue  # only whitespace so far: it may still precede a tag
        for opener, closer in TAGS:
            if head.startswith(opener):
                return (closer,), head[len(opener):]
        if any(opener.startswith(head) for opener in OPENERS):
            continue  # may still become an opening tag
        yield TextDelta(held)
        yield from it  # the answer: passed on as it is, nothing held
        return None
    else:
        if held:
            yield TextDelta(held)
        return None
    if held:
        yield TextDelta(held)  # a text shorter than any tag, e.g. "<"
    yield event
    yield from it
    return None


def _thinking(it: Iterator[Event], closers: tuple[str, ...], text: str) -> Generator[Event, None, str | None]:
    """Turn text into ReasoningDelta up to the first closing tag; return the text after it.

    Holds back only what could be the start of a closing tag (and trailing
    whitespace, so the thinking is the block's text stripped however the
    deltas fall).  Returns None
    when the stream ended inside the block (all of it was thinking).
    """
    hold = max(len(closer) for closer in closers) - 1
    leading = True  # whitespace right after the opening tag is not thinking
    while True:
        if leading:
            text = text.lstrip()
            leading = not text
        found = _first(text, closers)
        if found is not None:
            end, closer = found
            thought = text[:end].rstrip()
            if thought:
                yield ReasoningDelta(thought)
            return text[end + len(closer):]
        if len(text) > hold:
            # Give on all but what could start a closing tag, and keep trailing whitespace
            # too: if the tag follows, it is not part of the thinking.
            cut = len(text) - hold
            piece = text[:cut].rstrip()
            if piece:
                yield ReasoningDelta(piece)
                text = text[len(piece):]
        for event in it:
            if isinstance(event, TextDelta):
                text += event.text
                break
            if isinstance(event, ReasoningDelta):
                yield event
                continue
            # Usage / Done inside the block: never closed, so all of it was thinking.
            if text.strip():
                yield ReasoningDelta(text.rstrip())
            yield event
            yield from it
            return None
        else:
            if text.strip():
                yield ReasoningDelta(text.rstrip())
            return None


def _answer(it: Iterator[Event], text: str) -> Iterator[Event]:
    """The answer after the block, without the whitespace that separated them."""
    text = text.lstrip()
    while not text:
        for event in it:
            if isinstance(event, TextDelta):
                text = event.text.lstrip()
                if text:
                    break
                continue
            yield event
        else:
            return
    yield TextDelta(text)
    yield from it


def _first(text: str, needles: tuple[str, ...]) -> tuple[int, str] | None:
    """The earliest occurrence of any needle in text, as (index, needle)."""
    best: tuple[int, str] | None = None
    for needle in needles:
        at = text.find(needle)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, needle)
    return best
