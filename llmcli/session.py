"""One exchange with a provider, the same for single mode and batch: request in, :class:`Answer` out.

:func:`complete` streams one resolved request (see :mod:`llmcli.call`) through a
backend, feeds the answer's text to a writer as it arrives, keeps the model's
thinking apart from it, applies the one retry policy (:mod:`llmcli.retry`), and
returns what ``--json``, ``-u``, the batch report and history need.
:func:`check_answer` is the one judgement of whether an answer may stand:
truncated, filtered, incomplete or empty answers never replace a text.  Neither
prints anything; neither knows an SDK.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors as E
from .providers import KINDS
from .providers.base import (
    COMPLETE,
    FILTERED,
    INCOMPLETE,
    TRUNCATED,
    Backend,
    Done,
    ReasoningDelta,
    Request,
    TextDelta,
    Usage,
)
from .render import NullWriter, Writer
from .retry import OnRetry, RetryPolicy, retrying
from .thinking import split, strip_lone_close


@dataclass
class Answer:
    """What came back: the text, the model's thinking (never part of the text) and the figures."""

    text: str
    profile: str
    provider: str  # the provider kind
    model: str | None
    usage: Usage | None
    finish_reason: str | None  # the provider's own word
    ending: str  # providers.base COMPLETE | TRUNCATED | FILTERED | INCOMPLETE
    seconds: float
    attempts: int = 1
    reasoning: str = ""
    cached: bool = False  # answered from the history (--cache): no request made

    def as_json(self, *, with_reasoning: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "profile": self.profile,
            "provider": self.provider,
            "model": self.model,
            "usage": (self.usage or Usage()).as_dict(),
            "finish_reason": self.finish_reason,
            "seconds": round(self.seconds, 3),
            "cached": self.cached,
        }
        if with_reasoning:
            out["reasoning"] = self.reasoning
        return out


def complete(
    backend: Backend,
    request: Request,
    *,
    policy: RetryPolicy,
    writer: Writer | None = None,
    clean_source: str | None = None,
    on_reasoning: Callable[[str], None] | None = None,
    think_open: bool = False,
    replay: bool = False,
    on_retry: OnRetry | None = None,
    stop: threading.Event | None = None,
    before_attempt: Callable[[], None] | None = None,
) -> Answer:
    """Stream one answer into ``writer`` and return it whole.

    The model's thinking never becomes text: backends report their provider's
    thinking fields as reasoning events, and a ``<think>`` block the model wrote into
    the text itself is split off as it streams (:mod:`llmcli.thinking`; ``think_open``:
    the profile's answers start inside one).  ``on_reasoning`` sees the thinking as it
    arrives.  ``clean_source``: the text that was sent; when given, a wrapper the
    model put around the whole answer is taken off (:mod:`llmcli.clean`), while
    streaming and in the returned text, and so is a lone ``</think>`` whose opening
    tag was in the prompt.  ``replay``: nothing fed to ``writer`` reaches anyone before
    the end (batch), so an answer that broke off may be asked for again; otherwise a
    retry is made only before the first word was shown.  ``before_attempt`` runs before
    every request is sent (batch: the rate limiter).

    A stream that ends without the provider saying the answer is finished raises
    :class:`~llmcli.errors.IncompleteAnswer` (retried like a broken connection).  On
    Ctrl-C or an error the writer is told to ``abort`` (what was printed stays
    printed) and the error propagates; KeyboardInterrupt becomes ``Interrupted``.
    """
    endpoint = backend.endpoint
    shown: Writer = writer or NullWriter()
    if clean_source and writer is not None:
        from .clean import CleaningWriter

        shown = CleaningWriter(shown, clean_source)
    started = time.monotonic()
    delivered = False  # a word of the answer went to the writer
    attempts = 0

    def attempt() -> tuple[list[str], list[str], Usage | None, Done]:
        nonlocal delivered, attempts
        attempts += 1
        if before_attempt is not None:
            before_attempt()
        parts: list[str] = []
        thoughts: list[str] = []
        usage: Usage | None = None
        done: Done | None = None
        for event in split(backend.stream(request), opened=think_open):
            if isinstance(event, TextDelta):
                parts.append(event.text)
                if not replay:
                    delivered = True
                    shown.feed(event.text)
            elif isinstance(event, ReasoningDelta):
                thoughts.append(event.text)
                if on_reasoning is not None:  # an empty one too: hidden thinking (the spinner says so)
                    delivered = delivered or (not replay and bool(event.text))  # shown thinking is not shown twice
                    on_reasoning(event.text)
            elif isinstance(event, Usage):
                usage = event
            elif isinstance(event, Done):
                done = event
        if done is None or done.ending == INCOMPLETE:
            raise E.IncompleteAnswer(
                "the stream ended before the provider said the answer was finished",
                profile=endpoint.profile, provider=KINDS[endpoint.kind].label,
            )
        return parts, thoughts, usage, done

    try:
        parts, thoughts, usage, done = retrying(
            attempt, policy, may_retry=lambda err: replay or not delivered, on_retry=on_retry, stop=stop,
        )
        text = "".join(parts)
        if replay:
            shown.feed(text)
        shown.finish()
    except KeyboardInterrupt:
        shown.abort()
        raise E.Interrupted("interrupted") from None
    except BaseException:
        shown.abort()
        raise
    text, reasoning = finished_text(text, "".join(thoughts), clean_source)
    return Answer(
        text=text,
        profile=endpoint.profile,
        provider=endpoint.kind,
        model=done.model or request.model,
        usage=usage,
        finish_reason=done.finish_reason,
        ending=done.ending,
        seconds=time.monotonic() - started,
        attempts=attempts,
        reasoning=reasoning,
    )


def finished_text(text: str, reasoning: str, clean_source: str | None) -> tuple[str, str]:
    """The answer once it is whole: (text, reasoning) with the clean-up applied when ``clean_source`` is given.

    A lone ``</think>`` (the chat template opened the block in the prompt) and what
    precedes it move to the reasoning, then a wrapper around the whole answer is
    taken off.  Streaming answers (:func:`complete`) and a provider batch's result
    lines (llmcli/jobs/) both end here.
    """
    if not clean_source:
        return text, reasoning
    from .clean import clean_answer

    text, late_thinking = strip_lone_close(text, source=clean_source)
    return clean_answer(text, clean_source), reasoning + late_thinking


def cached_answer(record: Any, endpoint: Any) -> Answer:
    """An answer taken from the history (``--cache``): shown and written as a fresh one, no request made."""
    return Answer(text=record.answer, profile=endpoint.profile, provider=endpoint.kind,
                  model=record.served_model or record.model, usage=None, finish_reason=record.finish_reason,
                  ending=COMPLETE, seconds=0.0, attempts=0, reasoning=record.reasoning or "", cached=True)


def check_answer(answer: Answer, *, replaces_text: bool, chunked: bool = False) -> list[str]:
    """Whether ``answer`` may stand: raise when it must not replace a text, else return warnings.

    ``replaces_text``: the answer is about to replace or become a file (``-o``, batch).
    Then an answer cut at the token limit, stopped by a content filter or empty is an
    error; on stdout it is shown with a warning.  ``chunked``: a part of a longer file
    (the hint names ``--max-input-chars`` too).
    """
    label = KINDS[answer.provider].label
    where: dict[str, Any] = {"profile": answer.profile, "provider": label}
    warnings: list[str] = []
    thought_it_all = not answer.text.strip() and (answer.reasoning or (answer.usage and answer.usage.reasoning_tokens))
    if answer.ending == TRUNCATED:
        hint = "raise --max-tokens" + (", or lower --max-input-chars" if chunked else "")
        if thought_it_all:
            message = "the thinking used the whole token budget; no answer came"
            hint = "raise --max-tokens or lower --reasoning"
        else:
            message = "the answer was cut at the token limit"
        if replaces_text:
            err = E.TruncatedAnswer(message, **where)
            err.hint = hint
            raise err
        warnings.append(f"{message} ({hint})")
    elif answer.ending == FILTERED:
        message = f"the provider's content filter stopped the answer ({answer.finish_reason})"
        if replaces_text:
            raise E.FilteredAnswer(message, **where)
        warnings.append(message)
    elif answer.ending != COMPLETE:  # complete() raised for INCOMPLETE already
        raise E.IncompleteAnswer(f"the answer ended with '{answer.finish_reason}'", **where)
    if not answer.text.strip() and answer.ending == COMPLETE:
        if replaces_text:
            raise E.EmptyAnswer("the model returned no text", **where)
        warnings.append("the model returned no text")
    return warnings
