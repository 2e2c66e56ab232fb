"""The Mistral chat wire format as mistralai 3.x validates it.

Serves ``POST /v1/chat/completions`` (SSE) and ``GET /v1/models``.  Mistral's
SDK is stricter than OpenAI's: every chunk needs ``id``, ``model`` and, per
choice, ``index``, ``delta`` and ``finish_reason`` (null is fine); usage rides
on the finish chunk; the reply must be ``Content-Type: text/event-stream``.
Error bodies follow the real API: ``{"object":"error","message":...}``.

Thinking (Magistral, Small 4 with ``reasoning_effort``) arrives as a content
*list* holding a ThinkChunk, ``{"type":"thinking","thinking":[{"type":"text",..}]}``;
the answer then comes as text chunks or plain strings (both in one stream,
as captured with mistralai 3.7.0).
"""

from __future__ import annotations

import json

from .server import Cut, FakeServer, Pause, Recorded, Reply, Stall, json_reply, sse

DEFAULT_DELTAS = ["Bonjour", " from", " fake", " Mistral!"]
MODEL = "mistral-fake"


def chunk(content: str | list | None = "", finish: str | None = None, *, model: str = MODEL,
          usage: dict | None = None) -> str:
    delta: dict = {"content": content}
    body: dict = {
        "id": "cmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return "data: " + json.dumps(body)


def think_content(text: str) -> list:
    """A delta content list carrying one ThinkChunk."""
    return [{"type": "thinking", "thinking": [{"type": "text", "text": text}]}]


def text_content(text: str) -> list:
    """A delta content list carrying one TextChunk."""
    return [{"type": "text", "text": text}]


def usage(prompt: int = 7, completion: int = 4, reasoning_tokens: int | None = None) -> dict:
    body: dict = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if reasoning_tokens is not None:
        body["reasoning_tokens"] = reasoning_tokens  # the field name the real API uses is unverified
    return body


def stream_reply(
    deltas=DEFAULT_DELTAS,
    *,
    finish: str = "stop",
    model: str = MODEL,
    prompt_tokens: int = 7,
    pause: float = 0.0,
    tail=(),
    headers: dict[str, str] | None = None,
    thinking=(),
    chunked_text: bool = False,
    reasoning_tokens: int | None = None,
) -> Reply:
    """A complete streamed answer; ``tail`` parts (Stall/Cut/error events) replace the ending.

    ``thinking``: ThinkChunk deltas before the answer; ``chunked_text``: the first
    answer delta as a text-chunk list rather than a string.
    """
    parts: list = []
    # The real API opens with a role-only chunk whose content is "".
    parts += sse([chunk("", model=model).replace('"content": ""', '"role": "assistant", "content": ""')])
    for text in thinking:
        parts += sse([chunk(think_content(text), model=model)])
    for i, text in enumerate(deltas):
        parts += sse([chunk(text_content(text) if chunked_text and i == 0 else text, model=model)])
        if pause:
            parts.append(Pause(pause))
    if tail:
        parts += list(tail)
    else:
        parts += sse([chunk("", finish, model=model,
                            usage=usage(prompt_tokens, len(deltas) + len(thinking), reasoning_tokens))])
        parts += sse(["data: [DONE]"])
    return Reply(200, {"Content-Type": "text/event-stream", **(headers or {})}, parts=parts)


def error_reply(status: int, message: str, err_type: str = "invalid_request_error",
                headers: dict[str, str] | None = None) -> Reply:
    body = {"object": "error", "message": message, "type": err_type, "param": None, "code": None}
    return json_reply(body, status, headers)


def stream_error_event(message: str = "internal failure mid-stream", err_type: str = "internal_error") -> str:
    return "data: " + json.dumps({"object": "error", "message": message, "type": err_type, "param": None, "code": None})


def models_reply(ids=("mistral-small-latest", "mistral-large-latest")) -> Reply:
    data = [
        {"id": i, "object": "model", "created": 0, "owned_by": "mistralai", "type": "base",
         "capabilities": {"completion_chat": True}}
        for i in ids
    ]
    return json_reply({"object": "list", "data": data})


def default_handler(request: Recorded) -> Reply:
    if request.method == "GET" and request.path == "/v1/models":
        return models_reply()
    if request.method == "POST" and request.path == "/v1/chat/completions":
        return stream_reply()
    return error_reply(404, f"no route {request.method} {request.path}")


def make_server() -> FakeServer:
    return FakeServer(default_handler)


__all__ = [
    "Cut", "Pause", "Stall", "chunk", "think_content", "text_content", "usage", "stream_reply", "error_reply", "stream_error_event",
    "models_reply", "make_server", "DEFAULT_DELTAS", "MODEL",
]
