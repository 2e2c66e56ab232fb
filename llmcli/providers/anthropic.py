"""Anthropic (Claude) via the anthropic SDK's Messages API.

The SDK is imported only inside methods: ``import anthropic`` costs over a
second (it loads every ``types`` module eagerly), so it must never be paid by
a command that does not call Anthropic.

Facts about anthropic 2.14.0 this relies on (see the project's providers notes):
``temperature`` is no longer a keyword of ``messages.create`` (it goes in
``extra_body``); ``max_tokens`` is required; an ``event: error`` inside a
stream raises a generic ``APIStatusError`` with ``status_code == 200``; a
stall mid-stream raises a raw ``httpx2.ReadTimeout`` (covered by
``transport_mapping``).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Iterator

from .. import errors as E
from .base import Done, Event, Request, TextDelta, Usage, ending_of
from .common import SDKBackend

# The Messages API refuses a request without max_tokens.  When neither the
# profile nor the command line sets one we send this: large enough for a
# rewrite of a few pages, and accepted by every current Claude model (the
# smallest output cap among them is 8192).
DEFAULT_MAX_TOKENS = 4096
# stop_reason values that mean the answer is not whole (end_turn, stop_sequence... are complete).
_TRUNCATED = ("max_tokens", "model_context_window_exceeded")
_FILTERED = ("refusal",)


class Backend(SDKBackend):
    sdk_modules = ("anthropic",)
    unused_extras = ("aiohttp",)

    # -- SDK plumbing -------------------------------------------------------

    def make_client(self) -> Any:
        e = self.endpoint
        # Without a key the SDK would go looking in ANTHROPIC_* variables and
        # ~/.config/anthropic profiles, then fail at call time with a TypeError.
        self.errors.require_key()
        import anthropic

        # The SDK warns (DeprecationWarning/UserWarning) about some models on each call;
        # that is not the user's business on our stderr.  Filters matched on the SDK's
        # own messages, installed once: `warnings.catch_warnings()` around the call
        # would be process-global state changed from several batch threads at once.
        for message in (r"The model '.*' is deprecated", r"Using Claude with .* is deprecated"):
            warnings.filterwarnings("ignore", message=message)
        options: dict[str, Any] = {}
        if "open_telemetry" in inspect.signature(anthropic.Anthropic).parameters:
            # 2.x traces calls through OpenTelemetry when the environment configures it
            # (and logs failures to load a provider); a CLI wants neither.
            options["open_telemetry"] = False
        return anthropic.Anthropic(
            api_key=e.api_key,
            base_url=e.base_url,
            max_retries=0,  # retries are ours (llmcli.retry); the SDK would honour any Retry-After
            timeout=anthropic.Timeout(e.timeout, connect=min(10.0, e.timeout)),
            default_headers=e.headers or None,
            **options,
        )

    def mapping(self) -> dict[type[BaseException], Any]:
        import anthropic

        mapping = self.errors.stainless_mapping(anthropic, anthropic.AnthropicError)
        mapping[anthropic.APIStatusError] = self._status_error
        credentials_error = getattr(anthropic, "CredentialsError", None)  # 2.x: profile/config files
        if credentials_error is not None:
            mapping[credentials_error] = lambda exc: self.errors.make(E.AuthError, str(exc))
        return mapping

    def _status_error(self, exc: Any) -> E.ProviderError:
        status = getattr(exc, "status_code", None)
        if status == 200:
            # ``event: error`` inside a stream that had started fine.
            return self.errors.stream_error(exc)
        err = self.errors.sdk_status_error(exc)
        if status == 529 and "overloaded" not in err.message.lower():
            err.message = f"overloaded: {err.message}" if err.message else "overloaded"
        return err

    # -- the protocol -------------------------------------------------------

    def stream(self, request: Request) -> Iterator[Event]:
        params = self._params(request)
        input_tokens = output_tokens = None
        finish = None
        model = request.model
        with E.map_exceptions(self.mapping()):
            client = self.client()
            events = client.messages.create(**params)
            with events:
                for event in events:
                    kind = event.type
                    if kind == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta" and delta.text:
                            yield TextDelta(delta.text)
                    elif kind == "message_start":
                        message = event.message
                        model = getattr(message, "model", None) or model
                        usage = getattr(message, "usage", None)
                        if usage is not None:
                            input_tokens = usage.input_tokens
                            output_tokens = usage.output_tokens or output_tokens
                    elif kind == "message_delta":
                        usage = getattr(event, "usage", None)
                        if usage is not None:
                            # Cumulative: the last message_delta has the total output.
                            output_tokens = usage.output_tokens
                            late_input = getattr(usage, "input_tokens", None)
                            if late_input is not None:
                                input_tokens = late_input
                        reason = getattr(event.delta, "stop_reason", None)
                        if reason:
                            finish = reason
        if input_tokens is not None or output_tokens is not None:
            total = input_tokens + output_tokens if input_tokens is not None and output_tokens is not None else None
            yield Usage(input_tokens, output_tokens, total)
        yield Done(finish, model, ending_of(finish, truncated=_TRUNCATED, filtered=_FILTERED))

    def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model or "",
            "max_tokens": request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
        }
        if request.system:
            params["system"] = request.system
        if request.temperature is not None:
            # 2.14.0 dropped the typed keyword; the API still takes the field.
            params["extra_body"] = {"temperature": request.temperature}
        return params

    def list_models(self) -> list[str]:
        with E.map_exceptions(self.mapping()):
            return sorted(model.id for model in self.client().models.list())

    # -- provider batch (llmcli/providers/batch_anthropic.py) -------------------------------

    def batch_body(self, request: Request) -> dict[str, Any]:
        """The Messages params the real-time call sends for ``request``, without ``stream``.

        Built from ``_params`` itself (so a batch request's ``params`` carry whatever
        ``_params`` adds later), ``extra_body`` merged in as the SDK merges it.
        """
        import anthropic

        from .batch_body import sdk_body

        return sdk_body(self._params(request), (anthropic.Omit, anthropic.NotGiven))

