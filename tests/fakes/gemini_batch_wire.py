"""Gemini batch mode on loopback: the resumable file upload, batchGenerateContent (file or inline), poll, list, cancel, download.

- ``POST /upload/v1/files`` (or ``v1beta``; ``X-Goog-Upload-Command: start``) answers with an
  ``X-Goog-Upload-URL`` on this server; the data request (``upload, finalize``)
  answers ``X-Goog-Upload-Status: final`` and ``{"file": {...}}``.
- ``POST /v1/models/{model}:batchGenerateContent`` takes ``inputConfig.fileName``
  (a JSONL of ``{"key", "request"}``) or inline ``inputConfig.requests.requests``
  (``{"request", "metadata"}``); the batch is an Operation whose
  ``metadata.state`` goes PENDING, RUNNING, then SUCCEEDED / FAILED / EXPIRED /
  CANCELLED, one step per poll.
- Results: file input gives ``metadata.output.responsesFile`` (lines
  ``{"key", "response"}`` or ``{"key", "error"}``), served by ``GET
  /v1/files/{id}:download?alt=media``; inline input gives
  ``output.inlinedResponses.inlinedResponses`` echoing each request's metadata.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from .batch_sim import (
    CANCELED,
    CUT,
    ERRORED,
    EXPIRED,
    MISSING,
    Batch,
    Knobs,
    Store,
    parts_of,
    rewrite,
    sent_text,
    usage_of,
)
from .server import FakeServer, Recorded, Reply, json_reply

_UPLOAD = re.compile(r"^/upload/(v1|v1beta)/files$")  # google-genai 2.x uploads under v1beta whatever the version
_CREATE = re.compile(r"^/(v1|v1beta)/models/(?P<model>[^/:]+):batchGenerateContent$")
_BATCH = re.compile(r"^/(v1|v1beta)/batches/(?P<id>[^/:]+)$")
_CANCEL = re.compile(r"^/(v1|v1beta)/batches/(?P<id>[^/:]+):cancel$")
_LIST = re.compile(r"^/(v1|v1beta)/batches$")
_DOWNLOAD = re.compile(r"^/(v1|v1beta)/files/(?P<id>[^/:]+):download$")
_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
END_STATES = {"completed": "BATCH_STATE_SUCCEEDED", "failed": "BATCH_STATE_FAILED", "expired": "BATCH_STATE_EXPIRED",
              "cancelled": "BATCH_STATE_CANCELLED"}


class GeminiBatchFake:
    def __init__(self, knobs: Knobs | None = None) -> None:
        self.store = Store(knobs)
        self.server = FakeServer(self)
        self.sessions: dict[str, dict] = {}

    @property
    def knobs(self) -> Knobs:
        return self.store.knobs

    def creates(self) -> list[Recorded]:
        return [r for r in self.server.requests if r.method == "POST" and _CREATE.match(r.path)]

    def __call__(self, request: Recorded) -> Reply:
        path, method = request.path, request.method
        if _UPLOAD.match(path) and method == "POST":
            return self._upload(request)
        if method == "POST" and (m := _CREATE.match(path)):
            return self._create(request, m["model"])
        if method == "POST" and (m := _CANCEL.match(path)):
            return self._cancel(m["id"])
        if method == "GET" and _LIST.match(path):
            return self._list(request)
        if method == "GET" and (m := _BATCH.match(path)):
            return self._get(m["id"])
        if method == "GET" and (m := _DOWNLOAD.match(path)):
            return self._download(m["id"])
        return _error(404, "NOT_FOUND", f"no route {method} {path}")

    # -- upload ----------------------------------------------------------------------------

    def _upload(self, request: Recorded) -> Reply:
        command = request.headers.get("x-goog-upload-command", "")
        if command == "start":
            if not request.headers.get("x-goog-api-key"):
                return _error(401, "UNAUTHENTICATED", "API key required")
            session = str(self.store.next_id())
            meta = (request.json or {}).get("file") or {}
            self.sessions[session] = {"data": b"", "display_name": meta.get("display_name") or meta.get("displayName")}
            return Reply(200, {"X-Goog-Upload-URL": f"{self.server.url}{request.path}?upload_id={session}",
                               "X-Goog-Upload-Status": "active", "Content-Type": "application/json"}, "{}")
        session = request.query.get("upload_id", [""])[0]
        state = self.sessions.get(session)
        if state is None:
            return _error(404, "NOT_FOUND", "no upload session")
        state["data"] += request.body
        if "finalize" not in command:
            return Reply(200, {"X-Goog-Upload-Status": "active"}, "")
        file_id = f"f{self.store.next_id():04d}"
        self.store.files[file_id] = state["data"]
        self.store.file_names[file_id] = state["display_name"] or file_id
        file = {"name": f"files/{file_id}", "displayName": state["display_name"], "mimeType": "jsonl",
                "sizeBytes": str(len(state["data"])), "state": "ACTIVE", "uri": f"{self.server.url}/v1/files/{file_id}"}
        return Reply(200, {"X-Goog-Upload-Status": "final", "Content-Type": "application/json"}, json.dumps({"file": file}))

    # -- batches --------------------------------------------------------------------------

    def _create(self, request: Recorded, model: str) -> Reply:
        knobs = self.knobs
        if knobs.create_delay:
            import time

            time.sleep(knobs.create_delay)
        if knobs.create_status is not None:
            status, knobs.create_status = knobs.create_status, None
            return _error(status, "UNAVAILABLE", "The service is currently unavailable.")
        batch_spec = (request.json or {}).get("batch") or {}
        if not batch_spec.get("displayName"):
            return _error(400, "INVALID_ARGUMENT", "batch.display_name is required")
        source = batch_spec.get("inputConfig") or {}
        requests = []
        if source.get("fileName"):
            data = self.store.files.get(source["fileName"].removeprefix("files/"))
            if data is None:
                return _error(400, "INVALID_ARGUMENT", f"no file {source['fileName']}")
            for line in data.decode("utf-8").splitlines():
                item = json.loads(line)
                requests.append((item["key"], _text(item["request"])))
            inline = False
        else:
            for item in (source.get("requests") or {}).get("requests") or []:
                requests.append((((item.get("metadata") or {}).get("key")) or "", _text(item["request"])))
            inline = True
        batch = Batch(f"b{self.store.next_id():04d}", requests, {"displayName": batch_spec["displayName"]},
                      extra={"model": f"models/{model}", "inline": inline})
        self.store.add_batch(batch)
        return json_reply(self._object(batch))

    def _get(self, batch_id: str) -> Reply:
        batch = self.store.batches.get(batch_id)
        if batch is None:
            return _error(404, "NOT_FOUND", f"no batch {batch_id}")
        was_ended = batch.ended
        batch.advance(self.knobs)
        if batch.ended and not was_ended and not batch.extra["inline"] and batch.end_state != "failed":
            file_id = f"r{self.store.next_id():04d}"
            self.store.files[file_id] = "".join(json.dumps(x) + "\n" for x in self._lines(batch, inline=False)).encode()
            batch.extra["responses_file"] = f"files/{file_id}"
        return json_reply(self._object(batch))

    def _cancel(self, batch_id: str) -> Reply:
        batch = self.store.batches.get(batch_id)
        if batch is None:
            return _error(404, "NOT_FOUND", f"no batch {batch_id}")
        if not batch.ended:
            batch.cancel_requested = True
        return json_reply({})

    def _list(self, request: Recorded) -> Reply:
        size = int(request.query.get("pageSize", ["10"])[0])
        token = request.query.get("pageToken", ["0"])[0]
        start = int(token or 0)
        batches = self.store.newest_first()
        page = batches[start:start + size]
        body: dict = {"operations": [self._object(b) for b in page]}
        if start + size < len(batches):
            body["nextPageToken"] = str(start + size)
        return json_reply(body)

    def _download(self, file_id: str) -> Reply:
        data = self.store.files.get(file_id)
        if data is None:
            return _error(404, "NOT_FOUND", f"no file {file_id}")
        return Reply(200, {"Content-Type": "application/octet-stream"},
                     parts=list(parts_of(data, self.knobs.part_size)) or [b""])

    def _state(self, batch: Batch) -> str:
        if batch.ended:
            return END_STATES[batch.end_state]
        return "BATCH_STATE_PENDING" if batch.polls == 0 else "BATCH_STATE_RUNNING"

    def _object(self, batch: Batch) -> dict:
        created = datetime.fromtimestamp(batch.created, timezone.utc).isoformat().replace("+00:00", "Z")
        meta: dict = {"@type": _TYPE, "model": batch.extra["model"], "displayName": batch.tag["displayName"],
                      "state": self._state(batch), "createTime": created, "updateTime": created,
                      "batchStats": {"requestCount": str(len(batch.requests))}}
        obj: dict = {"name": f"batches/{batch.id}", "metadata": meta, "done": batch.ended}
        if batch.ended and batch.end_state != "failed":
            if batch.extra["inline"]:
                meta["output"] = {"inlinedResponses": {"inlinedResponses": self._lines(batch, inline=True)}}
            elif batch.extra.get("responses_file"):
                meta["output"] = {"responsesFile": batch.extra["responses_file"]}
        if batch.ended and batch.end_state == "failed":
            obj["error"] = {"code": 3, "message": "the model is not available for batch"}
        return obj

    def _lines(self, batch: Batch, *, inline: bool) -> list[dict]:
        out = []
        for cid, text, outcome in batch.results(self.knobs):
            if outcome == MISSING:
                continue
            item: dict = {"metadata": {"key": cid}} if inline else {"key": cid}
            if outcome == ERRORED:
                item["error"] = {"code": 3, "message": "this text is refused", "status": "INVALID_ARGUMENT"}
            elif outcome in (EXPIRED, CANCELED):
                word = "expired" if outcome == EXPIRED else "cancelled"
                item["error"] = {"code": 4 if outcome == EXPIRED else 1, "message": f"the request was {word}",
                                 "status": "DEADLINE_EXCEEDED" if outcome == EXPIRED else "CANCELLED"}
            else:
                prompt, answer_tokens = usage_of(text)
                item["response"] = {
                    "candidates": [{"content": {"role": "model", "parts": [{"text": rewrite(text)}]},
                                    "finishReason": "MAX_TOKENS" if outcome == CUT else "STOP"}],
                    "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": answer_tokens,
                                      "totalTokenCount": prompt + answer_tokens},
                    "modelVersion": batch.extra["model"].removeprefix("models/")}
            out.append(item)
        return out


def _text(request: dict) -> str:
    user = [c for c in request.get("contents") or [] if c.get("role", "user") == "user"][-1]
    return sent_text("".join(p.get("text", "") for p in user.get("parts") or []))


def _error(status: int, code: str, message: str) -> Reply:
    return json_reply({"error": {"code": status, "message": message, "status": code}}, status)


def make_server(knobs: Knobs | None = None) -> tuple[FakeServer, GeminiBatchFake]:
    fake = GeminiBatchFake(knobs)
    return fake.server, fake
