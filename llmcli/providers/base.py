"""The backend protocol: what every provider adapter takes and yields.

A backend is a thin adapter: it builds its SDK client from an
:class:`Endpoint`, turns a :class:`Request` into the SDK call, turns the
SDK's stream into :data:`Event` values, and maps the SDK's exceptions into
``llmcli.errors`` with ``map_exceptions``.  Nothing outside
``llmcli/providers/`` knows an SDK exists.  This module imports no SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol, Union


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


# Events a backend yields, in this order: any number of TextDelta, then at most
# one Usage, then exactly one Done.


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        total = self.total_tokens
        if total is None and self.input_tokens is not None and self.output_tokens is not None:
            total = self.input_tokens + self.output_tokens
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": total,
        }


@dataclass(frozen=True)
class Done:
    finish_reason: str | None = None
    model: str | None = None  # the model the server says answered, when it says


Event = Union[TextDelta, Usage, Done]


class Backend(Protocol):
    """What the registry returns: built once per call from an Endpoint."""

    def __init__(self, endpoint: Endpoint) -> None: ...

    def stream(self, request: Request) -> Iterator[Event]:
        """Yield the answer as events; raise only ``llmcli.errors.ProviderError``."""
        ...

    def list_models(self) -> list[str]:
        """Model ids the provider offers; raise ``UnsupportedError`` where it has no list endpoint."""
        ...
