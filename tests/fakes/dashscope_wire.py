"""The DashScope native text-generation wire format (what ``dashscope.Generation.call`` speaks).

Serves ``POST /api/v1/services/aigc/text-generation/generation``.  A streamed
reply imitates the real service's SSE framing::

    id:1
    event:result
    :HTTP_STATUS/200
    data:{"output":{"choices":[...]},"usage":{...},"request_id":"..."}

It honours the request's ``parameters.incremental_output``: when it is true
each event carries only the new text (a delta); otherwise each carries the
whole answer so far (a cumulative snapshot), as the real service does.  That
lets a test catch a client that forgets to ask for deltas.

An error inside the stream is ``event:error`` plus a ``status:NNN`` line (the
only thing the SDK reads the status from) and ``data:{"code":..,"message":..}``.
Non-stream errors are JSON ``{"code":..,"message":..,"request_id":..}``.

Thinking streams in ``message.reasoning_content`` (content "" meanwhile), and
``usage.output_tokens_details.reasoning_tokens`` counts it.  The gateway binds
each model to one of two service paths, text-generation (``PATH``) and
multimodal-generation (``MULTIMODAL_PATH``, where Qwen3.5+ live and content
comes back as ``[{"text": ...}]``), and answers the other with a 400
"url error" (dashscope/acli/providers/tongyi.py): the default handler does the
same for the models in ``MULTIMODAL_MODELS``.
"""

from __future__ import annotations

import json

from .server import Cut, FakeServer, Pause, Recorded, Reply, Stall, json_reply

PATH = "/api/v1/services/aigc/text-generation/generation"
MULTIMODAL_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
# Models the fake serves on the multimodal path only (everything else: text-generation only).
MULTIMODAL_MODELS = {"qwen3.6-plus", "qwen-plus-mm"}
URL_ERROR = "url error, please check url！"
DEFAULT_DELTAS = ["你好", ", from", " fake", " Qwen!"]
SSE_HEADERS = {"Content-Type": "text/event-stream;charset=UTF-8"}


def event(n: int, payload: dict, kind: str = "result", status: int = 200) -> str:
    lines = [f"id:{n}", f"event:{kind}", f":HTTP_STATUS/{status}"]
    if kind == "error":
        lines.append(f"status:{status}")
    lines.append("data:" + json.dumps(payload, ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


def result_payload(content, finish: str, input_tokens: int, output_tokens: int, *,
                   reasoning: str | None = None, reasoning_tokens: int | None = None) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    usage: dict = {"input_tokens": input_tokens, "output_tokens": output_tokens,
                   "total_tokens": input_tokens + output_tokens}
    if reasoning_tokens is not None:
        usage["output_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return {
        "output": {"choices": [{"message": message, "finish_reason": finish}]},
        "usage": usage,
        "request_id": "req-fake-1",
    }


def stream_parts(deltas, *, incremental: bool, input_tokens: int = 6, pause: float = 0.0,
                 finish: str = "stop", tail=(), thinking=(), reasoning_tokens: int | None = None,
                 multimodal: bool = False) -> list:
    """``thinking``: reasoning_content events before the answer; ``multimodal``: content as text parts."""
    parts: list = []
    for i, text in enumerate(thinking, 1):
        parts.append(event(100 + i, result_payload([] if multimodal else "", "null", input_tokens, i,
                                                   reasoning=text, reasoning_tokens=i)))
    so_far = ""
    base = len(thinking)
    for i, text in enumerate(deltas, 1):
        so_far += text
        last = i == len(deltas) and not tail
        content = text if incremental else so_far
        extra = {"reasoning": "", "reasoning_tokens": reasoning_tokens} if thinking else {}
        parts.append(event(i, result_payload([{"text": content}] if multimodal else content,
                                             finish if last else "null", input_tokens, base + i, **extra)))
        if pause:
            parts.append(Pause(pause))
    parts += list(tail)
    return parts


def stream_reply(deltas=DEFAULT_DELTAS, *, incremental: bool = True, **kw) -> Reply:
    return Reply(200, dict(SSE_HEADERS), parts=stream_parts(deltas, incremental=incremental, **kw))


def stream_error_event(status: int = 429, code: str = "Throttling", message: str = "Requests throttling triggered.",
                       n: int = 99) -> str:
    return event(n, {"code": code, "message": message, "request_id": "req-fake-err"}, kind="error", status=status)


def error_reply(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return json_reply({"code": code, "message": message, "request_id": "req-fake-err"}, status, headers)


def completion_reply(text: str = "".join(DEFAULT_DELTAS), input_tokens: int = 6, output_tokens: int = 4) -> Reply:
    """The non-streamed JSON answer (``stream=False``)."""
    return json_reply(result_payload(text, "stop", input_tokens, output_tokens))


def url_error_reply() -> Reply:
    """What the gateway answers a model asked on the service path it is not bound to."""
    return error_reply(400, "InvalidParameter", URL_ERROR)


def default_handler(request: Recorded) -> Reply:
    if request.method != "POST" or request.path not in (PATH, MULTIMODAL_PATH):
        return error_reply(404, "NotFound", f"no route {request.method} {request.path}")
    body = request.json or {}
    multimodal = body.get("model") in MULTIMODAL_MODELS
    if (request.path == MULTIMODAL_PATH) != multimodal:
        return url_error_reply()
    params = body.get("parameters", {})
    if request.headers.get("x-dashscope-sse") == "enable" or params.get("stream"):
        return stream_reply(incremental=bool(params.get("incremental_output")), multimodal=multimodal)
    return completion_reply()


def make_server() -> FakeServer:
    return FakeServer(default_handler)


__all__ = [
    "Cut", "Pause", "Stall", "PATH", "MULTIMODAL_PATH", "MULTIMODAL_MODELS", "URL_ERROR", "url_error_reply",
    "DEFAULT_DELTAS", "SSE_HEADERS", "event", "result_payload",
    "stream_parts", "stream_reply", "stream_error_event", "error_reply", "completion_reply",
    "make_server",
]
