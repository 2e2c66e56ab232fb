"""The OpenAI chat-completions wire format: SSE chunks, usage, errors, /models.

Serves ``POST …/chat/completions`` (streamed when the body says so) and
``GET …/models``.  Used for every OpenAI-compatible profile kind.

Thinking comes in the shape each server really sends (DeepSeek, OpenRouter, Groq, LM Studio, llama.cpp),
chosen with ``thinking_field``: ``reasoning_content`` (DeepSeek, llama-server, LM Studio's
option), ``reasoning`` (Ollama, Groq parsed, LM Studio gpt-oss), ``openrouter``
(``reasoning`` and ``reasoning_details`` repeating it, in one delta) and ``details``
(``reasoning_details`` alone, a ``reasoning.summary`` item).  Inline ``<think>`` is just
text: pass it in ``deltas``.  Reasoning tokens ride in
``usage.completion_tokens_details.reasoning_tokens``.
"""

from __future__ import annotations

import json

from .server import Cut, FakeServer, Pause, Recorded, Reply, Stall, json_reply, sse

DEFAULT_DELTAS = ["Hello", " from", " fake", " server!"]


def reasoning_delta(text: str, field: str = "reasoning_content") -> dict:
    """A delta carrying ``text`` as thinking, in one server's shape (see the module docstring)."""
    if field == "openrouter":
        return {"reasoning": text, "reasoning_details": [
            {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}]}
    if field == "details":
        return {"reasoning_details": [{"type": "reasoning.summary", "summary": text, "index": 0}]}
    if field == "encrypted":
        return {"reasoning_details": [{"type": "reasoning.encrypted", "data": text, "index": 0}]}
    return {field: text}


def chunk(content: str | None = None, finish: str | None = None, model: str = "fake-model",
          *, extra: dict | None = None) -> str:
    delta = {} if content is None else {"content": content}
    delta.update(extra or {})
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return "data: " + json.dumps(body)


def usage_chunk(prompt: int = 5, completion: int = 4, model: str = "fake-model",
                reasoning_tokens: int | None = None) -> str:
    body: dict = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }
    if reasoning_tokens is not None:
        body["usage"]["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
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
    thinking=(),
    thinking_field: str = "reasoning_content",
    completion_tokens: int = 4,
    reasoning_tokens: int | None = None,
) -> Reply:
    """A complete streamed answer; ``tail`` parts (Stall/Cut/extra events) replace the ending.

    ``thinking``: deltas of thinking sent before the answer, in ``thinking_field``'s shape.
    """
    parts: list = []
    for text in thinking:
        parts += sse([chunk(None, model=model, extra=reasoning_delta(text, thinking_field))])
    for text in deltas:
        parts += sse([chunk(text, model=model)])
        if pause:
            parts.append(Pause(pause))
    if tail:
        parts += list(tail)
        return Reply(200, {"Content-Type": "text/event-stream"}, parts=parts)
    parts += sse([chunk(None, finish, model=model)])
    if usage:
        parts += sse([usage_chunk(completion=completion_tokens, model=model, reasoning_tokens=reasoning_tokens)])
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
    "Cut", "Pause", "Stall", "chunk", "reasoning_delta", "usage_chunk", "stream_reply", "error_reply",
    "stream_error_event", "models_reply", "make_server", "DEFAULT_DELTAS",
]
