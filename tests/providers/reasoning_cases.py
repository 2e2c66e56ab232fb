"""The nine built-in profiles as the reasoning tests drive them: each fake streaming its provider's real thinking shape.

One :class:`Case` per built-in profile: where its fake listens (``servers``
fixture in test_reasoning_profiles.py / test_reasoning_requests.py), the reply
that streams thinking the way that provider does, the thinking text and the
reasoning-token figure the backend must report.  Wire shapes:
the docstrings of tests/fakes/*_wire.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import pytest

from llmcli.providers import backend_for
from llmcli.providers.base import Endpoint, Message, ReasoningDelta, Request, TextDelta, Usage
from llmcli.thinking import split
from tests.fakes import anthropic_wire as A
from tests.fakes import dashscope_wire as D
from tests.fakes import gemini_wire as G
from tests.fakes import mistral_wire as M
from tests.fakes import openai_wire as O
from tests.fakes.server import Reply

WIRES: dict[str, ModuleType] = {"openai": O, "anthropic": A, "gemini": G, "mistral": M, "dashscope": D}


@dataclass(frozen=True)
class Case:
    profile: str  # the built-in profile name
    kind: str
    wire: str  # a key of WIRES
    prefix: str  # added to the fake's URL to make the profile's base_url
    key_var: str | None
    reply: Callable[[], Reply]  # streams thinking, then the fake's default answer
    thinking: str  # what the ReasoningDelta events must add up to
    reasoning_tokens: int | None
    answer: str

    def endpoint(self, url: str, timeout: float = 5.0) -> Endpoint:
        return Endpoint(profile=self.profile, kind=self.kind, base_url=url + self.prefix, api_key="k",
                        headers={}, timeout=timeout)

    def backend(self, servers):
        return backend_for(self.endpoint(servers[self.wire].url))


def request(model: str | None = None, **kw) -> Request:
    return Request(messages=(Message("user", "Rewrite this"),), model=model, **kw)


def collect(events) -> tuple[str, str, list]:
    events = list(events)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    thinking = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    return text, thinking, events


def usage_of(events) -> Usage:
    (usage,) = [e for e in events if isinstance(e, Usage)]
    return usage


OPENAI_ANSWER = "".join(O.DEFAULT_DELTAS)
LOCAL_INLINE = ["<think>", "\nThe user wants", " a rewrite.\n</th", "ink>\n\n", "Hello", " from fake server!"]

CASES: dict[str, Case] = {c.profile: c for c in (
    # OpenAI streams no reasoning text on chat completions: only its token count.
    Case("openai", "openai", "openai", "/v1", "OPENAI_API_KEY",
         lambda: O.stream_reply(completion_tokens=32, reasoning_tokens=28), "", 28, OPENAI_ANSWER),
    # LM Studio without "separate reasoning_content": <think> inline in the text (split by llmcli.thinking).
    Case("lmstudio", "lmstudio", "openai", "/v1", None,
         lambda: O.stream_reply(LOCAL_INLINE), "The user wants a rewrite.", None, OPENAI_ANSWER),
    Case("groq", "groq", "openai", "/openai/v1", "GROQ_API_KEY",
         lambda: O.stream_reply(thinking=["Plan:", " be formal."], thinking_field="reasoning",
                                completion_tokens=20, reasoning_tokens=16),
         "Plan: be formal.", 16, OPENAI_ANSWER),
    # OpenRouter repeats the text in reasoning and reasoning_details: counted once.
    Case("openrouter", "openrouter", "openai", "/api/v1", "OPENROUTER_API_KEY",
         lambda: O.stream_reply(thinking=["Think", "ing."], thinking_field="openrouter",
                                completion_tokens=79, reasoning_tokens=64),
         "Thinking.", 64, OPENAI_ANSWER),
    Case("deepseek", "deepseek", "openai", "/v1", "DEEPSEEK_API_KEY",
         lambda: O.stream_reply(thinking=["Let me", " think."], thinking_field="reasoning_content",
                                completion_tokens=40, reasoning_tokens=36),
         "Let me think.", 36, OPENAI_ANSWER),
    Case("anthropic", "anthropic", "anthropic", "", "ANTHROPIC_API_KEY",
         lambda: A.stream_reply(thinking=["Let me", " think."], redacted=True, output_tokens=40, thinking_tokens=33),
         "Let me think.", 33, "".join(A.DEFAULT_DELTAS)),
    Case("gemini", "gemini", "gemini", "", "GEMINI_API_KEY",
         lambda: G.stream_reply(thoughts=["**Planning** the rewrite"], thoughts_tokens=42),
         "**Planning** the rewrite", 42, "".join(G.DEFAULT_DELTAS)),
    Case("mistral", "mistral", "mistral", "", "MISTRAL_API_KEY",
         lambda: M.stream_reply(thinking=["Let me", " think."], chunked_text=True, reasoning_tokens=2),
         "Let me think.", 2, "".join(M.DEFAULT_DELTAS)),
    Case("qwen", "dashscope", "dashscope", "/api/v1", "DASHSCOPE_API_KEY",
         lambda: D.stream_reply(thinking=["Let me", " think."], reasoning_tokens=3),
         "Let me think.", 3, "".join(D.DEFAULT_DELTAS)),
)}


def stream_case(case: Case, servers, req: Request | None = None) -> tuple[str, str, list]:
    """One call through the real SDK against the fake, thinking split off as the call layer will."""
    servers[case.wire].enqueue(case.reply())
    return collect(split(case.backend(servers).stream(req or request(want_reasoning=True))))


@pytest.fixture(scope="module")
def servers():
    started = {name: wire.make_server().start() for name, wire in WIRES.items()}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture
def fresh(servers):
    """The servers, with no reply queued and nothing recorded by another test."""
    for server in servers.values():
        server.replies.clear()
        server.requests.clear()
    return servers
