"""The OpenAI Batch API (files + batches) for OpenAI, Groq, DashScope's compatible mode and opted-in servers.

All four speak the same flow through the openai SDK (checked against openai 3.57
and a loopback fake): upload a JSONL of ``{custom_id, method, url, body}`` lines (purpose
``batch``), create a batch on it, poll it, stream its output and error files.
The client, its error mapping and each line's ``body`` come from the backend
a real-time call uses (``openai_compat.Backend``; for DashScope the body comes
from its native backend's ``batch_body`` and the client points at
``/compatible-mode/v1``).  The SDK sends no idempotency key, so a batch is
tagged with metadata and found again by it after a crash.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import errors as E
from . import KINDS
from .base import Endpoint, Request, ending_of
from .batch import (
    CANCELED,
    CANCELLED,
    CANCELLING,
    COMPLETED,
    ERRORED,
    EXPIRED,
    EXPIRED_ITEM,
    FAILED,
    NEEDS_MODEL,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Limits,
    Outcome,
    Remote,
    Sink,
    Tag,
    jsonl,
    timestamp,
)

ENDPOINT = "/v1/chat/completions"
# Provider caps (the SDK's and the providers' documented limits); chunks are cut at 90 % of them.
LIMITS = {
    "openai": Limits(50_000, 200 * 2**20),
    "groq": Limits(50_000, 100 * 2**20),  # Groq's own numbers are not checked: OpenAI's requests, half the bytes
    "dashscope": Limits(50_000, 500 * 2**20, 6 * 2**20),
    "openai-compatible": Limits(50_000, 100 * 2**20),
}
STATES = {
    "validating": QUEUED, "in_progress": RUNNING, "finalizing": RUNNING, "cancelling": CANCELLING,
    "completed": COMPLETED, "cancelled": CANCELLED, "expired": EXPIRED, "failed": FAILED,
}
# Error codes of lines that never ran (the providers' error-file shapes).
_NOT_RUN = {"batch_expired": EXPIRED_ITEM, "batch_cancelled": CANCELED}


def make_engine(endpoint: Endpoint, *, window: str | None = None) -> OpenAIEngine:
    return OpenAIEngine(endpoint, window=window)


def compatible_url(base_url: str | None) -> str:
    """DashScope's OpenAI-compatible base URL for a native one (``…/api/v1`` -> ``…/compatible-mode/v1``)."""
    url = (base_url or KINDS["dashscope"].base_url or "").rstrip("/")
    if "/compatible-mode/" in url + "/":
        return url
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    return url + "/compatible-mode/v1"


class OpenAIEngine:
    uploads = True

    def __init__(self, endpoint: Endpoint, *, window: str | None = None) -> None:
        from . import openai_compat

        self.kind = endpoint.kind
        self.endpoint = endpoint
        self.limits = LIMITS[self.kind]
        self.window = window or "24h"
        if self.kind == "dashscope":
            self.backend = openai_compat.Backend(replace(endpoint, base_url=compatible_url(endpoint.base_url)))
        else:
            self.backend = openai_compat.Backend(endpoint)
        self.errors = self.backend.errors

    @functools.cached_property
    def body_backend(self) -> Any:
        """Whose ``batch_body`` a line is: DashScope's own backend (made only when a line is, since it
        brings the dashscope SDK: polling, fetching and cancelling never make one)."""
        if self.kind == "dashscope":
            from . import dashscope

            return dashscope.Backend(self.endpoint)
        return self.backend

    # -- lines --------------------------------------------------------------------------

    def line(self, custom_id: str, request: Request) -> dict[str, Any]:
        body = self.body_backend.batch_body(request)
        if not body.get("model"):
            raise self.errors.make(E.BadRequestError, NEEDS_MODEL)
        return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}

    # -- the flow -----------------------------------------------------------------------

    def _client(self) -> Any:
        if self.kind != "openai-compatible":
            self.errors.require_key()
        return self.backend.client()

    def upload(self, path: Path, tag: Tag) -> str:
        with E.map_exceptions(self.backend.mapping()), open(path, "rb") as handle:
            made = self._client().files.create(file=(f"{tag.name}.jsonl", handle, "application/jsonl"), purpose="batch")
        return str(made.id)

    def _tag(self, tag: Tag) -> dict[str, str]:
        if self.kind == "dashscope":
            return {"ds_name": tag.name, "ds_description": "llmcli provider batch"}  # the keys it documents
        return tag.metadata

    def create(self, *, path: Path, file_id: str | None, model: str, tag: Tag) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            batch = self._client().batches.create(
                input_file_id=file_id or "", endpoint=ENDPOINT, completion_window=self.window,
                metadata=self._tag(tag),
            )
        return self._remote(batch)

    def find(self, tag: Tag, *, since: float, count: int, exclude: frozenset[str] | set[str] = frozenset()
             ) -> Remote | None:
        """The batch this chunk created before a crash, if any (``exclude``: ids other chunks own)."""
        wanted = self._tag(tag)
        with E.map_exceptions(self.backend.mapping()):
            for batch in self._client().batches.list(limit=100):
                created = timestamp(getattr(batch, "created_at", None))
                if created is not None and created < since:
                    return None  # newest first: everything further is older than our attempt
                metadata = getattr(batch, "metadata", None) or {}
                if all(metadata.get(k) == v for k, v in wanted.items()) and str(batch.id) not in exclude:
                    return self._remote(batch)
        return None

    def poll(self, batch_id: str) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            return self._remote(self._client().batches.retrieve(batch_id))

    def cancel(self, batch_id: str) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            return self._remote(self._client().batches.cancel(batch_id))

    def download(self, remote: Remote, sink: Sink) -> None:
        client = self._client()
        for label, file_id in zip(("output", "error"), remote.outputs):
            if not file_id:
                continue
            with E.map_exceptions(self.backend.mapping()), sink(label) as out:
                with client.files.with_streaming_response.content(file_id) as response:
                    for data in response.iter_bytes():
                        out.write(data)

    # -- reading --------------------------------------------------------------------------

    def _remote(self, batch: Any) -> Remote:
        status = str(getattr(batch, "status", "") or "")
        counts = getattr(batch, "request_counts", None)
        errors = getattr(getattr(batch, "errors", None), "data", None) or []
        error = None
        if errors:
            first = errors[0]
            error = " ".join(str(x) for x in (getattr(first, "code", None), getattr(first, "message", None)) if x)
            if getattr(first, "line", None):
                error += f" (line {first.line})"
        return Remote(
            id=str(batch.id), state=STATES.get(status, RUNNING), status=status,
            counts={k: int(getattr(counts, k, 0) or 0) for k in ("total", "completed", "failed")} if counts else {},
            created_at=timestamp(getattr(batch, "created_at", None)),
            expires_at=timestamp(getattr(batch, "expires_at", None)),
            outputs=[getattr(batch, "output_file_id", None) or "", getattr(batch, "error_file_id", None) or ""],
            error=error,
        )

    def parse(self, path: Path) -> Iterator[Outcome]:
        for item in jsonl(path, self.errors.provider):
            yield outcome(item)


def outcome(item: dict[str, Any]) -> Outcome:
    """One ``BatchRequestOutput`` line (OpenAI, Groq, DashScope; Mistral's has the same shape)."""
    cid = str(item.get("custom_id") or "")
    response = item.get("response") or {}
    error = item.get("error") or None
    status = response.get("status_code") if isinstance(response, dict) else None
    body = response.get("body") if isinstance(response, dict) else None
    if error or (isinstance(status, int) and status >= 400):
        code = str((error or {}).get("code") or "") if isinstance(error, dict) else ""
        message = _message(error) or _message(body) or f"HTTP {status}"
        state = _NOT_RUN.get(code, ERRORED)
        reason = f"{code}: {message}" if code and code not in message else message
        return Outcome(cid, state, error=reason, http_status=status if isinstance(status, int) else None)
    choices = (body or {}).get("choices") or [{}]
    answer = choices[0].get("message") or {}
    finish = choices[0].get("finish_reason")
    usage = (body or {}).get("usage") or {}
    return Outcome(cid, SUCCEEDED, text=content_text(answer.get("content")), finish_reason=finish,
                   ending=ending_of(finish), tokens_in=usage.get("prompt_tokens"),
                   tokens_out=usage.get("completion_tokens"), http_status=status)


def content_text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list (thinking parts left out)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return ""


def _message(obj: Any) -> str:
    if isinstance(obj, dict):
        inner = obj.get("error", obj)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(obj.get("message"), str):
            return obj["message"]
    return ""
