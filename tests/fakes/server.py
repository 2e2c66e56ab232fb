"""A scriptable HTTP server on 127.0.0.1 that records what it receives.

Each provider's fake (``tests/fakes/<wire>.py``) builds :class:`Reply` values
in that provider's wire format; this module only knows HTTP.  Streaming
replies are sent with chunked transfer encoding, one chunk per part, so a test
can pause between parts (``Pause``), stall (``Stall``), drop the connection
before the terminating chunk (``Cut``) or reset it (``Reset``) exactly as a
real network would.  Misbehaving servers are built in ``misbehaving.py``.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float = 0.0  # time.monotonic() when it arrived

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class Pause:
    seconds: float


@dataclass
class Stall:
    """Send nothing more and keep the connection open for this long."""

    seconds: float = 30.0


@dataclass
class Cut:
    """Close the socket abruptly: the chunked body never finishes."""


@dataclass
class Reset:
    """Reset the connection (a TCP RST, not a close): what a crashed proxy or a dropped NAT entry does."""


Part = bytes | str | Pause | Stall | Cut | Reset


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | None = None  # a whole body (Content-Length)
    parts: list[Part] | None = None  # a streamed body (chunked)
    delay: float = 0.0  # before the status line


Handler = Callable[[Recorded], Reply]


def json_reply(obj, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(obj))


class FakeServer:
    """Serves queued replies (or a default handler) and records every request."""

    def __init__(self, default: Handler | None = None) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply | Handler] = deque()
        self.default = default
        # Requests being answered right now, and the most seen at once (batch concurrency tests).
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ----------------------------------------------------------

    def enqueue(self, *replies: Reply | Handler) -> None:
        self.replies.extend(replies)

    def reply_for(self, request: Recorded) -> Reply:
        try:
            item = self.replies.popleft()
        except IndexError:
            item = None
        if item is not None:
            return item(request) if callable(item) else item
        if self.default is not None:
            return self.default(request)
        return json_reply({"error": {"message": "no reply scripted"}}, 500)

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    # -- lifecycle ----------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except ValueError:  # a Reset part closed the handler's files on purpose
                    self.close_connection = True

            def finish(self) -> None:
                try:
                    super().finish()
                except (ValueError, OSError):
                    pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                recorded = Recorded(
                    self.command,
                    split.path,
                    parse_qs(split.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                with fake._lock:
                    fake.requests.append(recorded)
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    fake._send(self, fake.reply_for(recorded))
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        # A backlog for batch tests at -j 32 (the default 5 resets connections under load).
        _Server = type("_Server", (ThreadingHTTPServer,), {"request_queue_size": 128})
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- writing replies ------------------------------------------------------

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            if reply.parts is None:
                data = reply.body.encode() if isinstance(reply.body, str) else (reply.body or b"")
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)
                handler.wfile.flush()
                return
            handler.send_header("Transfer-Encoding", "chunked")
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.flush()
            for part in reply.parts:
                if isinstance(part, Pause):
                    time.sleep(part.seconds)
                    continue
                if isinstance(part, Stall):
                    time.sleep(part.seconds)
                    return
                if isinstance(part, Cut):
                    handler.wfile.flush()
                    handler.connection.shutdown(socket.SHUT_RDWR)
                    handler.close_connection = True
                    return
                if isinstance(part, Reset):
                    handler.wfile.flush()
                    # Linger 0: closing the descriptor sends RST instead of FIN.  The handler's
                    # files hold the socket open, so they are closed first.
                    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    handler.wfile.close()
                    handler.rfile.close()
                    handler.connection.close()
                    handler.close_connection = True
                    return
                data = part.encode() if isinstance(part, str) else part
                if data:
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
            handler.close_connection = True
        except (BrokenPipeError, ConnectionResetError, OSError):
            handler.close_connection = True


def sse(events: Iterable[str]) -> list[Part]:
    """Frame raw SSE event texts (``"data: {...}"``) as parts, each ending in a blank line."""
    return [e if e.endswith("\n\n") else e + "\n\n" for e in events]
