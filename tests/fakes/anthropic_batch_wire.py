"""Anthropic Message Batches on loopback: create (inline requests), retrieve per poll, list, cancel, results JSONL.

``processing_status`` is ``in_progress`` (or ``canceling`` after a cancel) for
``Knobs.polls`` polls, then ``ended`` with an absolute ``results_url`` on this
server (or on ``Knobs.results_url_host``, to test that llmcli refuses to send
its key elsewhere).  Result lines are ``succeeded`` / ``errored`` / ``expired``
/ ``canceled`` and come back out of order; per-type counts stay 0 until the
batch ends, as the API says.  Accepts the key as Bearer or x-api-key.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from .batch_sim import (
    CANCELED,
    CUT,
    ERRORED,
    EXPIRED,
    MISSING,
    SUCCEEDED,
    Batch,
    Knobs,
    Store,
    parts_of,
    rewrite,
    sent_text,
    usage_of,
)
from .server import FakeServer, Recorded, Reply, json_reply

_BATCHES = "/v1/messages/batches"
_BATCH = re.compile(r"^/v1/messages/batches/(?P<id>[^/]+)$")
_CANCEL = re.compile(r"^/v1/messages/batches/(?P<id>[^/]+)/cancel$")
_RESULTS = re.compile(r"^/v1/messages/batches/(?P<id>[^/]+)/results$")
_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class AnthropicBatchFake:
    def __init__(self, knobs: Knobs | None = None) -> None:
        self.store = Store(knobs)
        self.server = FakeServer(self)

    @property
    def knobs(self) -> Knobs:
        return self.store.knobs

    def creates(self) -> list[Recorded]:
        return [r for r in self.server.requests if r.method == "POST" and r.path == _BATCHES]

    def __call__(self, request: Recorded) -> Reply:
        if not (request.headers.get("x-api-key") or request.headers.get("authorization", "").startswith("Bearer ")):
            return _error(401, "authentication_error", "invalid x-api-key")
        path, method = request.path, request.method
        if method == "POST" and path == _BATCHES:
            return self._create(request)
        if method == "GET" and path == _BATCHES:
            return self._list(request)
        if method == "POST" and (m := _CANCEL.match(path)):
            return self._cancel(m["id"])
        if method == "GET" and (m := _RESULTS.match(path)):
            return self._results(m["id"])
        if method == "GET" and (m := _BATCH.match(path)):
            return self._get(m["id"])
        return _error(404, "not_found_error", f"no route {method} {path}")

    def _create(self, request: Recorded) -> Reply:
        knobs = self.knobs
        if knobs.create_delay:
            import time

            time.sleep(knobs.create_delay)
        if knobs.create_status is not None:
            status, knobs.create_status = knobs.create_status, None
            return _error(status, "overloaded_error", "Overloaded")
        items = (request.json or {}).get("requests") or []
        requests = []
        for item in items:
            cid = item.get("custom_id", "")
            if not _ID.match(cid):
                return _error(400, "invalid_request_error", f"custom_id {cid!r} does not match ^[a-zA-Z0-9_-]{{1,64}}$")
            params = item.get("params") or {}
            if not params.get("max_tokens") or not params.get("model"):
                return _error(400, "invalid_request_error", "params: model and max_tokens are required")
            user = [m for m in params["messages"] if m["role"] == "user"][-1]["content"]
            requests.append((cid, sent_text(user)))
        if not requests or len({c for c, _ in requests}) != len(requests):
            return _error(400, "invalid_request_error", "requests: unique custom_id values required")
        model = items[0]["params"]["model"]
        batch = Batch(f"msgbatch_{self.store.next_id():04d}", requests, extra={"model": model})
        self.store.add_batch(batch)
        return json_reply(self._object(batch))

    def _get(self, batch_id: str) -> Reply:
        batch = self.store.batches.get(batch_id)
        if batch is None:
            return _error(404, "not_found_error", f"no batch {batch_id}")
        batch.advance(self.knobs)
        return json_reply(self._object(batch))

    def _cancel(self, batch_id: str) -> Reply:
        batch = self.store.batches.get(batch_id)
        if batch is None:
            return _error(404, "not_found_error", f"no batch {batch_id}")
        if not batch.ended:
            batch.cancel_requested = True
        return json_reply(self._object(batch))

    def _list(self, request: Recorded) -> Reply:
        limit = int(request.query.get("limit", ["20"])[0])
        after = request.query.get("after_id", [None])[0]
        batches = self.store.newest_first()
        if after is not None:
            ids = [b.id for b in batches]
            batches = batches[ids.index(after) + 1:] if after in ids else []
        page = batches[:limit]
        return json_reply({"data": [self._object(b) for b in page], "has_more": len(batches) > limit,
                           "first_id": page[0].id if page else None, "last_id": page[-1].id if page else None})

    def _object(self, batch: Batch) -> dict:
        created = datetime.fromtimestamp(batch.created, timezone.utc)
        counts = {"processing": len(batch.requests), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        status = "in_progress"
        results_url = None
        if batch.ended:
            status = "ended"
            counts["processing"] = 0
            for _, _, outcome in self._outcomes(batch):
                key = {SUCCEEDED: "succeeded", CUT: "succeeded", ERRORED: "errored", EXPIRED: "expired",
                       CANCELED: "canceled", MISSING: "errored"}[outcome]
                counts[key] += 1
            host = self.knobs.results_url_host or self.server.url
            results_url = f"{host}{_BATCHES}/{batch.id}/results"
        elif batch.cancel_requested:
            status = "canceling"
        return {
            "id": batch.id, "type": "message_batch", "processing_status": status, "request_counts": counts,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "expires_at": (created + timedelta(hours=24)).isoformat().replace("+00:00", "Z"),
            "ended_at": created.isoformat().replace("+00:00", "Z") if batch.ended else None,
            "cancel_initiated_at": created.isoformat().replace("+00:00", "Z") if batch.cancel_requested else None,
            "archived_at": None, "results_url": results_url,
        }

    def _outcomes(self, batch: Batch) -> list[tuple[str, str, str]]:
        """A batch never fails as a whole here: every request comes back errored instead."""
        if batch.end_state == "failed":
            return [(cid, text, ERRORED) for cid, text in batch.requests]
        return batch.results(self.knobs)

    def _results(self, batch_id: str) -> Reply:
        batch = self.store.batches.get(batch_id)
        if batch is None or not batch.ended:
            return _error(404, "not_found_error", "no results yet")
        lines = []
        for n, (cid, text, outcome) in enumerate(self._outcomes(batch)):
            if outcome == MISSING:
                continue
            if outcome in (SUCCEEDED, CUT):
                prompt, answer_tokens = usage_of(text)
                result = {"type": "succeeded", "message": {
                    "id": f"msg_{n}", "type": "message", "role": "assistant", "model": batch.extra["model"],
                    "content": [{"type": "text", "text": rewrite(text)}],
                    "stop_reason": "max_tokens" if outcome == CUT else "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": prompt, "output_tokens": answer_tokens}}}
            elif outcome == ERRORED:
                message = "the model is not available for batch" if batch.end_state == "failed" else \
                    "this text is refused"
                result = {"type": "errored", "error": {"type": "error", "error": {
                    "type": "invalid_request_error", "message": message}, "request_id": f"req_{n}"}}
            else:
                result = {"type": "expired" if outcome == EXPIRED else "canceled"}
            lines.append(json.dumps({"custom_id": cid, "result": result}) + "\n")
        data = "".join(lines).encode()
        return Reply(200, {"Content-Type": "application/binary"}, parts=list(parts_of(data, self.knobs.part_size)) or [b""])


def _error(status: int, kind: str, message: str) -> Reply:
    return json_reply({"type": "error", "error": {"type": kind, "message": message}}, status)


def make_server(knobs: Knobs | None = None) -> tuple[FakeServer, AnthropicBatchFake]:
    fake = AnthropicBatchFake(knobs)
    return fake.server, fake
