"""``Request.reasoning`` in each provider's own field (the JSON the fake received), the level errors
before any request, temperatures the model rejects, and 400s turned into a hint.
"""

from __future__ import annotations

import pytest

from llmcli import errors as E
from llmcli.providers import check_reasoning, prepare
from tests.fakes import anthropic_wire as A
from tests.fakes import dashscope_wire as D
from tests.fakes import gemini_wire as G
from tests.fakes import openai_wire as O
from tests.providers.reasoning_cases import CASES, collect, fresh, request, servers  # noqa: F401  (fixtures)


def sent(case_name: str, servers, req) -> dict:
    """Stream ``req`` through the profile's backend; the JSON body its fake received."""
    case = CASES[case_name]
    collect(case.backend(servers).stream(req))
    return servers[case.wire].last.json


def snake(d: dict) -> dict:
    """Gemini's inner config keys, whichever case the SDK writes them in."""
    return {"".join("_" + c.lower() if c.isupper() else c for c in k): v for k, v in d.items()}


def gemini_thinking(body: dict) -> dict | None:
    config = body.get("generationConfig", {})
    value = config.get("thinkingConfig", config.get("thinking_config"))
    return snake(value) if value is not None else None


# profile, request fields, check of the body (level -> the provider's field)
FIELDS = [
    ("openai", dict(model="o4-mini", reasoning="high", max_tokens=64),
     lambda b: b["reasoning_effort"] == "high" and b["max_completion_tokens"] == 64 and "max_tokens" not in b),
    ("openai", dict(model="gpt-5.2", reasoning="off"), lambda b: b["reasoning_effort"] == "none"),
    ("openai", dict(model="gpt-5.2", reasoning="max"), lambda b: b["reasoning_effort"] == "xhigh"),
    ("openai", dict(model="gpt-4.1-mini", reasoning="off"), lambda b: "reasoning_effort" not in b),
    ("lmstudio", dict(reasoning="low"), lambda b: b["reasoning_effort"] == "low" and "model" not in b),
    ("groq", dict(reasoning="medium"),
     lambda b: b["model"] == "openai/gpt-oss-120b" and b["reasoning_effort"] == "medium" and "reasoning_format" not in b),
    ("groq", dict(model="qwen/qwen3.6-27b", reasoning="off"),
     lambda b: b["reasoning_effort"] == "none" and b["reasoning_format"] == "parsed"),
    ("groq", dict(model="qwen/qwen3.6-27b", reasoning="high"), lambda b: b["reasoning_effort"] == "default"),
    ("openrouter", dict(model="anthropic/claude-sonnet-4-6", reasoning="max"),
     lambda b: b["reasoning"] == {"effort": "xhigh"} and "reasoning_effort" not in b),
    ("openrouter", dict(model="x/y", reasoning="off"), lambda b: b["reasoning"] == {"effort": "none"}),
    ("deepseek", dict(reasoning="off"),
     lambda b: b["model"] == "deepseek-v4-flash" and b["thinking"] == {"type": "disabled"} and "reasoning_effort" not in b),
    ("deepseek", dict(reasoning="max"), lambda b: b["thinking"] == {"type": "enabled"} and b["reasoning_effort"] == "max"),
    # Claude 4.5 and older: a budget, below max_tokens, which grows by it.
    ("anthropic", dict(model="claude-haiku-4-5", reasoning="medium", max_tokens=500, temperature=0.4),
     lambda b: b["thinking"] == {"type": "enabled", "budget_tokens": 8192} and b["max_tokens"] == 500 + 8192
     and "temperature" not in b and "output_config" not in b),
    ("anthropic", dict(model="claude-haiku-4-5", reasoning="low", want_reasoning=True),
     lambda b: b["thinking"] == {"type": "enabled", "budget_tokens": 2048, "display": "summarized"}
     and b["max_tokens"] == 4096 + 2048),
    # 4.6 and later: adaptive + effort.
    ("anthropic", dict(model="claude-sonnet-4-6", reasoning="high"),
     lambda b: b["thinking"] == {"type": "adaptive"} and b["output_config"] == {"effort": "high"}
     and b["max_tokens"] == 4096 + 16384),
    ("anthropic", dict(model="claude-sonnet-4-6", reasoning="off", temperature=0.4),
     lambda b: b["thinking"] == {"type": "disabled"} and b["temperature"] == 0.4 and b["max_tokens"] == 4096),
    ("anthropic", dict(model="claude-opus-4-7", temperature=0.4),
     lambda b: "temperature" not in b and "thinking" not in b),
    ("gemini", dict(model="gemini-2.5-flash", reasoning="off"), lambda b: gemini_thinking(b) == {"thinking_budget": 0}),
    ("gemini", dict(model="gemini-2.5-pro", reasoning="high", want_reasoning=True),
     lambda b: gemini_thinking(b) == {"thinking_budget": 16384, "include_thoughts": True}),
    ("gemini", dict(reasoning="low"), lambda b: gemini_thinking(b) == {"thinking_level": "LOW"}),
    ("gemini", dict(model="gemini-3.5-flash", reasoning="off"), lambda b: gemini_thinking(b) == {"thinking_level": "MINIMAL"}),
    ("gemini", dict(want_reasoning=True), lambda b: gemini_thinking(b) == {"include_thoughts": True}),
    ("gemini", dict(), lambda b: gemini_thinking(b) is None),
    ("mistral", dict(reasoning="high"),
     lambda b: b["model"] == "mistral-small-latest" and b["reasoning_effort"] == "high" and "prompt_mode" not in b),
    ("mistral", dict(reasoning="off"), lambda b: b["reasoning_effort"] == "none"),
    ("mistral", dict(model="magistral-medium-latest", reasoning="high"),
     lambda b: b["prompt_mode"] == "reasoning" and "reasoning_effort" not in b),
    ("mistral", dict(), lambda b: "reasoning_effort" not in b and "prompt_mode" not in b),
    ("qwen", dict(reasoning="low"),
     lambda b: b["parameters"]["enable_thinking"] is True and b["parameters"]["thinking_budget"] == 2048),
    ("qwen", dict(reasoning="high"),
     lambda b: b["parameters"]["enable_thinking"] is True and "thinking_budget" not in b["parameters"]),
    ("qwen", dict(reasoning="off"), lambda b: b["parameters"]["enable_thinking"] is False),
    ("qwen", dict(), lambda b: "enable_thinking" not in b["parameters"]),
]


@pytest.mark.parametrize("profile, fields, check", FIELDS,
                         ids=[f"{p}-{f.get('model', 'default')}-{f.get('reasoning')}" for p, f, _ in FIELDS])
def test_level_is_sent_in_the_providers_own_field(fresh, profile, fields, check):
    body = sent(profile, fresh, request(**fields))
    assert check(body), body


def test_openai_reasoning_model_gets_no_temperature_and_one_warning():
    req = request("o3", temperature=0.7, reasoning="low")
    ready, warnings = prepare("openai", req)
    assert ready.temperature is None and ready.reasoning == "low"
    assert warnings == ["OpenAI model 'o3' does not take a temperature: 0.7 is not sent"]
    assert prepare("openai", ready) == (ready, [])  # idempotent: the backend repeats it harmlessly


@pytest.mark.parametrize("kind, model, level, kept", [
    ("openai", "gpt-4.1-mini", None, True),
    ("openai", "gpt-5.2", "off", True),  # 5.1+ with effort none take sampling parameters
    ("openai", "gpt-5.2", None, True),  # its default effort is none: the server decides
    ("openai", "gpt-5.2", "low", False),
    ("openai", "gpt-5", None, False),
    ("openai", "gpt-5-chat-latest", None, True),
    ("anthropic", "claude-sonnet-4-6", None, True),
    ("anthropic", "claude-sonnet-4-6", "low", False),
    ("anthropic", "claude-sonnet-4-6", "off", True),
    ("anthropic", "claude-opus-4-7", None, False),
    ("deepseek", "deepseek-v4-flash", "high", True),  # ignored there, not rejected
    ("gemini", "gemini-3.8-flash", "high", True),
])
def test_temperature_is_dropped_only_where_it_is_rejected(kind, model, level, kept):
    ready, warnings = prepare(kind, request(model, temperature=0.5, reasoning=level))
    assert (ready.temperature == 0.5) is kept
    assert len(warnings) == (0 if kept else 1)
    if not kept:
        assert model in warnings[0] and "temperature" in warnings[0] and "\n" not in warnings[0]


def test_the_backend_drops_a_rejected_temperature_even_when_the_caller_did_not(fresh):
    body = sent("openai", fresh, request("o4-mini", temperature=0.7))
    assert "temperature" not in body


# -- levels a provider cannot take: one line, before any request ------------------------------------

REFUSED = [
    ("openai", "gpt-4.1-mini", "high", "'off'"),
    ("openai", "o3", "off", "'low', 'medium' or 'high'"),
    ("openai", "gpt-5.1", "max", "'off', 'low', 'medium' or 'high'"),
    ("groq", None, "off", "'low', 'medium' or 'high'"),  # gpt-oss-120b
    ("groq", "qwen/qwen3.6-27b", "low", "'off' or 'high'"),
    ("lmstudio", None, "max", "'off', 'low', 'medium' or 'high'"),
    ("anthropic", "claude-opus-4-7", "off", "'low', 'medium', 'high' or 'max'"),
    ("anthropic", "claude-3-5-haiku-latest", "low", "'off'"),
    ("gemini", None, "off", "'low', 'medium' or 'high'"),  # gemini-3.8-flash
    ("gemini", "gemini-2.5-pro", "off", "'low', 'medium', 'high' or 'max'"),
    ("gemini", "gemini-3.1-pro-preview", "max", "'low', 'medium' or 'high'"),
    ("mistral", None, "low", "'off' or 'high'"),  # mistral-small-latest
    ("mistral", "magistral-medium-latest", "off", "'high'"),
    ("qwen", None, "max", "'off', 'low', 'medium' or 'high'"),
    ("qwen", "qwq-plus", "off", "'low', 'medium' or 'high'"),
    ("deepseek", None, "extreme", "off', 'low', 'medium', 'high' or 'max'"),
]


@pytest.mark.parametrize("profile, model, level, accepted", REFUSED,
                         ids=[f"{p}-{m}-{lv}" for p, m, lv, _ in REFUSED])
def test_a_level_the_model_cannot_take_fails_before_any_request(fresh, profile, model, level, accepted):
    case = CASES[profile]
    with pytest.raises(E.UsageError) as up_front:
        check_reasoning(case.kind, model, level)
    message = str(up_front.value)
    assert "\n" not in message and accepted in message and f"'{level}'" in message
    assert up_front.value.exit_code == E.EXIT_USAGE
    # The backend refuses it too (defence), and sends nothing.
    with pytest.raises(E.UsageError) as in_backend:
        collect(case.backend(fresh).stream(request(model, reasoning=level)))
    assert str(in_backend.value) == message
    assert fresh[case.wire].requests == []


def test_error_names_the_model_and_the_provider():
    with pytest.raises(E.UsageError) as info:
        check_reasoning("anthropic", "claude-opus-4-7", "off")
    assert str(info.value) == ("reasoning 'off' is not available for Anthropic model 'claude-opus-4-7' "
                               "(its thinking cannot be turned off): it takes 'low', 'medium', 'high' or 'max'")


def test_unset_level_is_always_accepted_and_sends_nothing(fresh):
    for profile in ("openai", "groq", "openrouter", "deepseek", "lmstudio"):
        body = sent(profile, fresh, request("o3" if profile == "openai" else None))
        assert not {"reasoning_effort", "reasoning", "thinking"} & set(body), (profile, body)
    body = sent("anthropic", fresh, request("claude-test"))
    assert "thinking" not in body and "output_config" not in body


# -- a 400 only the server could predict: a hint naming what to remove ------------------------------


def test_openai_temperature_400_says_remove_it(fresh):
    fresh["openai"].enqueue(O.error_reply(400, "Unsupported value: 'temperature' does not support 0.7 with this "
                                               "model. Only the default (1) value is supported."))
    with pytest.raises(E.BadRequestError) as info:
        collect(CASES["openai"].backend(fresh).stream(request("gpt-5.2", temperature=0.7)))
    assert "remove -t / the profile's 'temperature'" in str(info.value)
    assert "HTTP 400" in str(info.value) and "\n" not in str(info.value)


def test_anthropic_temperature_deprecated_400_says_remove_it(fresh):
    fresh["anthropic"].enqueue(A.error_reply(400, "'temperature' is deprecated for this model."))
    with pytest.raises(E.BadRequestError) as info:
        collect(CASES["anthropic"].backend(fresh).stream(request("claude-opus-5", temperature=0.3)))
    assert "does not take a temperature" in str(info.value)


def test_gemini_rejected_level_400_says_choose_another(fresh):
    fresh["gemini"].enqueue(G.error_reply(400, "Thinking level MINIMAL is not supported for this model."))
    with pytest.raises(E.BadRequestError) as info:
        collect(CASES["gemini"].backend(fresh).stream(request("gemini-4-flash", reasoning="off")))
    assert "does not take reasoning 'off'" in str(info.value)


def test_an_unrelated_400_gets_no_reasoning_hint(fresh):
    fresh["openai"].enqueue(O.error_reply(400, "messages: too long"))
    with pytest.raises(E.BadRequestError) as info:
        collect(CASES["deepseek"].backend(fresh).stream(request(reasoning="high")))
    assert info.value.hint == ""


# -- DashScope: the multimodal path for the models that live there ----------------------------------


def test_dashscope_qwen35_and_later_go_to_the_multimodal_path(fresh):
    case = CASES["qwen"]
    text, _, _ = collect(case.backend(fresh).stream(request("qwen3.6-plus", reasoning="low")))
    server = fresh["dashscope"]
    assert [r.path for r in server.requests] == [D.MULTIMODAL_PATH]
    assert text == case.answer  # content came back as [{"text": ...}] parts
    body = server.last.json
    assert body["input"]["messages"] == [{"role": "user", "content": "Rewrite this"}]  # a plain string
    assert body["parameters"]["enable_thinking"] is True and body["parameters"]["thinking_budget"] == 2048


def test_dashscope_url_error_falls_back_to_the_other_path_once_and_remembers(fresh):
    case = CASES["qwen"]
    backend = case.backend(fresh)
    server = fresh["dashscope"]
    text, _, _ = collect(backend.stream(request("qwen-plus-mm")))
    assert text == case.answer
    assert [r.path for r in server.requests] == [D.PATH, D.MULTIMODAL_PATH]
    server.requests.clear()
    collect(backend.stream(request("qwen-plus-mm")))
    assert [r.path for r in server.requests] == [D.MULTIMODAL_PATH]  # learned: no second probe


def test_dashscope_url_error_inside_the_stream_also_falls_back(fresh):
    case = CASES["qwen"]
    server = fresh["dashscope"]
    server.enqueue(D.stream_reply([], tail=[D.stream_error_event(400, "InvalidParameter", D.URL_ERROR)]))
    text, _, _ = collect(case.backend(fresh).stream(request("qwen-plus-mm")))
    assert text == case.answer
    assert [r.path for r in server.requests] == [D.PATH, D.MULTIMODAL_PATH]


def test_dashscope_url_error_on_both_paths_is_reported_not_looped(fresh):
    case = CASES["qwen"]
    server = fresh["dashscope"]
    server.enqueue(D.url_error_reply(), D.url_error_reply())
    with pytest.raises(E.BadRequestError) as info:
        collect(case.backend(fresh).stream(request("qwen-odd")))
    assert "url error" in str(info.value) and len(server.requests) == 2


def test_dashscope_thinking_on_the_multimodal_path(fresh):
    case = CASES["qwen"]
    fresh["dashscope"].enqueue(D.stream_reply(thinking=["Let me", " think."], reasoning_tokens=3, multimodal=True))
    text, thinking, events = collect(case.backend(fresh).stream(request("qwen3.6-plus")))
    assert (text, thinking) == (case.answer, "Let me think.")
