"""What every provider-batch fake shares: a batch that runs, per poll, and the outcome of each request.

The four wire fakes (``openai_batch_wire``, ``anthropic_batch_wire``,
``gemini_batch_wire``, ``mistral_batch_wire``) speak their protocol and keep
their own store; this module decides what happens to a batch and its requests,
so every protocol is tested against the same scenarios:

- a batch advances one state per poll (``Knobs.polls``) and ends;
- a request whose text contains ``FAILME`` errors, ``EXPIREME`` expires,
  ``CANCELME`` is cancelled, ``MISSME`` is absent from every result file, and
  ``CUTME`` is cut at the token limit; every other one is "rewritten" (its text
  upper-cased, as ``tests/fakes/rewriter.py`` does in real time);
- results come back out of order (reversed by default);
- the whole batch can fail, expire half-way, or be cancelled (then the
  requests not yet run come back cancelled or absent).

The HTTP requests themselves are recorded by ``tests/fakes/server.py``, so a
test can count the creates it saw ("no second batch").
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

_TEXT = re.compile(r"<(text(?:-\d+)?)>\n(.*)</\1>\s*\Z", re.S)
_RETRIED = re.compile(r"a\d+$")

SUCCEEDED, ERRORED, EXPIRED, CANCELED, MISSING, CUT = "succeeded", "errored", "expired", "canceled", "missing", "cut"


@dataclass
class Knobs:
    polls: int = 2  # polls seen running before a batch ends
    order: str = "reverse"  # reverse | shuffle | input
    batch_fails: bool = False  # the whole batch fails validation: nothing runs
    batch_expires: bool = False  # the batch expires with only the first half of its requests run
    create_delay: float = 0.0  # seconds before answering a create (a kill test's window)
    create_status: int | None = None  # answer the next create with this HTTP error instead
    results_url_host: str | None = None  # Anthropic: hand out results on another host
    part_size: int = 65536  # downloads are streamed in parts of this size
    heal_on_retry: bool = False  # a retried request (id ending in a2, a3 …) always succeeds


def sent_text(content: str) -> str:
    """The text the user asked to rewrite: inside <text>…</text> when composed by a style, else all of it."""
    m = _TEXT.search(content)
    return m.group(2) if m else content


def rewrite(text: str) -> str:
    return text.rstrip("\n").upper()


def outcome_of(text: str) -> str:
    for word, outcome in (("MISSME", MISSING), ("FAILME", ERRORED), ("EXPIREME", EXPIRED),
                          ("CANCELME", CANCELED), ("CUTME", CUT)):
        if word in text:
            return outcome
    return SUCCEEDED


def usage_of(text: str) -> tuple[int, int]:
    words = len(text.split())
    return words + 3, words


@dataclass
class Batch:
    """One provider batch as the fake runs it."""

    id: str
    requests: list[tuple[str, str]]  # (custom id, text) in input order
    tag: dict = field(default_factory=dict)  # metadata / display name, as the protocol sends it
    created: float = field(default_factory=time.time)
    polls: int = 0
    cancel_requested: bool = False
    ended: bool = False
    end_state: str = ""  # completed | failed | expired | cancelled
    extra: dict = field(default_factory=dict)  # what a protocol keeps besides (file ids, model...)

    def advance(self, knobs: Knobs) -> None:
        """One poll: stay running ``knobs.polls`` times, then end (cancelled at once after a cancel)."""
        if self.ended:
            return
        self.polls += 1
        if self.cancel_requested and self.polls >= 1:
            self._end("cancelled")
        elif self.polls > knobs.polls:
            self._end("failed" if knobs.batch_fails else "expired" if knobs.batch_expires else "completed")

    def _end(self, state: str) -> None:
        self.ended, self.end_state = True, state

    def results(self, knobs: Knobs) -> list[tuple[str, str, str]]:
        """(custom id, text, outcome) of every request that has a result line, in the order they come back."""
        if self.end_state == "failed":
            return []
        done_upto = len(self.requests) // 2 if self.end_state in ("expired", "cancelled") else len(self.requests)
        out = []
        for index, (cid, text) in enumerate(self.requests):
            outcome = SUCCEEDED if knobs.heal_on_retry and _RETRIED.search(cid) else outcome_of(text)
            if index >= done_upto:
                outcome = EXPIRED if self.end_state == "expired" else CANCELED
            out.append((cid, text, outcome))
        if knobs.order == "reverse":
            out.reverse()
        elif knobs.order == "shuffle":
            random.Random(len(out)).shuffle(out)
        return out


class Store:
    """Batches and files of one fake, with ids in the protocol's own style."""

    def __init__(self, knobs: Knobs | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.batches: dict[str, Batch] = {}
        self.files: dict[str, bytes] = {}
        self.file_names: dict[str, str] = {}
        self._ids = itertools.count(1)
        self.lock = threading.Lock()

    def next_id(self) -> int:
        return next(self._ids)

    def add_batch(self, batch: Batch) -> Batch:
        with self.lock:
            self.batches[batch.id] = batch
        return batch

    def newest_first(self) -> list[Batch]:
        with self.lock:
            return sorted(self.batches.values(), key=lambda b: (b.created, b.id), reverse=True)


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart body: name -> (filename, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        fields[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def parts_of(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]
