"""Mistral batch jobs on loopback: file upload, jobs create / get / list / cancel, file content.

Every object carries every field the SDK's pydantic models require (section
4.1 of the provider-batch notes).  Status goes QUEUED, RUNNING, then SUCCESS /
FAILED / TIMEOUT_EXCEEDED / CANCELLED (CANCELLATION_REQUESTED after a cancel),
one step per poll.  Lines ``{"custom_id", "body"}`` (no model: it is the
job's); each custom_id comes back once, in ``output_file`` or ``error_file``,
out of order.  The list takes the metadata filter exploded into bare query
parameters, as the SDK sends it.
"""

from __future__ import annotations

import json
import re
import uuid

from .batch_sim import (
    CANCELED,
    CUT,
    ERRORED,
    EXPIRED,
    MISSING,
    Batch,
    Knobs,
    Store,
    parse_multipart,
    parts_of,
    rewrite,
    sent_text,
    usage_of,
)
from .server import FakeServer, Recorded, Reply, json_reply

_FILES = "/v1/files"
_CONTENT = re.compile(r"^/v1/files/(?P<id>[^/]+)/content$")
_JOBS = "/v1/batch/jobs"
_JOB = re.compile(r"^/v1/batch/jobs/(?P<id>[^/]+)$")
_CANCEL = re.compile(r"^/v1/batch/jobs/(?P<id>[^/]+)/cancel$")
END = {"completed": "SUCCESS", "failed": "FAILED", "expired": "TIMEOUT_EXCEEDED", "cancelled": "CANCELLED"}
_LIST_PARAMS = {"page", "page_size", "model", "agent_id", "created_after", "created_by_me", "status", "order_by"}


class MistralBatchFake:
    def __init__(self, knobs: Knobs | None = None) -> None:
        self.store = Store(knobs)
        self.server = FakeServer(self)

    @property
    def knobs(self) -> Knobs:
        return self.store.knobs

    def creates(self) -> list[Recorded]:
        return [r for r in self.server.requests if r.method == "POST" and r.path == _JOBS]

    def __call__(self, request: Recorded) -> Reply:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return json_reply({"detail": "Unauthorized"}, 401)
        path, method = request.path, request.method
        if method == "POST" and path == _FILES:
            return self._upload(request)
        if method == "GET" and (m := _CONTENT.match(path)):
            return self._content(m["id"])
        if method == "POST" and path == _JOBS:
            return self._create(request)
        if method == "GET" and path == _JOBS:
            return self._list(request)
        if method == "POST" and (m := _CANCEL.match(path)):
            return self._cancel(m["id"])
        if method == "GET" and (m := _JOB.match(path)):
            return self._get(m["id"])
        return json_reply({"detail": f"no route {method} {path}"}, 404)

    def _upload(self, request: Recorded) -> Reply:
        fields = parse_multipart(request.headers.get("content-type", ""), request.body)
        if "file" not in fields:
            return json_reply({"detail": "file required"}, 422)
        name, data = fields["file"]
        file_id = str(uuid.UUID(int=self.store.next_id()))
        self.store.files[file_id] = data
        self.store.file_names[file_id] = name or "upload"
        return json_reply(_file(file_id, name or "upload", len(data), "batch_request"))

    def _content(self, file_id: str) -> Reply:
        data = self.store.files.get(file_id)
        if data is None:
            return json_reply({"detail": "not found"}, 404)
        return Reply(200, {"Content-Type": "application/octet-stream"},
                     parts=list(parts_of(data, self.knobs.part_size)) or [b""])

    def _create(self, request: Recorded) -> Reply:
        knobs = self.knobs
        if knobs.create_delay:
            import time

            time.sleep(knobs.create_delay)
        if knobs.create_status is not None:
            status, knobs.create_status = knobs.create_status, None
            return json_reply({"object": "error", "message": "Service unavailable", "type": "internal_error"}, status)
        body = request.json or {}
        requests = []
        for file_id in body.get("input_files") or []:
            data = self.store.files.get(file_id)
            if data is None:
                return json_reply({"detail": f"no file {file_id}"}, 404)
            for line in data.decode("utf-8").splitlines():
                item = json.loads(line)
                if "model" in item["body"] and item["body"]["model"] != body.get("model"):
                    return json_reply({"detail": "line model differs from the job's"}, 422)
                user = [m for m in item["body"]["messages"] if m["role"] == "user"][-1]["content"]
                requests.append((item["custom_id"], sent_text(user)))
        batch = Batch(str(uuid.UUID(int=10**6 + self.store.next_id())), requests, dict(body.get("metadata") or {}),
                      extra={"model": body.get("model"), "endpoint": body.get("endpoint"),
                             "input_files": body.get("input_files") or []})
        self.store.add_batch(batch)
        return json_reply(self._object(batch))

    def _get(self, job_id: str) -> Reply:
        batch = self.store.batches.get(job_id)
        if batch is None:
            return json_reply({"detail": "not found"}, 404)
        was_ended = batch.ended
        batch.advance(self.knobs)
        if batch.ended and not was_ended:
            self._write_results(batch)
        return json_reply(self._object(batch))

    def _cancel(self, job_id: str) -> Reply:
        batch = self.store.batches.get(job_id)
        if batch is None:
            return json_reply({"detail": "not found"}, 404)
        if not batch.ended:
            batch.cancel_requested = True
        return json_reply(self._object(batch))

    def _list(self, request: Recorded) -> Reply:
        metadata = {k: v[0] for k, v in request.query.items() if k not in _LIST_PARAMS}
        page = int(request.query.get("page", ["0"])[0])
        size = int(request.query.get("page_size", ["100"])[0])
        batches = [b for b in self.store.newest_first() if all(b.tag.get(k) == v for k, v in metadata.items())]
        chosen = batches[page * size:(page + 1) * size]
        return json_reply({"object": "list", "total": len(batches), "data": [self._object(b) for b in chosen]})

    def _status(self, batch: Batch) -> str:
        if batch.ended:
            return END[batch.end_state]
        if batch.cancel_requested:
            return "CANCELLATION_REQUESTED"
        return "QUEUED" if batch.polls == 0 else "RUNNING"

    def _object(self, batch: Batch) -> dict:
        counts = batch.extra.get("counts", (0, 0, 0))
        errors = [{"message": "the model is not available for batch", "count": 1}] if batch.end_state == "failed" else []
        return {
            "id": batch.id, "object": "batch", "input_files": batch.extra["input_files"], "metadata": batch.tag or None,
            "endpoint": batch.extra["endpoint"], "model": batch.extra["model"], "agent_id": None,
            "output_file": batch.extra.get("output_file"), "error_file": batch.extra.get("error_file"),
            "errors": errors, "outputs": None, "status": self._status(batch), "created_at": int(batch.created),
            "total_requests": len(batch.requests), "completed_requests": counts[0], "succeeded_requests": counts[1],
            "failed_requests": counts[2], "started_at": int(batch.created), "completed_at": None,
        }

    def _write_results(self, batch: Batch) -> None:
        out, err = [], []
        for n, (cid, text, outcome) in enumerate(batch.results(self.knobs)):
            if outcome == MISSING or (outcome in (CANCELED, EXPIRED) and batch.end_state in ("cancelled", "expired")
                                      and "CANCELME" not in text and "EXPIREME" not in text):
                continue  # never ran
            if outcome in (ERRORED, EXPIRED, CANCELED):
                message = {ERRORED: "this text is refused", EXPIRED: "request timed out",
                           CANCELED: "request cancelled"}[outcome]
                err.append({"id": f"r{n}", "custom_id": cid, "response": {"status_code": 400, "body": {
                    "object": "error", "message": message, "type": "invalid_request_error"}},
                    "error": {"message": message, "code": "3051"}})
                continue
            prompt, answer_tokens = usage_of(text)
            out.append({"id": f"r{n}", "custom_id": cid, "response": {"status_code": 200, "body": {
                "id": f"cmpl-{n}", "object": "chat.completion", "created": 0, "model": batch.extra["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": rewrite(text)},
                             "finish_reason": "length" if outcome == CUT else "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": answer_tokens,
                          "total_tokens": prompt + answer_tokens}}}, "error": None})
        batch.extra["counts"] = (len(out) + len(err), len(out), len(err))
        for kind, lines in (("output_file", out), ("error_file", err)):
            if lines:
                file_id = str(uuid.UUID(int=self.store.next_id()))
                self.store.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
                batch.extra[kind] = file_id


def _file(file_id: str, name: str, size: int, sample: str) -> dict:
    return {"id": file_id, "object": "file", "bytes": size, "created_at": 0, "filename": name, "purpose": "batch",
            "sample_type": sample, "source": "upload", "num_lines": None, "mimetype": None, "signature": None}


def make_server(knobs: Knobs | None = None) -> tuple[FakeServer, MistralBatchFake]:
    fake = MistralBatchFake(knobs)
    return fake.server, fake
