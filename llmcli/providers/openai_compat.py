"""OpenAI, LM Studio, Groq, OpenRouter, DeepSeek and any OpenAI-compatible server, via the openai SDK.

Groq goes through this backend too: its API is OpenAI's chat API under
``/openai/v1``, and one SDK for five providers keeps start-up and behaviour
uniform (the groq SDK differs only in where it reports streamed usage).
"""

from __future__ import annotations

from typing import Any, Iterator

from .. import errors as E
from .base import Done, Event, Request, TextDelta, Usage, ending_of
from .common import SDKBackend, chat_messages

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
        )

    def mapping(self) -> dict[type[BaseException], Any]:
        import openai

        return self.errors.stainless_mapping(openai, openai.OpenAIError)

    # -- the protocol -------------------------------------------------------

    def stream(self, request: Request) -> Iterator[Event]:
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
                        text = choice.delta.content if choice.delta else None
                        if text:
                            yield TextDelta(text)
                        if choice.finish_reason:
                            finish = choice.finish_reason
        if usage is not None:
            yield Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        yield Done(finish, model, ending_of(finish))

    def _params(self, request: Request, openai: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "messages": chat_messages(request),
            # LM Studio and llama.cpp serve the loaded model when none is named.
            "model": request.model if request.model else openai.omit,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            key = "max_completion_tokens" if self.endpoint.kind in _MAX_COMPLETION_TOKENS_KINDS else "max_tokens"
            params[key] = request.max_tokens
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

        from .batch_body import sdk_body

        return sdk_body(self._params(request, openai), (openai.Omit, openai.NotGiven))

