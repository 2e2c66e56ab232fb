"""The OpenAI Batch API on loopback: files + batches, under any prefix (OpenAI /v1, Groq /openai/v1, DashScope /compatible-mode/v1).

Serves ``POST …/files`` (multipart, purpose=batch), ``POST …/batches``,
``GET …/batches/{id}`` (one state further per poll: validating, in_progress,
finalizing, then completed / failed / expired / cancelled), ``GET …/batches``
(newest first, ``after`` + ``has_more`` as the SDK pages), ``POST
…/batches/{id}/cancel`` and ``GET …/files/{id}/content`` (streamed in parts).
Output lines are ``BatchRequestOutput``; failed requests go to the error file,
either as an HTTP 400 response or as a top-level ``error`` (``batch_expired``,
``batch_cancelled``), as OpenAI's error files carry them.
"""

from __future__ import annotations

import json
import re

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

_FILES = re.compile(r"^(?P<prefix>.*)/files$")
_CONTENT = re.compile(r"^.*/files/(?P<id>[^/]+)/content$")
_BATCHES = re.compile(r"^(?P<prefix>.*)/batches$")
_BATCH = re.compile(r"^.*/batches/(?P<id>[^/]+)$")
_CANCEL = re.compile(r"^.*/batches/(?P<id>[^/]+)/cancel$")
RUNNING = ("validating", "in_progress", "finalizing")


class OpenAIBatchFake:
    def __init__(self, knobs: Knobs | None = None) -> None:
        self.store = Store(knobs)
        self.server = FakeServer(self)

    @property
    def knobs(self) -> Knobs:
        return self.store.knobs

    def creates(self) -> list[Recorded]:
        return [r for r in self.server.requests if r.method == "POST" and _BATCHES.match(r.path)]

    def uploads(self) -> list[Recorded]:
        return [r for r in self.server.requests if r.method == "POST" and _FILES.match(r.path)]

    def __call__(self, request: Recorded) -> Reply:
        path, method = request.path, request.method
        if method == "POST" and path.endswith("/chat/completions"):
            return self._chat(request)
        if method == "POST" and _FILES.match(path):
            return self._upload(request)
        if method == "GET" and (m := _CONTENT.match(path)):
            return self._content(m["id"])
        if method == "POST" and (m := _CANCEL.match(path)):
            return self._cancel(m["id"])
        if method == "POST" and _BATCHES.match(path):
            return self._create(request)
        if method == "GET" and _BATCHES.match(path):
            return self._list(request)
        if method == "GET" and (m := _BATCH.match(path)):
            return self._get(m["id"])
        return _error(404, f"no route {method} {path}")

    def _chat(self, request: Recorded) -> Reply:
        """A real-time call (``jobs retry --sync``): the same rewrite, streamed."""
        from .openai_wire import stream_reply

        user = [m for m in request.json["messages"] if m["role"] == "user"][-1]["content"]
        return stream_reply([rewrite(sent_text(user))])

    # -- files -------------------------------------------------------------------------

    def _upload(self, request: Recorded) -> Reply:
        fields = parse_multipart(request.headers.get("content-type", ""), request.body)
        if fields.get("purpose", (None, b""))[1] != b"batch" or "file" not in fields:
            return _error(400, "purpose must be batch and a file is required")
        name, data = fields["file"]
        file_id = f"file-{self.store.next_id():04d}"
        self.store.files[file_id] = data
        self.store.file_names[file_id] = name or "upload"
        return json_reply(_file_object(file_id, name or "upload", len(data)))

    def _content(self, file_id: str) -> Reply:
        data = self.store.files.get(file_id)
        if data is None:
            return _error(404, f"no file {file_id}")
        return Reply(200, {"Content-Type": "application/octet-stream"},
                     parts=list(parts_of(data, self.knobs.part_size)) or [b""])

    # -- batches -------------------------------------------------------------------------

    def _create(self, request: Recorded) -> Reply:
        knobs = self.knobs
        if knobs.create_delay:
            import time

            time.sleep(knobs.create_delay)
        if knobs.create_status is not None:
            status, knobs.create_status = knobs.create_status, None
            return _error(status, "the batch service is unavailable", "server_error")
        body = request.json or {}
        data = self.store.files.get(body.get("input_file_id", ""))
        if data is None:
            return _error(400, "input_file_id not found")
        requests = []
        for line in data.decode("utf-8").splitlines():
            item = json.loads(line)
            if item.get("url") != body.get("endpoint"):
                return _error(400, f"line url {item.get('url')} is not the batch endpoint")
            user = [m for m in item["body"]["messages"] if m["role"] == "user"][-1]["content"]
            requests.append((item["custom_id"], sent_text(user)))
        if len({cid for cid, _ in requests}) != len(requests):
            return _error(400, "custom_id values must be unique")
        batch = Batch(f"batch_{self.store.next_id():04d}", requests, dict(body.get("metadata") or {}),
                      extra={"input_file_id": body["input_file_id"], "endpoint": body["endpoint"],
                             "window": body.get("completion_window"),
                             "model": json.loads(data.decode().splitlines()[0])["body"].get("model")})
        self.store.add_batch(batch)
        return json_reply(self._object(batch))

    def _get(self, batch_id: str) -> Reply:
        batch = self.store.batches.get(batch_id)
        if batch is None:
            return _error(404, f"no batch {batch_id}")
        was_ended = batch.ended
        batch.advance(self.knobs)
        if batch.ended and not was_ended:
            self._write_results(batch)
        return json_reply(self._object(batch))

    def _cancel(self, batch_id: str) -> Reply:
        batch = self.store.batches.get(batch_id)
        if batch is None:
            return _error(404, f"no batch {batch_id}")
        if not batch.ended:
            batch.cancel_requested = True
        return json_reply(self._object(batch))

    def _list(self, request: Recorded) -> Reply:
        limit = int(request.query.get("limit", ["20"])[0])
        after = request.query.get("after", [None])[0]
        batches = self.store.newest_first()
        if after is not None:
            ids = [b.id for b in batches]
            batches = batches[ids.index(after) + 1:] if after in ids else []
        page = batches[:limit]
        data = [self._object(b) for b in page]
        return json_reply({"object": "list", "data": data, "first_id": page[0].id if page else None,
                           "last_id": page[-1].id if page else None, "has_more": len(batches) > limit})

    def _status(self, batch: Batch) -> str:
        if batch.ended:
            return batch.end_state
        if batch.cancel_requested:
            return "cancelling"
        return RUNNING[min(batch.polls, len(RUNNING) - 1)]

    def _object(self, batch: Batch) -> dict:
        total = len(batch.requests)
        extra = batch.extra
        counts = extra.get("counts", {"total": total, "completed": 0, "failed": 0})
        status = self._status(batch)
        obj = {
            "id": batch.id, "object": "batch", "endpoint": extra["endpoint"], "input_file_id": extra["input_file_id"],
            "completion_window": extra["window"], "status": status, "created_at": int(batch.created),
            "expires_at": int(batch.created) + 86400, "metadata": batch.tag or None,
            "output_file_id": extra.get("output_file_id"), "error_file_id": extra.get("error_file_id"),
            "request_counts": counts, "errors": None,
        }
        if status == "failed":
            obj["errors"] = {"object": "list", "data": [
                {"code": "invalid_request", "line": 1, "message": "the model is not available for batch", "param": "model"}]}
        return obj

    def _write_results(self, batch: Batch) -> None:
        out, err = [], []
        completed = failed = 0
        for n, (cid, text, outcome) in enumerate(batch.results(self.knobs)):
            if outcome == MISSING or (outcome == CANCELED and batch.end_state == "cancelled" and
                                      "CANCELME" not in text):
                continue  # never ran: absent from both files
            prompt, answer_tokens = usage_of(text)
            line: dict = {"id": f"batch_req_{n}", "custom_id": cid, "response": None, "error": None}
            if outcome in (EXPIRED, CANCELED):
                code = "batch_expired" if outcome == EXPIRED else "batch_cancelled"
                line["error"] = {"code": code, "message": f"This request could not be executed ({code})."}
                err.append(line)
                failed += 1
                continue
            if outcome == ERRORED:
                line["response"] = {"status_code": 400, "request_id": f"req_{n}", "body": {"error": {
                    "message": "this text is refused", "type": "invalid_request_error", "param": None, "code": None}}}
                err.append(line)
                failed += 1
                continue
            finish = "length" if outcome == CUT else "stop"
            line["response"] = {"status_code": 200, "request_id": f"req_{n}", "body": {
                "id": f"chatcmpl-{n}", "object": "chat.completion", "created": 0, "model": batch.extra.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": rewrite(text)},
                             "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": answer_tokens,
                          "total_tokens": prompt + answer_tokens}}}
            out.append(line)
            completed += 1
        batch.extra["counts"] = {"total": len(batch.requests), "completed": completed, "failed": failed}
        for kind, lines in (("output_file_id", out), ("error_file_id", err)):
            if lines:
                file_id = f"file-{self.store.next_id():04d}"
                self.store.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
                batch.extra[kind] = file_id


def _file_object(file_id: str, name: str, size: int) -> dict:
    return {"id": file_id, "object": "file", "bytes": size, "created_at": 0, "filename": name,
            "purpose": "batch", "status": "processed", "expires_at": None}


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Reply:
    return json_reply({"error": {"message": message, "type": kind, "param": None, "code": None}}, status)


def make_server(knobs: Knobs | None = None) -> tuple[FakeServer, OpenAIBatchFake]:
    fake = OpenAIBatchFake(knobs)
    return fake.server, fake
