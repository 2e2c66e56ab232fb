"""Gemini batch mode (Developer API): a JSONL file through the resumable upload, batchGenerateContent, poll, download.

As google-genai 3.6 speaks it.  Every chunk goes as a file of ``{key, request}`` lines
(``request`` is the real-time REST body from ``gemini.Backend.batch_body``)
rather than inline: inline results come back inside the poll's JSON, a whole
result set in memory, where a responses file streams to disk
(``files.download(destination=…)``).  The batch's ``displayName`` (required by
the API) names the job and chunk, and is how a crashed submission finds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import errors as E
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

# Request count and file size are not documented for files (2 GB is third-party); kept modest.
LIMITS = Limits(50_000, 200 * 2**20)
STATES = {
    "JOB_STATE_QUEUED": QUEUED, "JOB_STATE_PENDING": QUEUED, "JOB_STATE_RUNNING": RUNNING,
    "JOB_STATE_CANCELLING": CANCELLING, "JOB_STATE_SUCCEEDED": COMPLETED, "JOB_STATE_PARTIALLY_SUCCEEDED": COMPLETED,
    "JOB_STATE_FAILED": FAILED, "JOB_STATE_CANCELLED": CANCELLED, "JOB_STATE_EXPIRED": EXPIRED,
}
# google.rpc status names of lines that never ran (the exact error-line shape is not documented).
_NOT_RUN = {"CANCELLED": CANCELED, "DEADLINE_EXCEEDED": EXPIRED_ITEM}


def make_engine(endpoint: Endpoint, *, window: str | None = None) -> GeminiEngine:
    return GeminiEngine(endpoint)


class GeminiEngine:
    kind = "gemini"
    limits = LIMITS
    uploads = True

    def __init__(self, endpoint: Endpoint) -> None:
        from . import gemini as backend_module

        self.backend = backend_module.Backend(endpoint)
        self.errors = self.backend.errors
        self._truncated = backend_module._TRUNCATED
        self._filtered = backend_module._FILTERED

    def line(self, custom_id: str, request: Request) -> dict[str, Any]:
        if not request.model:
            raise self.errors.make(E.BadRequestError, NEEDS_MODEL)
        return {"key": custom_id, "request": self.backend.batch_body(request)}

    def upload(self, path: Path, tag: Tag) -> str:
        with E.map_exceptions(self.backend.mapping()):
            made = self.backend.client().files.upload(file=str(path), config={"mime_type": "jsonl",
                                                                                "display_name": tag.name})
        return str(made.name)

    def create(self, *, path: Path, file_id: str | None, model: str, tag: Tag) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            job = self.backend.client().batches.create(model=model, src=file_id or "",
                                                       config={"display_name": tag.name})
        return self._remote(job)

    def find(self, tag: Tag, *, since: float, count: int, exclude: frozenset[str] | set[str] = frozenset()
             ) -> Remote | None:
        """The batch this chunk created before a crash, if any (``exclude``: ids other chunks own)."""
        with E.map_exceptions(self.backend.mapping()):
            for job in self.backend.client().batches.list(config={"page_size": 100}):
                created = timestamp(getattr(job, "create_time", None))
                if created is not None and created < since:
                    return None
                if getattr(job, "display_name", None) == tag.name and str(job.name) not in exclude:
                    return self._remote(job)
        return None

    def poll(self, batch_id: str) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            return self._remote(self.backend.client().batches.get(name=batch_id))

    def cancel(self, batch_id: str) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            self.backend.client().batches.cancel(name=batch_id)
        return Remote(id=batch_id, state=CANCELLING, status="cancel requested")

    def download(self, remote: Remote, sink: Sink) -> None:
        name = remote.outputs[0] if remote.outputs else ""
        if not name:
            return
        with E.map_exceptions(self.backend.mapping()), sink("results") as out:
            self.backend.client().files.download(file=name, destination=out)

    def _remote(self, job: Any) -> Remote:
        state = getattr(job, "state", None)
        status = str(getattr(state, "value", state) or "")
        dest = getattr(job, "dest", None)
        error = getattr(job, "error", None)
        return Remote(
            id=str(job.name), state=STATES.get(status, RUNNING), status=status.removeprefix("JOB_STATE_"),
            created_at=timestamp(getattr(job, "create_time", None)),
            outputs=[str(dest.file_name)] if dest is not None and getattr(dest, "file_name", None) else [],
            error=str(getattr(error, "message", None) or error) if error else None,
        )

    def parse(self, path: Path) -> Iterator[Outcome]:
        for item in jsonl(path, self.errors.provider):
            cid = str(item.get("key") or (item.get("metadata") or {}).get("key") or "")
            error = item.get("error") or item.get("status")
            response = item.get("response")
            if error or not isinstance(response, dict):
                error = error if isinstance(error, dict) else {}
                status = str(error.get("status") or "")
                reason = ": ".join(x for x in (status, str(error.get("message") or "")) if x) or "no response"
                yield Outcome(cid, _NOT_RUN.get(status, ERRORED), error=reason)
                continue
            yield self._answer(cid, response)

    def _answer(self, cid: str, response: dict[str, Any]) -> Outcome:
        candidates = response.get("candidates") or []
        usage = response.get("usageMetadata") or {}
        blocked = (response.get("promptFeedback") or {}).get("blockReason")
        if not candidates and blocked:
            return Outcome(cid, ERRORED, error=f"the prompt was blocked ({blocked})")
        candidate = candidates[0] if candidates else {}
        parts = (candidate.get("content") or {}).get("parts") or []
        text = "".join(p.get("text", "") for p in parts if isinstance(p, dict) and not p.get("thought"))
        finish = candidate.get("finishReason")
        finish = str(finish).lower() if finish else None
        output = usage.get("candidatesTokenCount")
        if usage.get("thoughtsTokenCount"):
            output = (output or 0) + usage["thoughtsTokenCount"]  # billed as output, as in real time
        return Outcome(cid, SUCCEEDED, text=text, finish_reason=finish,
                       ending=ending_of(finish, truncated=self._truncated, filtered=self._filtered),
                       tokens_in=usage.get("promptTokenCount"), tokens_out=output)
