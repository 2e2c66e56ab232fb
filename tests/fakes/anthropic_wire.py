"""The Anthropic Messages wire format: SSE with ``event:`` lines, usage, errors, /v1/models.

Serves ``POST /v1/messages`` (streamed when the body says ``"stream": true``)
and ``GET /v1/models``.  The SDK drops any SSE event without an ``event:``
line, so every event here has one; the stream ends at EOF (no ``[DONE]``).

Thinking is streamed as the API does it (captured with anthropic 2.15.0,
anthropic 2.15.0's types): a ``thinking`` block (``thinking_delta`` events,
then one ``signature_delta``), optionally a ``redacted_thinking`` block whose
``data`` is opaque, then the text block; ``message_delta.usage`` carries
``output_tokens_details.thinking_tokens``.
"""

from __future__ import annotations

import json

from .server import Cut, FakeServer, Pause, Recorded, Reply, Stall, json_reply, sse

DEFAULT_DELTAS = ["Hello", " from", " fake", " server!"]
SSE_HEADERS = {"Content-Type": "text/event-stream", "request-id": "req_fake"}


def event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}"


def message_start(model: str = "claude-fake", input_tokens: int = 5) -> str:
    message = {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    return event("message_start", {"type": "message_start", "message": message})


def block_start(index: int = 0) -> str:
    return event("content_block_start",
                 {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})


def thinking_block_start(index: int = 0) -> str:
    return event("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "thinking", "thinking": "", "signature": ""}})


def thinking_delta(text: str, index: int = 0) -> str:
    return event("content_block_delta",
                 {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": text}})


def signature_delta(signature: str = "sigABC", index: int = 0) -> str:
    return event("content_block_delta", {"type": "content_block_delta", "index": index,
                                          "delta": {"type": "signature_delta", "signature": signature}})


REDACTED_DATA = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"


def redacted_block_start(index: int, data: str = REDACTED_DATA) -> str:
    return event("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "redacted_thinking", "data": data}})


def text_delta(text: str, index: int = 0) -> str:
    return event("content_block_delta",
                 {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}})


def block_stop(index: int = 0) -> str:
    return event("content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(output_tokens: int, stop_reason: str | None = "end_turn",
                  thinking_tokens: int | None = None) -> str:
    usage: dict = {"output_tokens": output_tokens}
    if thinking_tokens is not None:
        usage["output_tokens_details"] = {"thinking_tokens": thinking_tokens}
    return event("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": usage,
    })


def message_stop() -> str:
    return event("message_stop", {"type": "message_stop"})


def ping() -> str:
    return event("ping", {"type": "ping"})


def stream_error_event(message: str = "Overloaded", err_type: str = "overloaded_error") -> str:
    return event("error", {"type": "error", "error": {"type": err_type, "message": message}})


def stream_reply(
    deltas=DEFAULT_DELTAS,
    *,
    input_tokens: int = 5,
    output_tokens: int = 4,
    stop_reason: str = "end_turn",
    model: str = "claude-fake",
    pause: float = 0.0,
    tail=(),
    thinking=(),
    redacted: bool = False,
    thinking_tokens: int | None = None,
) -> Reply:
    """A complete streamed answer; ``tail`` parts (Stall/Cut/extra events) replace the ending.

    ``thinking``: thinking deltas in a thinking block before the text; ``redacted``:
    a redacted_thinking block after it.
    """
    parts: list = sse([message_start(model, input_tokens), ping()])
    index = 0
    if thinking:
        parts += sse([thinking_block_start(index), *(thinking_delta(t, index) for t in thinking),
                      signature_delta(index=index), block_stop(index)])
        index += 1
    if redacted:
        parts += sse([redacted_block_start(index), block_stop(index)])
        index += 1
    parts += sse([block_start(index)])
    for text in deltas:
        parts += sse([text_delta(text, index)])
        if pause:
            parts.append(Pause(pause))
    if tail:
        parts += list(tail)
        return Reply(200, SSE_HEADERS, parts=parts)
    parts += sse([block_stop(index), message_delta(output_tokens, stop_reason, thinking_tokens), message_stop()])
    return Reply(200, SSE_HEADERS, parts=parts)


def message_reply(text: str = "Hello from fake server!", model: str = "claude-fake") -> Reply:
    return json_reply({
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 4},
    })


# Anthropic's error types by status (https://docs.anthropic.com/en/api/errors).
ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 503: "api_error", 529: "overloaded_error",
}


def error_reply(status: int, message: str, err_type: str | None = None, headers=None) -> Reply:
    body = {"type": "error", "error": {"type": err_type or ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": "req_fake"}
    return json_reply(body, status, headers)


def models_reply(ids=("claude-fake", "claude-other")) -> Reply:
    data = [{"type": "model", "id": i, "display_name": i, "created_at": "2026-01-01T00:00:00Z"} for i in ids]
    return json_reply({"data": data, "has_more": False, "first_id": ids[0] if ids else None,
                       "last_id": ids[-1] if ids else None})


def default_handler(request: Recorded) -> Reply:
    if request.method == "GET" and request.path == "/v1/models":
        return models_reply()
    if request.method == "POST" and request.path == "/v1/messages":
        body = request.json or {}
        return stream_reply() if body.get("stream") else message_reply()
    return error_reply(404, f"no route {request.method} {request.path}")


def make_server() -> FakeServer:
    return FakeServer(default_handler)


__all__ = [
    "Cut", "Pause", "Stall", "event", "message_start", "block_start", "text_delta", "block_stop",
    "thinking_block_start", "thinking_delta", "signature_delta", "redacted_block_start", "REDACTED_DATA",
    "message_delta", "message_stop", "ping", "stream_error_event", "stream_reply", "message_reply",
    "error_reply", "models_reply", "make_server", "DEFAULT_DELTAS",
]
