"""The backend protocol: what every provider adapter takes and yields.

A backend is a thin adapter: it builds its SDK client from an
:class:`Endpoint`, turns a :class:`Request` into the SDK call, turns the
SDK's stream into :data:`Event` values, and maps the SDK's exceptions into
``llmcli.errors`` with ``map_exceptions``.  Nothing outside
``llmcli/providers/`` knows an SDK exists.  This module imports no SDK.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Message:
    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Request:
    """One call: the conversation plus the generation parameters.

    ``system`` is kept apart from ``messages`` because half the providers take
    it as its own field (Anthropic, Gemini); the OpenAI-style backends prepend
    it as a system message.  ``model`` may be None where the server picks one
    (LM Studio serves whatever model is loaded).
    """

    messages: tuple[Message, ...]
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    reasoning: str | None = None  # off | low | medium | high | max; None: the model's default
    # The user asked to see the thinking (--show-reasoning, --json's reasoning): backends whose
    # provider sends thinking text only on request ask for it (Gemini include_thoughts, Anthropic
    # display "summarized").  Never changes the answer; providers.reasoning says per provider.
    want_reasoning: bool = False


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a provider: a profile with its key resolved.

    ``api_key`` is excluded from ``repr`` so that it never lands in a log or a
    traceback printed with ``--debug``.
    """

    profile: str
    kind: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0


# Events a backend yields, in this order: any number of TextDelta and ReasoningDelta,
# then at most one Usage, then exactly one Done.


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the model's thinking, never part of the answer (shown only on request, on stderr).

    ``text`` may be empty: the model is thinking but sends nothing readable (an
    Anthropic redacted or omitted thinking block, an encrypted reasoning detail).
    It still tells a spinner that thinking has begun; the opaque data is never passed on.
    """

    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None  # reasoning tokens included, as every provider bills them
    total_tokens: int | None = None
    reasoning_tokens: int | None = None  # None where the provider reports no figure

    def as_dict(self) -> dict[str, int | None]:
        total = self.total_tokens
        if total is None and self.input_tokens is not None and self.output_tokens is not None:
            total = self.input_tokens + self.output_tokens
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": total,
            "reasoning_tokens": self.reasoning_tokens,
        }


# How a stream ended, in one vocabulary for every provider (each backend maps its own finish
# reasons with ending_of), so no caller compares provider-specific strings.
COMPLETE = "complete"  # the provider said the answer is finished
TRUNCATED = "truncated"  # cut at the token limit
FILTERED = "filtered"  # stopped by the provider's content filter
INCOMPLETE = "incomplete"  # the stream ended without the provider saying the answer was finished


def ending_of(
    reason: str | None,
    *,
    truncated: Collection[str] = ("length",),
    filtered: Collection[str] = ("content_filter",),
    failed: Collection[str] = (),
) -> str:
    """The ending a provider's finish reason means (compared case-insensitively); None: incomplete."""
    if not reason:
        return INCOMPLETE
    reason = reason.lower()
    if reason in truncated:
        return TRUNCATED
    if reason in filtered:
        return FILTERED
    if reason in failed:
        return INCOMPLETE
    return COMPLETE


@dataclass(frozen=True)
class Done:
    finish_reason: str | None = None  # the provider's own word, as it sent it (for --json)
    model: str | None = None  # the model the server says answered, when it says
    ending: str = INCOMPLETE  # COMPLETE | TRUNCATED | FILTERED | INCOMPLETE


Event = TextDelta | ReasoningDelta | Usage | Done


class Backend(Protocol):
    """What the registry returns: built once per call from an Endpoint."""

    endpoint: Endpoint

    def __init__(self, endpoint: Endpoint) -> None: ...

    def stream(self, request: Request) -> Iterator[Event]:
        """Yield the answer as events; raise only ``llmcli.errors.ProviderError``."""
        ...

    def list_models(self) -> list[str]:
        """Model ids the provider offers; raise ``UnsupportedError`` where it has no list endpoint."""
        ...

    def warm(self) -> None:
        """Make the SDK client now, so the first request is not delayed by it (batch dispatch)."""
        ...
