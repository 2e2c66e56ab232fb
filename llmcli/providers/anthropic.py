"""Anthropic (Claude) via the anthropic SDK's Messages API.

The SDK is imported only inside methods: ``import anthropic`` costs over a
second (it loads every ``types`` module eagerly), so it must never be paid by
a command that does not call Anthropic.

Facts about anthropic 2.15.0 this relies on (read in its source, seen against a loopback fake):
``temperature`` is no longer a keyword of ``messages.create`` (it goes in
``extra_body``); ``max_tokens`` is required; an ``event: error`` inside a
stream raises a generic ``APIStatusError`` with ``status_code == 200``; a
stall mid-stream raises a raw ``httpx2.ReadTimeout`` (covered by
``transport_mapping``).

Thinking (2.15.0's types): ``thinking`` is ``{"type": "enabled", "budget_tokens": N}``
(Claude 4.5 and older; N < max_tokens), ``{"type": "adaptive"}`` with
``output_config={"effort": ...}`` (4.6 and later) or ``{"type": "disabled"}``;
providers/reasoning.py picks one per model.  Thinking tokens count toward
``max_tokens``, so the thinking room is added to the answer's.  A stream
carries ``thinking`` blocks (``thinking_delta`` text, then a
``signature_delta``) and ``redacted_thinking`` blocks (opaque ``data``): the
text becomes ReasoningDelta, a redacted block an empty one (the data is
never passed on).  ``message_delta.usage.output_tokens_details.thinking_tokens``
counts them, inside ``output_tokens``.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from typing import Any

from .. import errors as E
from . import KINDS
from .base import Done, Event, ReasoningDelta, Request, TextDelta, Usage, ending_of
from .batch_body import sdk_body
from .common import SDKBackend
from .reasoning import BUDGETS, prepare, setting

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
            # The SDK's own client defaults, plus the hook that refuses an HTML page or an empty body.
            http_client=anthropic.DefaultHttpxClient(event_hooks=self.errors.http_hooks()),
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

    def _events(self, request: Request) -> Iterator[Event]:
        params = self._params(request)
        input_tokens = output_tokens = thinking_tokens = None
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
                        elif delta.type == "thinking_delta" and delta.thinking:
                            yield ReasoningDelta(delta.thinking)
                    elif kind == "content_block_start":
                        block = event.content_block
                        if block.type == "thinking":
                            # Said at once, even empty: with display "omitted" no text follows.
                            yield ReasoningDelta(getattr(block, "thinking", "") or "")
                        elif block.type == "redacted_thinking":
                            yield ReasoningDelta("")  # encrypted: the model thinks, nothing to show
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
                            details = getattr(usage, "output_tokens_details", None)
                            if details is not None:
                                thinking_tokens = getattr(details, "thinking_tokens", thinking_tokens)
                        reason = getattr(event.delta, "stop_reason", None)
                        if reason:
                            finish = reason
        if input_tokens is not None or output_tokens is not None:
            total = input_tokens + output_tokens if input_tokens is not None and output_tokens is not None else None
            yield Usage(input_tokens, output_tokens, total, thinking_tokens)
        yield Done(finish, model, ending_of(finish, truncated=_TRUNCATED, filtered=_FILTERED))

    def _params(self, request: Request) -> dict[str, Any]:
        request, _ = prepare(self.endpoint.kind, request)  # as the call layer did (level checked, temperature)
        max_tokens = request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS
        params: dict[str, Any] = {
            "model": request.model or KINDS[self.endpoint.kind].model or "",  # the one the level was checked for
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
        }
        chosen = setting(self.endpoint.kind, request.model, request.reasoning)
        if chosen is not None:
            # Shown only when asked: "summarized" text, else the model's default (omitted on newer models).
            display = {"display": "summarized"} if request.want_reasoning else {}
            if not chosen.thinks:
                params["thinking"] = {"type": "disabled"}
            elif chosen.adaptive:
                params["thinking"] = {"type": "adaptive", **display}
                params["output_config"] = {"effort": chosen.effort}
                max_tokens += BUDGETS[request.reasoning or "high"]  # room to think, beside the answer's
            else:
                budget = chosen.budget or BUDGETS["medium"]
                params["thinking"] = {"type": "enabled", "budget_tokens": budget, **display}
                max_tokens += budget  # the budget must be below max_tokens: the answer keeps its room
        params["max_tokens"] = max_tokens
        if request.system:
            params["system"] = request.system
        if request.temperature is not None:
            # 2.14.0 dropped the typed keyword (still absent in 2.15.0); the API still takes the field.
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

        return sdk_body(self._params(request), (anthropic.Omit, anthropic.NotGiven))

