"""All nine built-in profiles, through their real SDKs: the thinking arrives as reasoning, never as text.

Each fake streams its provider's own thinking shape (tests/providers/reasoning_cases.py);
the text events must add up to the answer alone, the reasoning events to the
thinking, and Usage must carry the provider's reasoning-token figure.
"""

from __future__ import annotations

import json

import pytest

from llmcli.providers.base import ReasoningDelta, TextDelta
from llmcli.thinking import split
from tests.fakes import openai_wire as O
from tests.providers.reasoning_cases import (  # noqa: F401  (fixtures)
    CASES,
    LOCAL_INLINE,
    OPENAI_ANSWER,
    collect,
    fresh,
    request,
    servers,
    stream_case,
    usage_of,
)


@pytest.mark.parametrize("profile", list(CASES))
def test_text_is_the_answer_and_reasoning_the_thinking(fresh, profile):
    case = CASES[profile]
    text, thinking, events = stream_case(case, fresh)
    assert text == case.answer
    assert thinking == case.thinking
    for tag in ("<think", "think>", "thinking"):
        assert all(tag not in e.text for e in events if isinstance(e, TextDelta))
    assert usage_of(events).reasoning_tokens == case.reasoning_tokens
    # Every reasoning event comes before the first word of the answer.
    kinds = [type(e) for e in events if isinstance(e, (TextDelta, ReasoningDelta))]
    if case.thinking:
        assert kinds.index(TextDelta) > kinds.index(ReasoningDelta)
        assert ReasoningDelta not in kinds[kinds.index(TextDelta):]


def test_redacted_thinking_is_a_signal_never_its_data(fresh):
    from tests.fakes import anthropic_wire as A

    case = CASES["anthropic"]
    fresh["anthropic"].enqueue(A.stream_reply(redacted=True, output_tokens=9, thinking_tokens=5))
    text, thinking, events = collect(case.backend(fresh).stream(request("claude-test")))
    reasoning = [e for e in events if isinstance(e, ReasoningDelta)]
    assert reasoning == [ReasoningDelta("")]
    assert A.REDACTED_DATA not in repr(events)
    assert text == case.answer and usage_of(events).reasoning_tokens == 5


def test_reasoning_details_alone_and_encrypted_details(fresh):
    case = CASES["openrouter"]
    fresh["openai"].enqueue(O.stream_reply(thinking=["a summary"], thinking_field="details"))
    assert collect(case.backend(fresh).stream(request("m")))[1] == "a summary"
    fresh["openai"].enqueue(O.stream_reply(thinking=["b3BhcXVl"], thinking_field="encrypted"))
    text, thinking, events = collect(case.backend(fresh).stream(request("m")))
    assert thinking == "" and ReasoningDelta("") in events and "b3BhcXVl" not in repr(events)
    assert text == OPENAI_ANSWER


def test_no_reasoning_figure_is_none_not_zero(fresh):
    case = CASES["deepseek"]
    fresh["openai"].enqueue(O.stream_reply())
    assert usage_of(collect(case.backend(fresh).stream(request("m")))[2]).reasoning_tokens is None


def test_gemini_output_tokens_include_the_thoughts(fresh):
    _, _, events = stream_case(CASES["gemini"], fresh)
    usage = usage_of(events)
    assert (usage.output_tokens, usage.reasoning_tokens) == (4 + 42, 42)


def test_inline_think_through_the_openai_sdk_split_at_every_position(fresh):
    """LM Studio / llama.cpp / Ollama sending <think> in content: cut between two SSE deltas at each character."""
    case = CASES["lmstudio"]
    full = "".join(LOCAL_INLINE)
    backend = case.backend(fresh)
    for i in range(len(full) + 1):
        deltas = [p for p in (full[:i], full[i:]) if p]
        fresh["openai"].enqueue(O.stream_reply(deltas))
        text, thinking, events = collect(split(backend.stream(request())))
        assert (text, thinking) == (OPENAI_ANSWER, "The user wants a rewrite."), i
        assert all("<" not in e.text and ">" not in e.text for e in events if isinstance(e, TextDelta))


def test_forced_open_template_through_the_sdk(fresh):
    """A template that opens the block in the prompt: only </think> comes (think_tags = "open")."""
    case = CASES["lmstudio"]
    fresh["openai"].enqueue(O.stream_reply(["Okay, the user", " wants it formal.\n</thi", "nk>\n\nHello", " from fake server!"]))
    text, thinking, _ = collect(split(case.backend(fresh).stream(request()), opened=True))
    assert (text, thinking) == (OPENAI_ANSWER, "Okay, the user wants it formal.")


# -- the CLI as it is today: answers only on stdout and in --json, reasoning tokens in usage ------------


@pytest.mark.parametrize("profile", list(CASES))
def test_cli_json_text_is_the_answer_and_usage_has_reasoning_tokens(cli, config_file, fresh, profile, monkeypatch):
    case = CASES[profile]
    reply = case.reply()  # LM Studio's inline <think> is split by the call layer (llmcli.thinking)
    server = fresh[case.wire]
    config_file(f'[profiles.{profile}]\nbase_url = "{server.url}{case.prefix}"\n')
    if case.key_var:
        monkeypatch.setenv(case.key_var, "k")
    server.enqueue(reply)
    result = cli("-p", profile, "--json", "Rewrite", input="some text")
    assert result.code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["text"] == case.answer
    assert out["usage"]["reasoning_tokens"] == case.reasoning_tokens
    plain = cli("-p", profile, "Rewrite", input="some text")  # the default reply: no thinking
    assert plain.code == 0 and plain.stdout == case.answer + "\n"
