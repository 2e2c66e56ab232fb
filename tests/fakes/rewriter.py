"""An OpenAI-compatible fake that *rewrites*: it answers with the text it was sent, upper-cased.

For batch tests: the answer depends on the input, so a test can check that
every file got its own answer, in order, with kept parts untouched.  Knobs:
a fixed latency per request, a failure schedule (status + Retry-After), and
texts that always fail.
"""

from __future__ import annotations

import re
import threading
import time

from .openai_wire import error_reply, stream_reply
from .server import FakeServer, Recorded, Reply

_TEXT = re.compile(r"<(text(?:-\d+)?)>\n(.*)</\1>\s*\Z", re.S)


def sent_text(request: Recorded) -> str:
    user = [m for m in request.json["messages"] if m["role"] == "user"][-1]["content"]
    m = _TEXT.search(user)
    return m.group(2) if m else user


class Rewriter:
    def __init__(self, *, latency: float = 0.0, fail_every: int = 0, fail_status: int = 429,
                 retry_after: str | None = "0", always_fail: str | None = None) -> None:
        self.latency = latency
        # The first request for every Nth distinct text fails (its retry succeeds): "20%" = 5,
        # whatever order concurrent workers' requests arrive in.
        self.fail_every = fail_every
        self.fail_status = fail_status
        self.retry_after = retry_after
        self.always_fail = always_fail  # a text containing this always gets a 400
        self.count = 0
        self.failed = 0
        self.texts: list[str] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, request: Recorded) -> Reply:
        if request.method == "GET":
            return error_reply(404, "no models here")
        text = sent_text(request)
        with self._lock:
            self.count += 1
            first = text not in self._seen
            self._seen.add(text)
            n = len(self._seen)
        if self.latency:
            time.sleep(self.latency)
        if self.always_fail and self.always_fail in text:
            return error_reply(400, "this text is refused")
        if self.fail_every and first and n % self.fail_every == 0:
            with self._lock:
                self.failed += 1
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
            return error_reply(self.fail_status, "slow down", headers=headers)
        with self._lock:
            self.texts.append(text)
        answer = text.rstrip("\n").upper()
        half = len(answer) // 2
        return stream_reply([answer[:half], answer[half:]] if half else [answer])


def make_rewriter(**knobs) -> tuple[FakeServer, Rewriter]:
    rewriter = Rewriter(**knobs)
    return FakeServer(rewriter), rewriter
