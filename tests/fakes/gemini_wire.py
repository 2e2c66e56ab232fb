"""The Gemini API wire format as google-genai uses it: SSE ``data:`` events, usage, errors, /v1/models.

Serves ``POST /v1/models/{model}:streamGenerateContent?alt=sse`` (and the
non-streaming ``:generateContent``) and ``GET /v1/models``.  Events are
``data: {...}`` plus a blank line, with no ``event:`` line and no terminator:
the stream ends at EOF.  The space after ``data:`` is required by the SDK.

Thought summaries (sent only when the request asks ``include_thoughts``) are
parts with ``"thought": true``; the answer's first part carries a
``thoughtSignature``; ``usageMetadata.thoughtsTokenCount`` is counted apart
from ``candidatesTokenCount`` (captured with google-genai 3.6.1).
"""

from __future__ import annotations

import json
import re

from .server import Cut, FakeServer, Pause, Recorded, Reply, Stall, json_reply, sse

DEFAULT_DELTAS = ["Hello", " from", " fake", " server!"]
SSE_HEADERS = {"Content-Type": "text/event-stream"}
_ROUTE = re.compile(r"^/(v1|v1beta)/models/([^/:]+):(streamGenerateContent|generateContent)$")


def chunk(text: str | None = None, *, finish: str | None = None, usage: dict | None = None,
          model: str = "gemini-fake-001", thought: bool = False, signature: str | None = None) -> str:
    candidate: dict = {"index": 0}
    if text is not None:
        part: dict = {"text": text}
        if thought:
            part["thought"] = True
        if signature:
            part["thoughtSignature"] = signature
        candidate["content"] = {"parts": [part], "role": "model"}
    if finish:
        candidate["finishReason"] = finish
    body: dict = {"candidates": [candidate], "modelVersion": model}
    if usage:
        body["usageMetadata"] = usage
    return "data: " + json.dumps(body)


def usage(prompt: int = 5, candidates: int = 4, thoughts: int | None = None) -> dict:
    meta = {"promptTokenCount": prompt, "candidatesTokenCount": candidates,
            "totalTokenCount": prompt + candidates + (thoughts or 0)}
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    return meta


def stream_reply(
    deltas=DEFAULT_DELTAS,
    *,
    finish: str = "STOP",
    prompt_tokens: int = 5,
    output_tokens: int = 4,
    model: str = "gemini-fake-001",
    pause: float = 0.0,
    tail=(),
    thoughts=(),
    thoughts_tokens: int | None = None,
) -> Reply:
    """A complete streamed answer, usage on every chunk as Gemini sends it (the last has the totals).

    ``tail`` parts (Stall/Cut/extra events) replace the final chunk; ``thoughts``:
    thought-summary chunks before the answer.
    """
    parts: list = []
    for text in thoughts:
        parts += sse([chunk(text, thought=True, usage=usage(prompt_tokens, 0, thoughts_tokens), model=model)])
    deltas = list(deltas)
    body = deltas if tail else deltas[:-1]
    for i, text in enumerate(body):
        parts += sse([chunk(text, usage=usage(prompt_tokens, i + 1, thoughts_tokens), model=model,
                            signature="c2lnbmF0dXJl" if thoughts and i == 0 else None)])
        if pause:
            parts.append(Pause(pause))
    if tail:
        parts += list(tail)
    else:
        last = deltas[-1] if deltas else ""
        parts += sse([chunk(last, finish=finish, usage=usage(prompt_tokens, output_tokens, thoughts_tokens),
                            model=model)])
    return Reply(200, SSE_HEADERS, parts=parts)


def content_reply(text: str = "Hello from fake server!", model: str = "gemini-fake-001") -> Reply:
    return json_reply({
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage(),
        "modelVersion": model,
    })


# google.rpc status names by HTTP status, as the Gemini API reports them.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}


def error_body(code: int, message: str, status: str | None = None, details: list | None = None) -> dict:
    error: dict = {"code": code, "message": message, "status": status or STATUS_NAMES.get(code, "UNKNOWN")}
    if details is not None:
        error["details"] = details
    return {"error": error}


def error_reply(code: int, message: str, status: str | None = None, headers=None, details=None) -> Reply:
    return json_reply(error_body(code, message, status, details), code, headers)


def retry_info(seconds: str = "37s") -> dict:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": seconds}


def stream_error_event(message: str = "boom", code: int = 500, status: str | None = None) -> str:
    return "data: " + json.dumps(error_body(code, message, status))


def models_reply(names=("gemini-fake-001", "gemini-other")) -> Reply:
    models = [{"name": f"models/{n}", "displayName": n, "supportedGenerationMethods": ["generateContent"]}
              for n in names]
    return json_reply({"models": models})


def default_handler(request: Recorded) -> Reply:
    if request.method == "GET" and request.path in ("/v1/models", "/v1beta/models"):
        return models_reply()
    match = _ROUTE.match(request.path)
    if request.method == "POST" and match:
        return stream_reply() if match.group(3) == "streamGenerateContent" else content_reply()
    return error_reply(404, f"no route {request.method} {request.path}")


def make_server() -> FakeServer:
    return FakeServer(default_handler)


__all__ = [
    "Cut", "Pause", "Stall", "chunk", "usage", "stream_reply", "content_reply", "error_body", "error_reply",
    "retry_info", "stream_error_event", "models_reply", "make_server", "DEFAULT_DELTAS",
]
