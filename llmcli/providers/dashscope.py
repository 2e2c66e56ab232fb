"""Qwen on Alibaba Cloud Model Studio (DashScope), via the ``dashscope`` SDK's 1.x API.

Endpoints: the built-in default is the international (Singapore) service,
``https://dashscope-intl.aliyuncs.com/api/v1``.  Keys from the mainland China
console only work on ``https://dashscope.aliyuncs.com/api/v1``: set that as the
profile's ``base_url`` (the two regions have separate keys and model lists).
The base URL must include ``/api/v1``; the SDK appends
``/services/aigc/text-generation/generation``.

SDK facts this adapter relies on (dashscope 2.0.2, source and a loopback fake):

* ``dashscope.Generation.call(..., stream=True, incremental_output=True)``
  yields one ``GenerationResponse`` per server event; with
  ``incremental_output=True`` each carries only the new text (a delta);
* HTTP errors and ``event:error`` stream events are **not raised**: they come
  back as items with ``status_code != 200``, ``code``, ``message`` and the
  response ``headers``;
* the base URL can be passed per call as ``base_address=`` (used here, so no
  module global is mutated); the global ``dashscope.base_http_api_url`` and
  the ``DASHSCOPE_*`` variables are read once at import, and without
  ``api_key=`` the SDK falls back to ``~/.dashscope/api_key``, so the key is
  always passed explicitly;
* it has no retries on HTTP status codes; it resends once on a
  ``requests.ConnectionError`` (a dropped pooled connection);
* transport failures escape as raw ``requests`` exceptions;
* it logs through the ``dashscope`` logger (``logger.exception`` on every
  failed request); that logger is kept off stderr here.
"""

from __future__ import annotations

from typing import Any, Iterator

from .. import errors as E
from . import KINDS
from .base import Done, Event, Request, TextDelta, Usage, ending_of
from .common import SDKBackend, chat_messages, header_retry_after, quiet_logger

MODELS_URL = "https://help.aliyun.com/zh/model-studio/models"


class Backend(SDKBackend):
    """No client object: the 1.x API is module functions, given the key and URL per call."""

    sdk_modules = ("dashscope",)  # it needs aiohttp itself: nothing hidden

    # -- SDK plumbing -------------------------------------------------------

    def mapping(self) -> dict[type[BaseException], Any]:
        import dashscope  # noqa: F401  (loads requests, so transport_mapping covers it)
        from dashscope.common import error as derr

        # The SDK calls logger.exception() on every failed request; stop propagation so a
        # root handler (e.g. one installed for --debug) does not print a traceback for an
        # error we report in one line.  DASHSCOPE_LOGGING_LEVEL still works.
        quiet_logger("dashscope", propagate=False)
        return {
            **self.errors.transport_mapping(),
            derr.AuthenticationError: lambda exc: self.errors.make(E.AuthError, str(exc)),
            derr.InputRequired: lambda exc: self.errors.make(E.BadRequestError, str(exc)),
            derr.ModelRequired: lambda exc: self.errors.make(E.BadRequestError, str(exc)),
            derr.DashScopeException: lambda exc: self.errors.make(E.ProviderError, str(exc)),
        }

    def _item_error(self, item: Any, started: bool) -> E.ProviderError:
        status = _int(item.get("status_code"))
        code = item.get("code") or ""
        message = item.get("message") or ""
        if not isinstance(message, str):  # the SDK passes unparsed SSE lines as a list
            message = " ".join(str(m) for m in message if m)
        text = f"{code}: {message}" if code and message else (message or code)
        headers = {str(k).lower(): v for k, v in (item.get("headers") or {}).items()}
        retry_after = header_retry_after(headers)
        if started:
            # Words already reached the user: report it as a broken stream
            # (llmcli.retry never replays a started stream), keeping the status.
            return self.errors.make(E.StreamError, text or "the server reported an error",
                                    status=status, retry_after=retry_after)
        return self.errors.status(status, text, retry_after)

    # -- the protocol -------------------------------------------------------

    def stream(self, request: Request) -> Iterator[Event]:
        e = self.endpoint
        self.errors.require_key()  # else the SDK would fall back to ~/.dashscope/api_key
        model = request.model or KINDS[e.kind].model
        started = False
        usage = None
        finish = None
        with E.map_exceptions(self.mapping()):
            import dashscope

            items = dashscope.Generation.call(**self._params(request, model))
            for item in items:
                if _int(item.get("status_code")) != 200:
                    raise self._item_error(item, started)
                output = item.get("output") or {}
                for choice in (output.get("choices") or ())[:1]:
                    message = choice.get("message") or {}
                    text = _text(message.get("content"))
                    if text:
                        started = True
                        yield TextDelta(text)
                    finish = _finish(choice.get("finish_reason")) or finish
                if not output.get("choices") and isinstance(output.get("text"), str) and output["text"]:
                    started = True
                    yield TextDelta(output["text"])  # the "text" result format
                    finish = _finish(output.get("finish_reason")) or finish
                if item.get("usage"):
                    usage = item["usage"]  # output_tokens is cumulative: the last one is the total
        if usage:
            yield Usage(_int(usage.get("input_tokens")), _int(usage.get("output_tokens")),
                        _int(usage.get("total_tokens")))
        yield Done(finish, model, ending_of(finish))

    def _params(self, request: Request, model: str | None) -> dict[str, Any]:
        e = self.endpoint
        params: dict[str, Any] = {
            "model": model,
            "api_key": e.api_key,
            "messages": chat_messages(request),
            "result_format": "message",
            "stream": True,
            "incremental_output": True,  # deltas, not cumulative snapshots
            "request_timeout": e.timeout,  # seconds; for a stream, also the wait between chunks
            "base_address": e.base_url or KINDS[e.kind].base_url,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if e.headers:
            params["headers"] = dict(e.headers)
        return params

    def list_models(self) -> list[str]:
        raise self.errors.make(
            E.UnsupportedError,
            f"DashScope has no model list endpoint; see {MODELS_URL}",
        )

    # -- provider batch (llmcli/providers/batch_openai.py, compatible mode) ------------------

    def batch_body(self, request: Request) -> dict[str, Any]:
        """The body of the same request in DashScope's OpenAI-compatible mode, which runs its batches.

        Built from ``_params`` itself, so every generation setting it sends (today
        model, messages, temperature, max_tokens; whatever it adds later) is kept;
        dropped are the native call's transport options, which are not body (the key,
        the address, the timeout, headers) and its streaming and result-format flags,
        which compatible mode does not take.
        """
        from .batch_body import sdk_body

        model = request.model or KINDS[self.endpoint.kind].model
        return sdk_body(self._params(request, model), (), drop=_NATIVE_ONLY)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _finish(value: Any) -> str | None:
    # Non-final events carry the *string* "null".
    return value if isinstance(value, str) and value and value != "null" else None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"text": "..."}] as multimodal models send
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


# What dashscope.Generation.call takes that is not a generation setting of the request body.
_NATIVE_ONLY = ("api_key", "base_address", "request_timeout", "headers", "workspace", "result_format",
                "incremental_output")

