"""Every OpenAI-compatible profile kind: request path, headers and body, through the real openai SDK."""

from __future__ import annotations

import json

import pytest

from llmcli.errors import NotFoundError
from llmcli.providers import backend_for
from llmcli.providers.base import Endpoint, Message, Request
from tests.fakes.openai_wire import error_reply

# kind -> (path prefix of the built-in base URL, key variable, output-cap field)
KINDS = {
    "openai": ("/v1", "OPENAI_API_KEY", "max_completion_tokens"),
    "groq": ("/openai/v1", "GROQ_API_KEY", "max_tokens"),
    "openrouter": ("/api/v1", "OPENROUTER_API_KEY", "max_tokens"),
    "deepseek": ("/v1", "DEEPSEEK_API_KEY", "max_tokens"),
    "lmstudio": ("/v1", None, "max_tokens"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_builtin_kind_request(cli, config_file, openai_server, monkeypatch, kind):
    prefix, key_var, cap = KINDS[kind]
    # Refine the built-in profile: only base_url changes, everything else stays built-in.
    config_file(f'[profiles.{kind}]\nbase_url = "{openai_server.url}{prefix}"\n')
    if key_var:
        monkeypatch.setenv(key_var, f"key-for-{kind}")
    result = cli("-p", kind, "--json", "-t", "0.4", "--max-tokens", "64", "Rewrite", input="some text")
    assert result.code == 0, result.stderr
    req = openai_server.last
    assert req.method == "POST" and req.path == f"{prefix}/chat/completions"
    assert req.headers["authorization"] == (f"Bearer key-for-{kind}" if key_var else "Bearer not-needed")
    body = req.json
    assert body[cap] == 64 and body["temperature"] == 0.4 and body["stream"] is True
    assert body["messages"][-1] == {"role": "user", "content": "Rewrite\n\n<text>\nsome text\n</text>"}
    if kind == "lmstudio":
        assert "model" not in body  # the server uses the loaded model
    else:
        from llmcli.providers import KINDS as ALL

        assert body["model"] == ALL[kind].model
    if kind == "openrouter":
        assert req.headers["x-title"] == "llmcli"
        assert req.headers["http-referer"].startswith("https://")
    else:
        assert "x-title" not in req.headers
    assert json.loads(result.stdout)["provider"] == kind


def test_lmstudio_reports_the_server_model(cli, config_file, openai_server):
    from tests.fakes.openai_wire import stream_reply

    config_file(f'[profiles.lmstudio]\nbase_url = "{openai_server.url}/v1"\n')
    openai_server.enqueue(stream_reply(model="gemma-3-270m"))
    data = json.loads(cli("-p", "lmstudio", "--json", "hi").stdout)
    assert data["model"] == "gemma-3-270m"


def test_backend_lists_models_and_maps_404(openai_server):
    backend = backend_for(Endpoint("p", "openai-compatible", openai_server.url + "/v1", "k", {}, 5))
    assert backend.list_models() == ["fake-model", "other-model"]
    openai_server.enqueue(error_reply(404, "The model `nope` does not exist"))
    with pytest.raises(NotFoundError) as info:
        list(backend.stream(Request((Message("user", "hi"),), "nope")))
    assert info.value.status == 404 and "does not exist" in str(info.value)


def test_sdks_load_without_their_unused_aiohttp_extra():
    """openai/anthropic/genai skip aiohttp (a sync CLI never uses it); it stays importable for dashscope."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import sys\n"
        "from llmcli.providers import backend_for\n"
        "from llmcli.providers.base import Endpoint\n"
        "for kind in ('openai', 'anthropic', 'gemini'):\n"
        "    backend_for(Endpoint('p', kind, 'http://127.0.0.1:9', 'k', {}, 5))\n"
        "assert 'openai' in sys.modules and 'anthropic' in sys.modules and 'google.genai' in sys.modules\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp was imported'\n"
        "backend_for(Endpoint('p', 'dashscope', 'http://127.0.0.1:9', 'k', {}, 5))\n"
        "assert sys.modules.get('aiohttp') is not None  # dashscope needs it, and gets it\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
