"""OpenAI, LM Studio, Groq, OpenRouter, DeepSeek and any OpenAI-compatible server, via the openai SDK.

Groq goes through this backend too: its API is OpenAI's chat API under
``/openai/v1``, and one SDK for five providers keeps start-up and behaviour
uniform (the groq SDK differs only in where it reports streamed usage).

Thinking arrives in fields the openai SDK (3.57.0) does not type, kept as
extras on each delta (``getattr`` finds them): ``reasoning_content``
(DeepSeek, llama-server, LM Studio), ``reasoning`` (OpenRouter, Ollama, Groq,
LM Studio's gpt-oss, vLLM) and ``reasoning_details`` (OpenRouter, a list of
plain dicts repeating ``reasoning``).  The reasoning level goes in each
provider's own field (providers/reasoning.py chooses the value):
``reasoning_effort`` (typed; the SDK passes any string), OpenRouter's
``reasoning`` object and DeepSeek's ``thinking`` switch (``extra_body``, merged
at the top of the JSON body).  OpenAI's own models never stream their
reasoning text on this API; only its token count comes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import errors as E
from . import KINDS
from .base import Done, Event, ReasoningDelta, Request, TextDelta, Usage, ending_of
from .batch_body import sdk_body
from .common import SDKBackend, chat_messages
from .reasoning import prepare, setting

# Servers that take OpenAI's newer name for the output cap.  Reasoning models
# on api.openai.com reject max_tokens; every other server here knows max_tokens.
_MAX_COMPLETION_TOKENS_KINDS = {"openai"}
# Key the SDK insists on having even where the server checks none (LM Studio, vLLM).
_PLACEHOLDER_KEY = "not-needed"


class Backend(SDKBackend):
    sdk_modules = ("openai",)
    unused_extras = ("aiohttp",)

    # -- SDK plumbing -------------------------------------------------------

    def make_client(self) -> Any:
        import openai

        e = self.endpoint
        return openai.OpenAI(
            api_key=e.api_key or _PLACEHOLDER_KEY,
            base_url=e.base_url,
            max_retries=0,  # retries are ours (llmcli.retry)
            timeout=openai.Timeout(e.timeout, connect=min(10.0, e.timeout)),
            default_headers=e.headers or None,
            # The SDK's own client defaults, plus the hook that refuses an HTML page or an empty body.
            http_client=openai.DefaultHttpxClient(event_hooks=self.errors.http_hooks()),
        )

    def mapping(self) -> dict[type[BaseException], Any]:
        import openai

        return self.errors.stainless_mapping(openai, openai.OpenAIError)

    # -- the protocol -------------------------------------------------------

    def _events(self, request: Request) -> Iterator[Event]:
        import openai

        params = self._params(request, openai)
        with E.map_exceptions(self.mapping()):
            client = self.client()
            try:
                chunks = client.chat.completions.create(**params)
            except openai.BadRequestError as exc:
                # A few servers reject stream_options; usage is optional, the answer is not.
                if "stream_options" not in str(exc.body) + str(exc.message):
                    raise
                params.pop("stream_options")
                chunks = client.chat.completions.create(**params)
            usage = None
            finish = None
            model = None
            with chunks:
                for chunk in chunks:
                    model = getattr(chunk, "model", None) or model
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices or ():
                        delta = choice.delta
                        if delta is not None:
                            thought = _reasoning_of(delta)
                            if thought is not None:
                                yield ReasoningDelta(thought)
                            if delta.content:
                                yield TextDelta(delta.content)
                        if choice.finish_reason:
                            finish = choice.finish_reason
        if usage is not None:
            details = getattr(usage, "completion_tokens_details", None)
            yield Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens,
                        getattr(details, "reasoning_tokens", None))
        yield Done(finish, model, ending_of(finish))

    def _params(self, request: Request, openai: Any) -> dict[str, Any]:
        kind = self.endpoint.kind
        request, _ = prepare(kind, request)  # as the call layer did: a level checked, a rejected temperature dropped
        model = request.model or KINDS[kind].model  # the one the level was checked for
        params: dict[str, Any] = {
            "messages": chat_messages(request),
            # LM Studio and llama.cpp serve the loaded model when none is named.
            "model": model if model else openai.omit,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            key = "max_completion_tokens" if kind in _MAX_COMPLETION_TOKENS_KINDS else "max_tokens"
            params[key] = request.max_tokens
        extra: dict[str, Any] = {}
        chosen = setting(kind, model, request.reasoning)
        if chosen is not None:
            if kind == "openrouter":
                extra["reasoning"] = {"effort": chosen.effort}
            elif kind == "deepseek":
                extra["thinking"] = {"type": "enabled" if chosen.enabled else "disabled"}
                if chosen.effort is not None:
                    params["reasoning_effort"] = chosen.effort
            elif chosen.effort is not None:
                params["reasoning_effort"] = chosen.effort
        if kind == "groq" and "qwen3" in (model or "").lower():
            # Groq's qwen3 puts <think> in the text unless asked to parse it into delta.reasoning.
            extra["reasoning_format"] = "parsed"
        if extra:
            params["extra_body"] = extra
        return params

    def list_models(self) -> list[str]:
        with E.map_exceptions(self.mapping()):
            return sorted(model.id for model in self.client().models.list())

    # -- provider batch (llmcli/providers/batch_openai.py) ----------------------------------

    def batch_body(self, request: Request) -> dict[str, Any]:
        """The JSON body the real-time call sends for ``request``, without its streaming flags.

        Built from ``_params`` itself, so a batch line carries every setting a real-time
        call would (whatever ``_params`` adds later); only what is not body is dropped:
        the streaming flags, the SDK's request options, unset values, and ``extra_body``
        merged in as the SDK merges it into the JSON it sends.
        """
        import openai

        return sdk_body(self._params(request, openai), (openai.Omit, openai.NotGiven))


def _reasoning_of(delta: Any) -> str | None:
    """The thinking a chunk's delta carries, from whichever field the server uses; None if none.

    Servers that send both ``reasoning`` and ``reasoning_details`` (OpenRouter)
    repeat the same text in each: the first field present wins, so nothing
    is counted twice.  An encrypted detail with no text gives "" (thinking,
    nothing to show).
    """
    for name in ("reasoning_content", "reasoning"):
        value = getattr(delta, name, None)
        if isinstance(value, str) and value:
            return value
    details = getattr(delta, "reasoning_details", None)
    if not isinstance(details, list) or not details:
        return None
    texts = []
    for detail in details:
        for key in ("text", "summary"):
            value = detail.get(key) if isinstance(detail, dict) else getattr(detail, key, None)
            if isinstance(value, str) and value:
                texts.append(value)
                break
    return "".join(texts)
