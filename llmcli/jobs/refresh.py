"""One look at the provider for a job: poll each unfinished batch once, and secure the results of those that ended.

Results are downloaded as soon as a poll sees a batch ended (some providers
keep them only a day), each file streamed to ``raw/NNN.LABEL.jsonl.part``,
fsynced and renamed, then ingested line by line into the items database,
matched by request id.  Items an ended batch gave no line for become
``canceled``, ``expired`` or ``missing`` (per the batch's own end), or
``errored`` with the batch's reason when it failed as a whole.  Each step is
recorded in the manifest, so an interrupted refresh resumes where it stopped:
a download is redone from the start, an ingestion is replayed (recording a
result is idempotent).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from .. import errors as E
from ..providers.batch import CANCELED, CANCELLED, ENDED, ERRORED, EXPIRED, EXPIRED_ITEM, FAILED, Engine, Remote
from .recording import BATCH, RECORDED_STATES, Record
from .store import CREATED, MISSING, Job, fsync_dir

EngineFactory = Callable[[], Engine]


@dataclass
class Refreshed:
    polled: int = 0
    downloaded: int = 0
    unknown_ids: int = 0
    errors: list[str] = field(default_factory=list)  # provider errors, one per chunk that could not be polled
    retry_after: float | None = None  # the longest Retry-After a provider asked for


def unfinished(job: Job) -> list[dict[str, Any]]:
    """Chunks whose results are not all in the items database yet (created ones only)."""
    return [c for c in job.chunks if c.get("step") == CREATED and not c.get("ingested")]


def refresh(job: Job, make_engine: EngineFactory, *, poll: bool = True, record: Record | None = None) -> Refreshed:
    """Poll (one GET) each created, unended chunk; download and ingest every ended one.

    ``record``: the history's recorder (jobs/recording.py), told of each result as it lands.
    """
    seen = Refreshed()
    engine: Engine | None = None
    for chunk in unfinished(job):
        remote = Remote.from_dict(chunk["remote"])
        try:
            if not remote.ended and poll:
                engine = engine or make_engine()
                remote = engine.poll(chunk["batch_id"])
                seen.polled += 1
                chunk["remote"] = remote.as_dict()
                chunk["polled_at"] = round(time.time(), 3)
                job.save()
            if remote.ended and not chunk.get("raw_done"):
                engine = engine or make_engine()
                _download(job, chunk, engine, remote)
                seen.downloaded += 1
            if remote.ended and chunk.get("raw_done"):
                engine = engine or make_engine()
                seen.unknown_ids += ingest(job, chunk, engine, remote, record)
        except E.ProviderError as err:
            if not err.retryable and not seen.errors and isinstance(err, E.AuthError):
                raise  # a bad key fails every chunk the same way: say it once
            seen.errors.append(f"chunk {chunk['no']} ({chunk['batch_id']}): {err}")
            if err.retry_after:
                seen.retry_after = max(seen.retry_after or 0.0, err.retry_after)
    update_counts(job)
    return seen


def _download(job: Job, chunk: dict[str, Any], engine: Engine, remote: Remote) -> None:
    written: list[dict[str, str]] = []

    @contextlib.contextmanager
    def sink(label: str) -> Iterator[IO[bytes]]:
        final = job.raw_path(chunk, label)
        part = final.with_name(final.name + ".part")
        digest = _Hashing(open(part, "wb"))
        try:
            yield digest  # type: ignore[misc]
            digest.handle.flush()
            os.fsync(digest.handle.fileno())
        except BaseException:
            digest.handle.close()
            part.unlink(missing_ok=True)
            raise
        digest.handle.close()
        os.replace(part, final)
        fsync_dir(final.parent)
        written.append({"label": label, "path": str(final.relative_to(job.path)), "sha256": digest.hexdigest()})

    engine.download(remote, sink)
    chunk["raw"] = written
    chunk["raw_done"] = True
    job.save()


class _Hashing:
    """A binary file that hashes what goes through it (the manifest keeps each raw file's sha256)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    def hexdigest(self) -> str:
        return self.digest.hexdigest()

    def writable(self) -> bool:
        return True


def ingest(job: Job, chunk: dict[str, Any], engine: Engine, remote: Remote, record: Record | None = None) -> int:
    """Every raw line onto its item by id; the rest of the chunk closed by how the batch ended. Returns unknown ids.

    Committed every ``recording.BATCH`` results (recording a result is idempotent, so a
    replay after a crash finishes the job), each batch then handed to ``record``.
    """
    db = job.items()
    unknown = 0
    landed: list[str] = []

    def commit() -> None:
        db.db.execute("COMMIT")
        if record is not None:
            record(db, landed)
        landed.clear()
        db.db.execute("BEGIN IMMEDIATE")

    with db.transaction() as tx:
        for raw in chunk.get("raw") or []:
            for outcome in engine.parse(job.path / raw["path"]):
                if not db.record(tx, outcome):
                    unknown += 1  # not ours, or a result for an attempt already retried
                elif record is not None and outcome.state in RECORDED_STATES:
                    landed.append(outcome.custom_id)
                    if len(landed) >= BATCH:
                        commit()
        left_as, why = _left_as(remote)
        db.close_chunk(tx, chunk["no"], left_as, why)
    if record is not None:
        record(db, landed)
    chunk["ingested"] = True
    chunk["unknown_ids"] = unknown
    job.save()
    return unknown


def _left_as(remote: Remote) -> tuple[str, str]:
    if remote.state == FAILED:
        return ERRORED, f"the batch failed: {remote.error or remote.status}"
    if remote.state == CANCELLED:
        return CANCELED, "the batch was cancelled before this request ran"
    if remote.state == EXPIRED:
        return EXPIRED_ITEM, "the batch expired before this request ran"
    return MISSING, "no result line for this request"


def update_counts(job: Job) -> None:
    """Counts cached in the manifest, so ``jobs list`` reads no database."""
    db = job.items()
    job.manifest["counts"] = db.counts()
    job.manifest["file_counts"] = db.file_counts()
    job.manifest["usage"] = dict(zip(("input_tokens", "output_tokens"), db.usage()))
    job.manifest["ended"] = bool(job.chunks) and all(
        c.get("step") == CREATED and c.get("ingested") for c in job.chunks)
    job.save()


def all_ended(job: Job) -> bool:
    return all(Remote.from_dict(c["remote"]).state in ENDED for c in job.chunks if c.get("step") == CREATED)
