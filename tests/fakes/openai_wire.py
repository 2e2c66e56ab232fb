"""The OpenAI chat-completions wire format: SSE chunks, usage, errors, /models.

Serves ``POST …/chat/completions`` (streamed when the body says so) and
``GET …/models``.  Used for every OpenAI-compatible profile kind.
"""

from __future__ import annotations

import json

from .server import Cut, FakeServer, Pause, Recorded, Reply, Stall, json_reply, sse

DEFAULT_DELTAS = ["Hello", " from", " fake", " server!"]


def chunk(content: str | None = None, finish: str | None = None, model: str = "fake-model") -> str:
    delta = {} if content is None else {"content": content}
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return "data: " + json.dumps(body)


def usage_chunk(prompt: int = 5, completion: int = 4, model: str = "fake-model") -> str:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }
    return "data: " + json.dumps(body)


def stream_reply(
    deltas=DEFAULT_DELTAS,
    *,
    usage: bool = True,
    pause: float = 0.0,
    finish: str = "stop",
    model: str = "fake-model",
    done: bool = True,
    tail=(),
) -> Reply:
    """A complete streamed answer; ``tail`` parts (Stall/Cut/extra events) replace the ending."""
    parts: list = []
    for text in deltas:
        parts += sse([chunk(text, model=model)])
        if pause:
            parts.append(Pause(pause))
    if tail:
        parts += list(tail)
        return Reply(200, {"Content-Type": "text/event-stream"}, parts=parts)
    parts += sse([chunk(None, finish, model=model)])
    if usage:
        parts += sse([usage_chunk(model=model)])
    if done:
        parts += sse(["data: [DONE]"])
    return Reply(200, {"Content-Type": "text/event-stream"}, parts=parts)


def error_reply(status: int, message: str, err_type: str = "invalid_request_error", headers=None) -> Reply:
    body = {"error": {"message": message, "type": err_type, "param": None, "code": None}}
    return json_reply(body, status, headers)


def stream_error_event(message: str = "boom") -> str:
    return "data: " + json.dumps({"error": {"message": message, "type": "server_error"}})


def models_reply(ids=("fake-model", "other-model")) -> Reply:
    return json_reply({"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "x"} for i in ids]})


def default_handler(request: Recorded) -> Reply:
    if request.method == "GET" and request.path.endswith("/models"):
        return models_reply()
    if request.path.endswith("/chat/completions"):
        return stream_reply()
    return error_reply(404, f"no route {request.path}")


def make_server() -> FakeServer:
    return FakeServer(default_handler)


__all__ = [
    "Cut", "Pause", "Stall", "chunk", "usage_chunk", "stream_reply", "error_reply",
    "stream_error_event", "models_reply", "make_server", "DEFAULT_DELTAS",
]
