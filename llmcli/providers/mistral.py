"""Mistral, via the official ``mistralai`` SDK (3.x, Speakeasy-generated, on httpx2).

SDK facts this adapter relies on (checked against mistralai 3.7.0's source and
a loopback fake, see tests/providers/test_mistral.py):

* the client lives at ``mistralai.client.Mistral`` (``from mistralai import
  Mistral`` is an ImportError since 2.0: ``mistralai`` is a namespace package);
* ``server_url`` is the host root; the SDK appends ``/v1/chat/completions``;
* it has **no retries by default** (``retry_config`` unset), so llmcli's own
  retry loop is the only one; we never pass a ``RetryConfig``;
* with no API key it sends the request **without** an Authorization header,
  so a missing key is reported here, before any request;
* HTTP errors are one generic ``SDKError`` (``status_code``, ``body`` text,
  ``headers``); 422 is ``HTTPValidationError``; a chunk that fails its schema
  (an error object sent inside the stream) is ``ResponseValidationError``;
  transport failures escape as raw ``httpx2`` exceptions;
* thinking comes as a ``ThinkChunk`` (``type: "thinking"``, its text in
  ``thinking: [TextChunk...]``) in a delta whose ``content`` is a list of
  chunks; the answer may follow as text chunks or as a plain string in the
  same stream.  ``chat.stream`` types ``reasoning_effort`` (``none`` ... ``max``)
  and ``prompt_mode`` (``"reasoning"``, Magistral's system prompt).
  ``UsageInfo`` types no reasoning count; one the server adds lands in its
  ``additional_properties`` (name unverified: both likely shapes are read).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

from .. import errors as E
from . import KINDS, bodies
from .base import Done, Event, ReasoningDelta, Request, TextDelta, Usage, ending_of
from .batch_body import sdk_body
from .common import SDKBackend, chat_messages, header_retry_after, provider_message, quiet_logger
from .reasoning import prepare, setting

# Mistral's finish reasons for an answer cut short, and for one the server gave up on.
TRUNCATED = ("length", "model_length")
FAILED = ("error",)


class Backend(SDKBackend):
    sdk_modules = ("mistralai.client",)

    # -- SDK plumbing -------------------------------------------------------

    def make_client(self) -> Any:
        import httpx2
        from mistralai.client import Mistral

        e = self.endpoint
        client = Mistral(
            api_key=e.api_key,
            # As the SDK would make it, plus the hook that refuses an HTML page or an empty body.
            client=httpx2.Client(follow_redirects=True, event_hooks=self.errors.http_hooks()),
            server_url=_server_url(e.base_url or KINDS[e.kind].base_url),
            timeout_ms=int(e.timeout * 1000),
            # No retry_config: the SDK then makes exactly one attempt;
            # retries are ours (llmcli.retry).
            # A plain logger instead of the SDK default, which calls
            # logging.basicConfig() (stderr) when MISTRAL_DEBUG is set.
            debug_logger=logging.getLogger("mistralai.client"),
        )
        _replace_deprecation_hook(client)
        return client

    def mapping(self) -> dict[type[BaseException], Any]:
        from mistralai.client import errors as merrors

        httpx2 = sys.modules.get("httpx2")
        # The SDK logs a model-deprecation notice with logger.warning(); keep it off stderr
        # while still letting it reach a root handler.
        quiet_logger("mistralai")
        return {
            **self.errors.transport_mapping(),  # httpx2 is loaded by now
            merrors.ResponseValidationError: self._stream_error,
            merrors.HTTPValidationError: self._status_error,
            merrors.SDKError: self._status_error,
            merrors.MistralError: self._status_error,
            merrors.NoResponseError: self.errors.connection,
            # httpx2.StreamError (ResponseNotRead...): an SDK hook misusing a streamed response.
            **({httpx2.StreamError: self._sdk_bug} if httpx2 is not None else {}),
        }

    def _sdk_bug(self, exc: BaseException) -> E.ProviderError:
        detail = f"{type(exc).__name__}: {exc}"
        return self.errors.make(E.ProviderError, f"the mistralai SDK failed on the response ({detail})")

    def _status_error(self, exc: Any) -> E.ProviderError:
        status = getattr(exc, "status_code", None)
        message = provider_message(_decode(exc.body), fallback="")
        if not message:
            message = _short_body(exc.body)
        if status is not None and status < 400:
            # A 2xx the SDK could not use (e.g. JSON, not text/event-stream): say what came, briefly.
            headers = getattr(exc, "headers", None) or {}
            kind = headers.get("content-type") or "no Content-Type"
            return self.errors.bad_response(f"{bodies.describe(exc.body)} ({kind}) where a stream was expected")
        return self.errors.status(status, message, header_retry_after(getattr(exc, "headers", None)))

    def _stream_error(self, exc: Any) -> E.ProviderError:
        # The raw event the SDK failed to validate: {"id":..,"event":..,"data":{...}}
        # or the bare data object, depending on where it failed.
        body = _decode(exc.body)
        if isinstance(body, dict) and isinstance(body.get("data"), (dict, str)):
            body = _decode(body["data"])
        if isinstance(body, str):
            # Not even JSON: the server's fault, not an error it reported.
            return self.errors.bad_response(f"data that is not JSON: {bodies.describe(body)}")
        message = provider_message(body, fallback="") or "the server sent a chunk that is not a chat completion chunk"
        return self.errors.make(E.StreamError, message)

    # -- the protocol -------------------------------------------------------

    def _events(self, request: Request) -> Iterator[Event]:
        self.errors.require_key()  # the SDK would send no Authorization header at all
        params = self._params(request)
        usage = None
        finish = None
        model = None
        with E.map_exceptions(self.mapping()):
            events = self.client().chat.stream(**params)
            with events:
                for event in events:
                    chunk = event.data
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices or ():
                        content = choice.delta.content if choice.delta else None
                        thought = _thinking(content)
                        if thought is not None:
                            yield ReasoningDelta(thought)
                        text = _text(content)
                        if text:
                            yield TextDelta(text)
                        if choice.finish_reason:
                            finish = str(choice.finish_reason)
        if usage is not None:
            yield Usage(usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, _reasoning_tokens(usage))
        yield Done(finish, model, ending_of(finish, truncated=TRUNCATED, failed=FAILED))

    def _params(self, request: Request) -> dict[str, Any]:
        request, _ = prepare(self.endpoint.kind, request)  # as the call layer did: the level checked
        params: dict[str, Any] = {
            "model": request.model or KINDS[self.endpoint.kind].model,
            "messages": chat_messages(request),
        }
        chosen = setting(self.endpoint.kind, params["model"], request.reasoning)
        if chosen is not None and chosen.effort is not None:
            params["reasoning_effort"] = chosen.effort
        if chosen is not None and chosen.mode is not None:
            params["prompt_mode"] = chosen.mode
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            params["max_tokens"] = request.max_tokens
        if self.endpoint.headers:
            params["http_headers"] = dict(self.endpoint.headers)
        return params

    def list_models(self) -> list[str]:
        self.errors.require_key()  # the SDK would send no Authorization header at all
        with E.map_exceptions(self.mapping()):
            listing = self.client().models.list(http_headers=dict(self.endpoint.headers) or None)
        ids = []
        for card in listing.data or ():
            ident = getattr(card, "id", None)
            if ident is None and isinstance(getattr(card, "raw", None), dict):
                ident = card.raw.get("id")  # a card type this SDK version does not know
            if ident:
                ids.append(ident)
        return sorted(set(ids))

    # -- provider batch (llmcli/providers/batch_mistral.py) ---------------------------------

    def batch_body(self, request: Request) -> dict[str, Any]:
        """The chat body the real-time call sends for ``request``, without its streaming flags.

        Built from ``_params`` itself (whatever it adds later is kept); dropped are the
        SDK's per-call options (``http_headers``, ``retries``, ``server_url``,
        ``timeout_ms``) and unset values.  The Speakeasy SDK sends its keyword names
        as the JSON field names.
        """
        from mistralai.client.types import UNSET

        return sdk_body(self._params(request), (type(UNSET),),
                        drop=("http_headers", "retries", "server_url", "timeout_ms"))


def _server_url(base_url: str | None) -> str | None:
    """The SDK wants the host root; accept a base URL written with /v1 too."""
    if not base_url:
        return None
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def _text(content: Any) -> str:
    """A delta's text: a plain string, or the text chunks of a chunk list (thinking is skipped)."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for piece in content:
        if getattr(piece, "type", None) == "text" and isinstance(getattr(piece, "text", None), str):
            parts.append(piece.text)
    return "".join(parts)


def _thinking(content: Any) -> str | None:
    """The thinking in a delta's chunk list (ThinkChunks), or None when it has none."""
    if content is None or isinstance(content, str):
        return None
    found = False
    parts = []
    for piece in content:
        if getattr(piece, "type", None) != "thinking":
            continue
        found = True
        for inner in getattr(piece, "thinking", None) or ():
            text = getattr(inner, "text", None)
            if isinstance(text, str):
                parts.append(text)
    return "".join(parts) if found else None


def _reasoning_tokens(usage: Any) -> int | None:
    """A reasoning-token count the server added to usage, in either likely shape; None when absent."""
    extra = getattr(usage, "additional_properties", None) or {}
    value = extra.get("reasoning_tokens")
    details = extra.get("completion_tokens_details")
    if value is None and isinstance(details, dict):
        value = details.get("reasoning_tokens")
    return value if isinstance(value, int) else None


def _decode(body: Any) -> Any:
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def _short_body(body: Any) -> str:
    decoded = _decode(body)
    if isinstance(decoded, dict):
        detail = decoded.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            # FastAPI-style 422: [{"loc": [...], "msg": "...", ...}]
            first = detail[0]
            loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
            return f"{loc}: {first.get('msg', '')}".strip(": ")
        return _one_line(json.dumps(decoded))[:200]
    return _one_line(str(decoded or ""))[:200]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _replace_deprecation_hook(client: Any) -> None:
    """Swap the SDK's model-deprecation hook for one that works on streams.

    mistralai 3.7.0's ``DeprecationWarningHook`` calls ``response.json()`` when
    the ``x-model-deprecation-timestamp`` header is present, which on a
    streamed response raises ``httpx2.ResponseNotRead`` before any chunk is
    read: every streamed call to a deprecated model would fail.  Ours logs the
    header (silently unless a handler is installed) and reads nothing.
    """
    try:
        from mistralai.client._hooks.deprecation_warning import DeprecationWarningHook

        hooks = client.sdk_configuration.__dict__["_hooks"]
        hooks.after_success_hooks[:] = [
            _StreamSafeDeprecationHook() if isinstance(h, DeprecationWarningHook) else h
            for h in hooks.after_success_hooks
        ]
    except Exception:  # a future SDK layout: keep its own hook
        pass


class _StreamSafeDeprecationHook:
    def after_success(self, hook_ctx: Any, response: Any) -> Any:
        when = response.headers.get("x-model-deprecation-timestamp")
        if when:
            logging.getLogger("mistralai.client._hooks.deprecation_warning").warning(
                "the requested model is deprecated and will be removed on %s", when
            )
        return response
