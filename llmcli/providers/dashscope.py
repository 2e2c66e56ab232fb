"""Qwen on Alibaba Cloud Model Studio (DashScope), via the ``dashscope`` SDK's 1.x API.

Endpoints: the built-in default is the international (Singapore) service,
``https://dashscope-intl.aliyuncs.com/api/v1``.  Keys from the mainland China
console only work on ``https://dashscope.aliyuncs.com/api/v1``: set that as the
profile's ``base_url`` (the two regions have separate keys and model lists).
The base URL must include ``/api/v1``; the SDK appends
``/services/aigc/text-generation/generation`` (``Generation.call``) or
``/services/aigc/multimodal-generation/generation`` (``MultiModalConversation.call``).

Two service paths: the gateway binds each model to exactly one and answers
the other with a 400 "url error" (the SDK's own CLI, ``dashscope/acli/
providers/tongyi.py``, probes both for that reason).  Qwen3.5 and later, the
VL/omni models and QVQ live on the multimodal path: those go there first,
every other model to text-generation, and on a "url error" before any text
the call is made once more on the other path, which is then remembered for
the model (for this backend's life: a batch probes once).  Message content is
sent as plain strings on both (the multimodal call would try to upload a
text part that looks like a ``file://`` path).

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
  failed request); that logger is kept off stderr here;
* thinking: ``enable_thinking`` / ``thinking_budget`` go into ``parameters``
  (typed in ``Generation.call``, passed through by ``MultiModalConversation.call``);
  the thinking streams in ``message.reasoning_content`` (dict access) and is
  counted in ``usage.output_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from typing import Any

from .. import errors as E
from . import KINDS, bodies
from .base import Done, Endpoint, Event, ReasoningDelta, Request, TextDelta, Usage, ending_of
from .batch_body import sdk_body
from .common import SDKBackend, chat_messages, header_retry_after, provider_message, quiet_logger
from .reasoning import prepare, setting

MODELS_URL = "https://help.aliyun.com/zh/model-studio/models"
TEXT, MULTIMODAL = "text-generation", "multimodal-generation"
# Models served on the multimodal path only: Qwen3.5 and later, VL / omni models, QVQ.
_MULTIMODAL_MODELS = re.compile(r"^(qwen3\.([5-9]|\d\d)|qwen[4-9]|qvq)|-vl\b|omni", re.IGNORECASE)
# The code the SDK gives an error whose body (or stream event) was not JSON.
_SDK_UNKNOWN = "Unknown"


class Backend(SDKBackend):
    """No client object: the 1.x API is module functions, given the key and URL per call."""

    sdk_modules = ("dashscope",)  # it needs aiohttp itself: nothing hidden

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self._paths: dict[str, str] = {}  # model -> the service path a "url error" taught us

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
        headers = {str(k).lower(): v for k, v in (item.get("headers") or {}).items()}
        if code == _SDK_UNKNOWN:
            # The SDK's code for a body (or an event) it could not parse; ``message`` is that text.
            if "text/event-stream" in str(headers.get("content-type", "")):
                # An event of a 200 stream that is not JSON (the SDK calls it a 400): the server's fault.
                return self.errors.bad_response(f"data that is not JSON: {bodies.describe(message)}")
            code = ""
        message = provider_message(message)  # one short line; an HTML page summarised
        text = bodies.clip(f"{code}: {message}" if code and message else (message or code))
        retry_after = header_retry_after(headers)
        if started:
            # Words already reached the user: report it as a broken stream
            # (llmcli.retry never replays a started stream), keeping the status.
            return self.errors.make(E.StreamError, text or "the server reported an error",
                                    status=status, retry_after=retry_after)
        return self.errors.status(status, text, retry_after)

    # -- the protocol -------------------------------------------------------

    def path_for(self, model: str) -> str:
        """The service path to try first for ``model`` (what a url error taught, else by its name)."""
        return self._paths.get(model) or (MULTIMODAL if _MULTIMODAL_MODELS.search(model) else TEXT)

    def _events(self, request: Request) -> Iterator[Event]:
        e = self.endpoint
        self.errors.require_key()  # else the SDK would fall back to ~/.dashscope/api_key
        model = request.model or KINDS[e.kind].model or ""
        path = self.path_for(model)
        with E.map_exceptions(self.mapping()):
            for may_switch in (True, False):
                items = self._call(path, request, model)
                try:
                    switch = yield from self._consume(items, model, path, may_switch=may_switch)
                finally:
                    close = getattr(items, "close", None)  # a generator: release the response
                    if close is not None:
                        close()
                if not switch:
                    return
                # The gateway serves this model on the other path: ask there, once.
                path = MULTIMODAL if path == TEXT else TEXT

    def _consume(self, items: Any, model: str, path: str, *, may_switch: bool) -> Generator[Event, None, bool]:
        """Yield one stream's events; return True (having yielded nothing) on a url error to retry elsewhere."""
        started = False
        first = True
        usage = None
        finish = None
        for item in items:
            if _int(item.get("status_code")) != 200:
                if first and may_switch and _is_url_error(item):
                    return True
                raise self._item_error(item, started)
            if first:
                self._paths[model] = path
                first = False
            for event in self._item_events(item):
                if isinstance(event, TextDelta):
                    started = True
                yield event
            output = item.get("output") or {}
            for choice in (output.get("choices") or ())[:1]:
                finish = _finish(choice.get("finish_reason")) or finish
            if not output.get("choices"):
                finish = _finish(output.get("finish_reason")) or finish
            if item.get("usage"):
                usage = item["usage"]  # output_tokens is cumulative: the last one is the total
        yield from self._ending(usage, finish, model)
        return False

    def _call(self, path: str, request: Request, model: str) -> Any:
        import dashscope

        api = dashscope.MultiModalConversation if path == MULTIMODAL else dashscope.Generation
        return api.call(**self._params(request, model))

    @staticmethod
    def _item_events(item: Any) -> Iterator[Event]:
        """The thinking and text one stream item carries."""
        output = item.get("output") or {}
        for choice in (output.get("choices") or ())[:1]:
            message = choice.get("message") or {}
            thought = message.get("reasoning_content")
            if isinstance(thought, str) and thought:
                yield ReasoningDelta(thought)
            text = _text(message.get("content"))
            if text:
                yield TextDelta(text)
        if not output.get("choices") and isinstance(output.get("text"), str) and output["text"]:
            yield TextDelta(output["text"])  # the "text" result format

    @staticmethod
    def _ending(usage: Any, finish: str | None, model: str) -> Iterator[Event]:
        if usage:
            details = usage.get("output_tokens_details") or {}
            yield Usage(_int(usage.get("input_tokens")), _int(usage.get("output_tokens")),
                        _int(usage.get("total_tokens")),
                        _int(details.get("reasoning_tokens")) if isinstance(details, dict) else None)
        yield Done(finish, model, ending_of(finish))

    def _params(self, request: Request, model: str | None) -> dict[str, Any]:
        """The SDK call's keywords: what a real-time call and a batch line (``batch_body``) both send."""
        e = self.endpoint
        request, _ = prepare(e.kind, request)  # as the call layer did: level checked, a rejected temperature dropped
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
        chosen = setting(e.kind, model, request.reasoning)
        if chosen is not None and chosen.enabled is not None:
            params["enable_thinking"] = chosen.enabled
        if chosen is not None and chosen.budget is not None:
            params["thinking_budget"] = chosen.budget
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


def _is_url_error(item: Any) -> bool:
    """The gateway's "this model is on the other service path" answer (a 400, or an SSE error event)."""
    message = item.get("message") or ""
    if not isinstance(message, str):
        message = " ".join(str(m) for m in message if m)
    return "url error" in message.lower()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"text": "..."}] as multimodal models send
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


# What dashscope.Generation.call takes that is not a generation setting of the request body.
_NATIVE_ONLY = ("api_key", "base_address", "request_timeout", "headers", "workspace", "result_format",
                "incremental_output")

