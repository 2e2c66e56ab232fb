"""Google Gemini via the google-genai SDK (``from google import genai``).

Not the deprecated ``google-generativeai`` package: that one prints two
FutureWarnings on import, speaks gRPC by default and retries 503s for ten
minutes.  The SDK is imported only inside methods (it costs about 0.7 s).

Facts about google-genai 3.6.1 this relies on (read in its source, seen against a loopback fake):
- the Client closes its HTTP client when garbage-collected, so the backend
  keeps a reference to the Client itself, not just to ``client.models``;
- ``HttpOptions.timeout`` is in milliseconds;
- there are no retries unless ``retry_options`` is set (we leave it unset:
  retries are ours, llmcli.retry);
- transport failures (refused connection, timeouts, a cut stream) escape as
  raw ``httpx2`` exceptions, covered by ``Errors.transport_mapping``;
- an ``{"error": ...}`` object inside a stream raises ``ClientError`` /
  ``ServerError`` whose ``response`` is the SDK's own wrapper (status 200);
- the SDK logs through ``logging`` loggers named ``google_genai.*`` (e.g.
  "Both GOOGLE_API_KEY and GEMINI_API_KEY are set", on every Client built);
- thinking: ``ThinkingConfig(thinking_budget=N)`` (Gemini 2.5) or
  ``thinking_level=...`` (Gemini 3), never both (a 400); thought summaries come
  back as parts with ``thought=True`` only when ``include_thoughts=True``, so
  that is asked only when the user wants to see them (``Request.want_reasoning``),
  and no thinking config at all is sent when nothing was asked;
  ``usage_metadata.thoughts_token_count`` is *not* inside
  ``candidates_token_count``: it is added to the output here.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from typing import Any

from .. import errors as E
from . import KINDS, bodies
from .base import Done, Event, ReasoningDelta, Request, TextDelta, Usage, ending_of
from .common import SDKBackend, header_retry_after, provider_message, quiet_logger
from .reasoning import prepare, setting

# Pinned rather than left to the SDK, which lets GOOGLE_GENAI_API_VERSION change it.
API_VERSION = "v1"
_LOGGER = "google_genai"  # parent of every logger the SDK creates
# finishReason values (compared lower-cased) that mean the answer is not whole; STOP is complete.
_TRUNCATED = ("max_tokens",)
_FILTERED = ("safety", "recitation", "blocklist", "prohibited_content", "spii", "image_safety", "language")


class Backend(SDKBackend):
    sdk_modules = ("google.genai", "google.genai.types", "google.genai.errors")
    unused_extras = ("aiohttp",)

    # -- SDK plumbing -------------------------------------------------------

    def make_client(self) -> Any:
        # Kept by SDKBackend for the backend's lifetime: a Client that is collected closes
        # its httpx client, and a later call fails with "the client has been closed".
        e = self.endpoint
        self.errors.require_key()  # the SDK would read GEMINI_API_KEY/GOOGLE_API_KEY itself
        # Its records (e.g. "Both GOOGLE_API_KEY and GEMINI_API_KEY are set") stay off stderr.
        quiet_logger(_LOGGER, propagate=False)
        logging.getLogger(_LOGGER).setLevel(logging.ERROR)
        from google import genai
        from google.genai import types

        return genai.Client(
            api_key=e.api_key,
            # Explicit, so GOOGLE_GENAI_USE_VERTEXAI in the environment cannot
            # switch this profile to Vertex AI and its credential lookup.
            vertexai=False,
            http_options=types.HttpOptions(
                base_url=e.base_url,  # always explicit: GOOGLE_GEMINI_BASE_URL is ignored
                api_version=API_VERSION,
                timeout=max(1, int(e.timeout * 1000)),  # milliseconds
                headers=e.headers or None,
                # retry_options stays None: the SDK then makes exactly one attempt.
                # The hook refuses an HTML page or an empty body before the SDK parses it.
                client_args={"event_hooks": self.errors.http_hooks()},
            ),
        )

    def mapping(self) -> dict[type[BaseException], Any]:
        import pydantic
        from google.genai import errors as genai_errors

        return {
            **self.errors.transport_mapping(),
            genai_errors.APIError: self._api_error,
            genai_errors.UnknownApiResponseError: self._unparseable,
            # A chunk the SDK's models reject: the server is not speaking Gemini's API.
            pydantic.ValidationError: lambda exc: self.errors.make(
                E.ProviderError, "unexpected response from the server: " + " ".join(str(exc).split())[:200]
            ),
        }

    def _api_error(self, exc: Any) -> E.ProviderError:
        details = getattr(exc, "details", None)
        # (A body that is not JSON is kept as {"message": its text}: an HTML page is summarised.)
        message = provider_message(details, fallback=getattr(exc, "message", None) or "")
        if not message and getattr(exc, "status", None):
            message = str(exc.status)
        response = getattr(exc, "response", None)
        http_status = getattr(response, "status_code", None)
        if http_status == 200:
            # An {"error": ...} object inside a stream that had started fine.
            return self.errors.make(E.StreamError, message or str(exc))
        status = http_status or getattr(exc, "code", None)
        retry_after = header_retry_after(_headers(response))
        if retry_after is None:
            retry_after = _retry_delay(details)
        return self.errors.status(status, message, retry_after)

    def _unparseable(self, exc: Any) -> E.ProviderError:
        # "Failed to parse response as JSON. Raw response: <the line>": the server's fault, said in one line.
        raw = str(exc).partition("Raw response:")[2].strip()
        return self.errors.bad_response(f"data that is not JSON: {bodies.describe(raw)}" if raw else
                                        "an answer that is not JSON")

    # -- the protocol -------------------------------------------------------

    def _thinking_config(self, request: Request, types: Any) -> Any:
        """The ThinkingConfig for this request, or None when nothing about thinking was asked."""
        chosen = setting(self.endpoint.kind, request.model, request.reasoning)
        fields: dict[str, Any] = {}
        if chosen is not None and chosen.budget is not None:
            fields["thinking_budget"] = chosen.budget
        elif chosen is not None and chosen.effort is not None:
            fields["thinking_level"] = chosen.effort
        if request.want_reasoning:
            fields["include_thoughts"] = True
        return types.ThinkingConfig(**fields) if fields else None

    def _request_parts(self, request: Request, *, streaming: bool = True) -> tuple[list[dict[str, Any]], Any]:
        """The contents and config one request sends: the real-time stream and a batch line alike."""
        from google.genai import types

        request, _ = prepare(self.endpoint.kind, request)  # as the call layer did: the level checked
        config = types.GenerateContentConfig(
            system_instruction=request.system or None,
            temperature=request.temperature,
            max_output_tokens=request.max_tokens,
            thinking_config=self._thinking_config(request, types),
            # No tools are ever sent; skip the SDK's function-calling loop (a client-side setting).
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True) if streaming else None,
        )
        contents = [
            {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
            for m in request.messages
        ]
        return contents, config

    def _events(self, request: Request) -> Iterator[Event]:
        usage = None
        finish = None
        blocked = None
        wrote = False
        model = request.model
        with E.map_exceptions(self.mapping()):
            client = self.client()
            contents, config = self._request_parts(request)
            name = request.model or KINDS[self.endpoint.kind].model or ""  # the one the level was checked for
            chunks = client.models.generate_content_stream(model=name, contents=contents, config=config)
            try:
                for chunk in chunks:
                    model = getattr(chunk, "model_version", None) or model
                    if chunk.usage_metadata is not None:
                        usage = chunk.usage_metadata
                    feedback = chunk.prompt_feedback
                    if feedback is not None and feedback.block_reason is not None:
                        blocked = getattr(feedback.block_reason, "value", feedback.block_reason)
                    candidates = chunk.candidates or ()
                    if not candidates:
                        continue
                    candidate = candidates[0]
                    thought = _thought_of(candidate)
                    if thought:
                        yield ReasoningDelta(thought)
                    text = _text_of(candidate)
                    if text:
                        wrote = True
                        yield TextDelta(text)
                    if candidate.finish_reason is not None:
                        reason = getattr(candidate.finish_reason, "value", candidate.finish_reason)
                        finish = str(reason).lower()
            finally:
                close = getattr(chunks, "close", None)  # a generator: release the response if abandoned
                if close is not None:
                    close()
        if blocked and not wrote:
            # Gemini answers a refused prompt with HTTP 200, no candidates and promptFeedback.
            raise self.errors.make(E.BadRequestError, f"the prompt was blocked ({blocked})")
        if usage is not None:
            output = usage.candidates_token_count
            thoughts = getattr(usage, "thoughts_token_count", None)
            if thoughts:
                # Thinking tokens are billed as output and counted in the total.
                output = (output or 0) + thoughts
            yield Usage(usage.prompt_token_count, output, usage.total_token_count, thoughts)
        yield Done(finish, model, ending_of(finish, truncated=_TRUNCATED, filtered=_FILTERED))

    def list_models(self) -> list[str]:
        with E.map_exceptions(self.mapping()):
            names = (model.name or "" for model in self.client().models.list())
            return sorted(name.removeprefix("models/") for name in names if name)

    # -- provider batch (llmcli/providers/batch_gemini.py) ----------------------------------

    def batch_body(self, request: Request) -> dict[str, Any]:
        """The REST body (``contents``, ``systemInstruction``, ``generationConfig``) the real-time call sends.

        The contents and config are the ones ``_events`` sends (``_request_parts``), turned
        into JSON by the SDK's own request converter (the code ``generate_content_stream`` runs), so a batch
        file line is exactly a real-time request; only the model, which a batch job
        names once, is left out.
        """
        from google.genai import _common, types

        contents, config = self._request_parts(request, streaming=False)
        # The model only goes into the URL part, dropped below; a batch engine insists on one itself.
        parameters = types._GenerateContentParameters(model=request.model or "-", contents=contents, config=config)
        convert, takes_root = _converter()
        extra: dict[str, Any] = {"root_object": parameters} if takes_root else {}
        body = convert(self.client()._api_client, parameters, **extra)
        for private in ("_url", "_query", "config"):
            body.pop(private, None)
        return _common.encode_unserializable_types(_common.convert_to_dict(body))


def _text_of(candidate: Any) -> str:
    """The answer text of one chunk's candidate, leaving out thought summaries and non-text parts."""
    content = getattr(candidate, "content", None)
    parts = getattr(content, "parts", None) or ()
    return "".join(p.text for p in parts if isinstance(p.text, str) and not p.thought)


def _thought_of(candidate: Any) -> str:
    """The thought summary text of one chunk's candidate (parts marked ``thought``)."""
    content = getattr(candidate, "content", None)
    parts = getattr(content, "parts", None) or ()
    return "".join(p.text for p in parts if isinstance(p.text, str) and p.thought)


def _headers(response: Any) -> Any:
    headers = getattr(response, "headers", None)
    if isinstance(headers, dict):  # the SDK's own wrapper keeps a plain dict, case as sent
        return {str(k).lower(): v for k, v in headers.items()}
    return headers


_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _retry_delay(details: Any) -> float | None:
    """Seconds from a google.rpc.RetryInfo in the error body ("retryDelay": "37s"), which Gemini sends on 429."""
    error = details.get("error", details) if isinstance(details, dict) else None
    items = error.get("details") if isinstance(error, dict) else None
    for item in items if isinstance(items, list) else ():
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        match = _DELAY.match(delay) if isinstance(delay, str) else None
        if match:
            return float(match.group(1))
    return None


@functools.cache
def _converter() -> tuple[Any, bool]:
    """The SDK's request converter, and whether this SDK version's takes ``root_object`` (asked once, not per line)."""
    import inspect

    from google.genai import models

    convert = models._GenerateContentParameters_to_mldev
    return convert, "root_object" in inspect.signature(convert).parameters
