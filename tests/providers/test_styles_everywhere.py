"""Every built-in style reaches every one of the nine providers with its system prompt in the right place:
a system message (OpenAI-compatible, Mistral, DashScope), Anthropic's ``system`` field, Gemini's
``systemInstruction``; and the user message carries the task and the delimited text unchanged."""

from __future__ import annotations

import pytest

from llmcli.inputs import Document
from llmcli.presets import BUILTIN_STYLES, compose
from llmcli.providers import BUILTIN_PROFILES
from tests.fakes import anthropic_wire, dashscope_wire, gemini_wire, mistral_wire, openai_wire

WIRES = {"openai-compatible": (openai_wire, "/v1"), "anthropic": (anthropic_wire, ""),
         "gemini": (gemini_wire, ""), "mistral": (mistral_wire, ""), "dashscope": (dashscope_wire, "/api/v1")}
TEXT = "hey can u send the {report} asap\n"


@pytest.fixture(scope="module")
def servers():
    started = {kind: wire.make_server().start() for kind, (wire, _) in WIRES.items()}
    yield started
    for server in started.values():
        server.stop()


def wire_kind(kind: str) -> str:
    return kind if kind in WIRES else "openai-compatible"


def sent(kind: str, body: dict) -> tuple[str, str]:
    """(system, user) as this provider's request carries them."""
    if kind == "anthropic":
        system = body["system"] if isinstance(body["system"], str) else body["system"][0]["text"]
        content = body["messages"][0]["content"]
        return system, content if isinstance(content, str) else content[0]["text"]
    if kind == "gemini":
        return body["systemInstruction"]["parts"][0]["text"], body["contents"][0]["parts"][0]["text"]
    messages = body["input"]["messages"] if kind == "dashscope" else body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    return messages[0]["content"], messages[1]["content"]


@pytest.mark.parametrize("profile", list(BUILTIN_PROFILES))
@pytest.mark.parametrize("style", list(BUILTIN_STYLES))
def test_style_reaches_provider(style, profile, servers, cli, config_file):
    kind = wire_kind(BUILTIN_PROFILES[profile])
    wire, path = WIRES[kind]
    server = servers[kind]
    config_file(f'[profiles.{profile}]\nbase_url = "{server.url}{path}"\napi_key_env = "MY_TEST_KEY"\n'
                f'model = "m-test"\nretries = 0\n')
    before = len(server.requests)
    result = cli("-p", profile, "-s", style, "--to", "German", input=TEXT, env={"MY_TEST_KEY": "k"})
    assert result.code == 0, result.stderr
    assert result.stdout.strip()
    assert len(server.requests) == before + 1
    expected = compose(BUILTIN_STYLES[style], (Document("<stdin>", TEXT),), variables={"lang": "German"})
    system, user = sent(kind, server.last.json)
    assert system == expected.system
    assert user == expected.user
    assert user.endswith("<text>\nhey can u send the {report} asap\n</text>")
    assert "German" in user
