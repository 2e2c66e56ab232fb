"""Provider kinds and the registry that loads their backends lazily.

This module is imported on every start (config validation needs the kinds),
so it must stay cheap: it names backend modules as strings and imports one
only in :func:`backend_for`, when a call is actually made.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Backend, Endpoint, Request


@dataclass(frozen=True)
class Kind:
    """What llmcli knows of one provider kind before any SDK is loaded."""

    name: str
    module: str  # llmcli.providers.<module>
    label: str
    base_url: str | None
    key_env: tuple[str, ...] = ()  # first one set wins
    model: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    needs_key: bool = True
    # The built-in profile's reasoning level (the lowest layer of "flag > template > profile >
    # built-in"); None: send nothing, the model's own default.
    reasoning: str | None = None


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("openai", "openai_compat", "OpenAI", "https://api.openai.com/v1",
             ("OPENAI_API_KEY",), "gpt-4.1-mini"),
        Kind("lmstudio", "openai_compat", "LM Studio", "http://localhost:1234/v1",
             (), None, needs_key=False),
        # llama-3.3-70b-versatile was decommissioned on 2026-08-16; Groq names gpt-oss-120b its replacement.
        Kind("groq", "openai_compat", "Groq", "https://api.groq.com/openai/v1",
             ("GROQ_API_KEY",), "openai/gpt-oss-120b"),
        Kind("openrouter", "openai_compat", "OpenRouter", "https://openrouter.ai/api/v1",
             ("OPENROUTER_API_KEY",), "openai/gpt-4.1-mini",
             headers={"HTTP-Referer": "https://github.com/llmcli/llmcli", "X-Title": "llmcli"}),
        # deepseek-chat was retired on 2026-07-24: it was deepseek-v4-flash with thinking off,
        # which reasoning "off" keeps (--reasoning high turns thinking on).
        Kind("deepseek", "openai_compat", "DeepSeek", "https://api.deepseek.com/v1",
             ("DEEPSEEK_API_KEY",), "deepseek-v4-flash", reasoning="off"),
        # Any other server speaking the OpenAI chat API (vLLM, llama.cpp, Ollama...):
        # base_url is required, a key optional.
        Kind("openai-compatible", "openai_compat", "OpenAI-compatible", None,
             (), None, needs_key=False),
        Kind("anthropic", "anthropic", "Anthropic", "https://api.anthropic.com",
             ("ANTHROPIC_API_KEY",), "claude-haiku-4-5"),
        # gemini-2.5-flash was shut down in late 2026; 3.8 Flash is the current Flash model.
        Kind("gemini", "gemini", "Google Gemini", "https://generativelanguage.googleapis.com",
             ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "gemini-3.8-flash"),
        Kind("mistral", "mistral", "Mistral", "https://api.mistral.ai",
             ("MISTRAL_API_KEY",), "mistral-small-latest"),
        Kind("dashscope", "dashscope", "Qwen / DashScope", "https://dashscope-intl.aliyuncs.com/api/v1",
             ("DASHSCOPE_API_KEY",), "qwen-plus"),
    )
}

# Names users may write for a kind.
KIND_ALIASES = {"qwen": "dashscope", "google": "gemini", "openai_compatible": "openai-compatible"}

# Built-in profile name -> kind.  The order is the auto-detection order for the
# default profile ("the first built-in whose key variable is set").
BUILTIN_PROFILES: dict[str, str] = {
    "openai": "openai",
    "groq": "groq",
    "openrouter": "openrouter",
    "deepseek": "deepseek",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "mistral": "mistral",
    "qwen": "dashscope",
    "lmstudio": "lmstudio",
}


def canonical_kind(name: str) -> str | None:
    """The kind a user-written provider name means, or None if unknown."""
    name = name.strip().lower()
    name = KIND_ALIASES.get(name, name)
    return name if name in KINDS else None


def backend_for(endpoint: Endpoint) -> Backend:
    """Import the backend module of the endpoint's kind (and so its SDK) and build it."""
    module = importlib.import_module(f"{__name__}.{KINDS[endpoint.kind].module}")
    return module.Backend(endpoint)


def check_reasoning(kind: str, model: str | None, level: str | None) -> None:
    """Raise UsageError (one line naming the accepted levels) unless ``kind``/``model`` take ``level``.

    For the call layer, before any request; cheap (no SDK): see providers/reasoning.py.
    """
    from .reasoning import check_reasoning as check

    check(kind, model, level)


def prepare(kind: str, request: Request) -> tuple[Request, list[str]]:
    """``request`` as it should be sent to ``kind``, and the warning lines about what was dropped.

    Validates the reasoning level (UsageError) and drops a temperature the model
    or its thinking mode rejects; the caller prints the warnings on stderr.
    """
    from .reasoning import prepare as prepare_request

    return prepare_request(kind, request)
