"""Mistral batch jobs: upload a JSONL of ``{custom_id, body}``, create a job on it, poll, stream output and error files.

As mistralai 3.7 speaks it.  The model is the job's (lines carry none); the SDK
validates responses strictly and sends the metadata filter of a list as bare
query parameters, which is how a crashed submission finds its job.  Results
may be kept only a day after the job ends, so they are downloaded as soon as
a poll sees it ended.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import errors as E
from .base import Endpoint, Request, ending_of
from .batch import (
    CANCELLED,
    CANCELLING,
    COMPLETED,
    EXPIRED,
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
from .batch_openai import outcome

ENDPOINT = "/v1/chat/completions"
LIMITS = Limits(100_000, 512 * 2**20)
TIMEOUT_HOURS = 24
STATES = {
    "QUEUED": QUEUED, "RUNNING": RUNNING, "CANCELLATION_REQUESTED": CANCELLING, "SUCCESS": COMPLETED,
    "FAILED": FAILED, "TIMEOUT_EXCEEDED": EXPIRED, "CANCELLED": CANCELLED,
}


def make_engine(endpoint: Endpoint, *, window: str | None = None) -> MistralEngine:
    return MistralEngine(endpoint)


class MistralEngine:
    kind = "mistral"
    limits = LIMITS
    uploads = True

    def __init__(self, endpoint: Endpoint) -> None:
        from . import mistral as backend_module

        self.backend = backend_module.Backend(endpoint)
        self.errors = self.backend.errors
        self.headers = dict(endpoint.headers) or None

    def line(self, custom_id: str, request: Request) -> dict[str, Any]:
        body = self.backend.batch_body(request)
        if not body.pop("model", None) or not request.model:
            raise self.errors.make(E.BadRequestError, NEEDS_MODEL)
        return {"custom_id": custom_id, "body": body}

    def _client(self) -> Any:
        self.errors.require_key()  # the SDK would send no Authorization header at all
        return self.backend.client()

    def upload(self, path: Path, tag: Tag) -> str:
        with E.map_exceptions(self.backend.mapping()), open(path, "rb") as handle:
            made = self._client().files.upload(file={"file_name": f"{tag.name}.jsonl", "content": handle},
                                               purpose="batch", http_headers=self.headers)
        return str(made.id)

    def create(self, *, path: Path, file_id: str | None, model: str, tag: Tag) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            job = self._client().batch.jobs.create(endpoint=ENDPOINT, input_files=[file_id or ""], model=model,
                                                   metadata=tag.metadata, timeout_hours=TIMEOUT_HOURS,
                                                   http_headers=self.headers)
        return self._remote(job)

    def find(self, tag: Tag, *, since: float, count: int, exclude: frozenset[str] | set[str] = frozenset()
             ) -> Remote | None:
        """The batch this chunk created before a crash, if any (``exclude``: ids other chunks own)."""
        with E.map_exceptions(self.backend.mapping()):
            listing = self._client().batch.jobs.list(metadata=tag.metadata, page_size=100, http_headers=self.headers)
        for job in listing.data or ():
            metadata = getattr(job, "metadata", None) or {}
            if all(metadata.get(k) == v for k, v in tag.metadata.items()) and str(job.id) not in exclude:
                return self._remote(job)
        return None

    def poll(self, batch_id: str) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            return self._remote(self._client().batch.jobs.get(job_id=batch_id, http_headers=self.headers))

    def cancel(self, batch_id: str) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            return self._remote(self._client().batch.jobs.cancel(job_id=batch_id, http_headers=self.headers))

    def download(self, remote: Remote, sink: Sink) -> None:
        client = self._client()
        for label, file_id in zip(("output", "error"), remote.outputs):
            if not file_id:
                continue
            with E.map_exceptions(self.backend.mapping()), sink(label) as out:
                response = client.files.download(file_id=file_id, http_headers=self.headers)
                try:
                    for data in response.iter_bytes():
                        out.write(data)
                finally:
                    response.close()

    def _remote(self, job: Any) -> Remote:
        status = str(getattr(job, "status", "") or "")
        created = timestamp(getattr(job, "created_at", None))
        errors = getattr(job, "errors", None) or []
        return Remote(
            # An unknown status is terminal, as the SDK's own helper takes it.
            id=str(job.id), state=STATES.get(status, COMPLETED), status=status,
            counts={"total": int(job.total_requests or 0), "completed": int(job.completed_requests or 0),
                    "succeeded": int(job.succeeded_requests or 0), "failed": int(job.failed_requests or 0)},
            created_at=created, expires_at=created + TIMEOUT_HOURS * 3600 if created else None,
            outputs=[str(job.output_file or ""), str(job.error_file or "")],
            error="; ".join(str(getattr(e, "message", e)) for e in errors) or None,
        )

    def parse(self, path: Path) -> Iterator[Outcome]:
        from .mistral import FAILED, TRUNCATED  # the real-time backend's own reading of a finish reason

        for item in jsonl(path, self.errors.provider):
            result = outcome(item)
            if result.state == SUCCEEDED and result.finish_reason is not None:
                result.ending = ending_of(result.finish_reason, truncated=TRUNCATED, failed=FAILED)
            yield result
