"""Servers that misbehave, in any provider's wire format: for tests of what llmcli makes of them.

Each builder takes a wire module (``tests.fakes.openai_wire``, ``anthropic_wire``,
``gemini_wire``, ``mistral_wire``, ``dashscope_wire``) and returns a :class:`Reply`
to enqueue on that wire's server.  What each one imitates:

- :func:`clean_early_end`: a proxy that closes the upstream cleanly: some text,
  then the end of the body, with no finish reason and no terminator;
- :func:`invalid_json_event` / :func:`non_utf8_event`: a stream with an event
  that is not JSON, or bytes that are not UTF-8, after some text;
- :func:`html_page` / :func:`empty_body`: a base_url that points at a web server
  (or a proxy's error page), whatever the status;
- :func:`connection_reset`: a TCP reset in the middle of the answer;
- :func:`slow_answer`: a good answer that takes its time (for races: a file
  edited during its request, Ctrl-C mid-answer).
"""

from __future__ import annotations

from types import ModuleType

from .server import Pause, Reply, Reset

NGINX_TITLE = "Welcome to nginx!"
BAD_BYTES = b"\xff\xfe"
_MARK = "@@NOT-UTF-8@@"


def _name(wire: ModuleType) -> str:
    return wire.__name__.rsplit(".", 1)[-1]


def _deltas(wire: ModuleType, deltas: list[str] | None) -> list[str]:
    return list(wire.DEFAULT_DELTAS[:2] if deltas is None else deltas)


def raw_event(wire: ModuleType, data: str) -> str:
    """An SSE event carrying ``data`` as it is (valid or not), framed as the wire frames its events."""
    name = _name(wire)
    if name == "anthropic_wire":
        return f"event: content_block_delta\ndata: {data}\n\n"  # the SDK drops an event without `event:`
    if name == "dashscope_wire":
        return f"id:90\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n"
    return f"data: {data}\n\n"


def text_event(wire: ModuleType, text: str) -> str:
    """One event carrying ``text`` as a piece of the answer, in the wire's own format."""
    name = _name(wire)
    if name == "anthropic_wire":
        return wire.text_delta(text) + "\n\n"
    if name == "dashscope_wire":
        return wire.event(91, wire.result_payload(text, "null", 6, 1))
    return wire.chunk(text) + "\n\n"


def _stream(wire: ModuleType, deltas: list[str] | None, tail: list) -> Reply:
    # A tail replaces the ending (finish reason, usage, terminator) in every wire's stream_reply.
    return wire.stream_reply(_deltas(wire, deltas), tail=tail)


def clean_early_end(wire: ModuleType, deltas: list[str] | None = None) -> Reply:
    """Some text, then a clean end of the body: no finish reason, no ``[DONE]``, no ``message_stop``."""
    return _stream(wire, deltas, [b""])


def invalid_json_event(wire: ModuleType, deltas: list[str] | None = None, data: str = "{not json") -> Reply:
    """Some text, then an event whose data is not JSON."""
    return _stream(wire, deltas, [raw_event(wire, data)])


def non_utf8_event(wire: ModuleType, deltas: list[str] | None = None) -> Reply:
    """Some text, then an event whose text holds bytes that are not UTF-8 (``\\xff\\xfe``)."""
    event = text_event(wire, _MARK).encode().replace(_MARK.encode(), BAD_BYTES)
    return _stream(wire, deltas, [event])


def connection_reset(wire: ModuleType, deltas: list[str] | None = None, after: float = 0.2) -> Reply:
    """Some text, a pause (so the client has read it), then a TCP reset."""
    return _stream(wire, deltas, [Pause(after), Reset()])


def html_page(status: int = 200, title: str = NGINX_TITLE, filler: int = 3000) -> Reply:
    """A web server's page (``<title>``, then ``filler`` characters of body): never an API's answer."""
    body = (f"<!DOCTYPE html>\n<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n"
            f"<p>{'lorem ipsum ' * (filler // 12)}</p>\n</body>\n</html>\n")
    return Reply(status, {"Content-Type": "text/html; charset=utf-8"}, body)


def empty_body(status: int = 200, content_type: str = "application/json") -> Reply:
    """A response with nothing in it (``Content-Length: 0``)."""
    return Reply(status, {"Content-Type": content_type}, b"")


def slow_answer(wire: ModuleType, deltas: list[str] | None = None, *, pause: float = 0.5,
                first_byte: float = 0.0) -> Reply:
    """A complete answer, ``pause`` seconds between its pieces, ``first_byte`` seconds before the status line."""
    reply = wire.stream_reply(list(wire.DEFAULT_DELTAS if deltas is None else deltas), pause=pause)
    reply.delay = first_byte
    return reply


__all__ = [
    "BAD_BYTES", "NGINX_TITLE", "clean_early_end", "connection_reset", "empty_body", "html_page",
    "invalid_json_event", "non_utf8_event", "raw_event", "slow_answer", "text_event",
]
