"""``llmcli batch … --provider-batch``: write every request to the job directory, then hand the chunks to the provider.

Two phases, so a crash anywhere loses nothing and sends nothing twice:

1. *prepare* (no network): each file is read and laid out exactly as local
   batch lays it out (``batch/units.py``); each unit becomes the resolved
   real-time ``Request`` (the caller's ``build_request``) and that becomes one
   request line (the engine's ``line``, from the backend's own
   ``batch_body``).  Lines go to chunk files cut under the provider's limits,
   one model each, fsynced; the id -> file/unit map and the layouts go to the
   items database; then the manifest says ``prepared``.
2. *send*: per chunk, upload (file id recorded), then create (batch id
   recorded), the manifest saved after every step.  A chunk found in
   ``creating`` after a crash is first looked for at the provider (by
   metadata, display name, or Anthropic's count) and adopted, never re-created.

Running the same command again finds the job by its key (the files, targets,
profile and the request a probe text becomes) and resumes it; once submitted,
it answers with the same job id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .. import errors as E
from .. import status
from ..providers import KINDS
from ..providers.batch import Engine, Limits, Tag, engine_for, jsonl, unsupported
from . import layouts, seams, store
from .store import CREATED, CREATING, PREPARED, UPLOADED, UPLOADING, WITHDRAWN, Job, dumps

# A provider's clock and ours may differ; a batch created this long before we asked still counts.
CLOCK_SKEW = 600.0
DEFAULT_MAX_INPUT_CHARS = 24_000


@dataclass
class SubmitOptions:
    """What local batch settles before it runs, that a provider batch needs too."""

    max_chars: int = DEFAULT_MAX_INPUT_CHARS  # --max-input-chars (units are cut as local batch cuts them)
    markdown_safe: bool | None = None  # None: on for Markdown files
    clean: bool = True  # --clean/--no-clean, applied at fetch
    backup: bool = True  # --in-place: keep FILE.bak
    backup_dir: Path | None = None
    settings_id: str = ""  # local batch's journal fingerprint, so local and provider batches skip each other's work
    force: bool = False  # redo files the journal says are done; a new job even if one exists
    window: str | None = None  # completion window where the provider takes one (default 24h)
    quiet: bool = False
    log: bool = True  # the results go into the history when they come (jobs/recording.py); --no-log: never


BuildRequest = Callable[[Any, str], Any]  # (plan Job, unit text) -> providers.base.Request


def submit(jobs: Sequence[Any], build_request: BuildRequest, profile: Any, *, options: SubmitOptions | None = None,
           endpoint: Any = None, config_path: Path | None = None, state_dir: Path | None = None) -> str:
    """Submit ``jobs`` (``batch.plan.Job``) to ``profile``'s batch engine; return the local job id.

    ``build_request(job, text)`` is the resolved real-time ``Request`` for one
    unit of a file.  ``endpoint`` is the profile's resolved endpoint (made from
    the profile when not given).  Raises ``UsageError`` before anything is
    written when the profile's provider has no batch engine.
    """
    o = options or SubmitOptions()
    label = KINDS[profile.provider].label
    why = unsupported(profile.provider, batch_flag=getattr(profile, "batch", None))
    if why:
        raise E.UsageError(f"profile '{profile.name}' ({label}): {why}; run without --provider-batch")
    if not jobs:
        raise E.UsageError("no input files")
    endpoint = endpoint or seams.endpoint(profile, config_path)
    key = job_key(jobs, build_request, profile, o)
    root = store.jobs_root(state_dir)
    job = None if o.force else resumable(root, key)
    if job is not None and job.manifest["state"] == "submitted":
        status.note(f"already submitted as job {job.id} (llmcli jobs status {job.id}; --force for a new job)")
        return job.id
    engine = engine_for(endpoint, window=o.window)
    if job is None:
        job = store.create(root, _manifest(key, profile, endpoint, o))
    with job.lock():
        try:
            if job.manifest["state"] == "preparing":
                try:
                    prepare(job, jobs, build_request, engine, o)
                except E.LlmcliError:
                    job.close()
                    shutil.rmtree(job.path, ignore_errors=True)  # nothing was sent: leave no half-made job
                    raise
            send(job, engine)
        except (E.ProviderError, KeyboardInterrupt, E.Interrupted) as exc:
            status.note(f"job {job.id}: submission stopped; run the same command again to continue "
                        "(what reached the provider is found again, never sent twice)")
            if isinstance(exc, KeyboardInterrupt):
                raise E.Interrupted("interrupted") from None
            raise
        finally:
            job.close()
    if not o.quiet:
        m = job.manifest
        status.note(f"job {job.id}: {m['totals']['items']} requests from {m['totals']['files']} files in "
                    f"{len(job.chunks)} {label} batch{'es' if len(job.chunks) != 1 else ''}; "
                    f"llmcli jobs status {job.id}")
    return job.id


def job_key(jobs: Sequence[Any], build_request: BuildRequest, profile: Any, o: SubmitOptions) -> str:
    """What makes "the same command": the inputs and targets, the profile, and the request a probe becomes."""
    digest = hashlib.sha256()
    cwd = os.getcwd()  # os.path.abspath, with the working directory asked once instead of twice a file
    for job in jobs:
        source, target = os.path.join(cwd, job.source), os.path.join(cwd, job.target)
        digest.update(f"{os.path.normpath(source)}\0{os.path.normpath(target)}\n".encode())
    probe = build_request(jobs[0], "<probe>")
    settings = {"profile": profile.name, "provider": profile.provider, "probe": request_dict(probe),
                "max_chars": o.max_chars, "markdown_safe": o.markdown_safe, "clean": o.clean,
                "settings": o.settings_id, "window": o.window, "files": digest.hexdigest()}
    return hashlib.sha256(dumps(settings).encode()).hexdigest()


def resumable(root: Path, key: str) -> Job | None:
    """The newest job with this key that is not finished (all its files written)."""
    for job in reversed(store.all_jobs(root)):
        if job.manifest.get("key") == key and not job.manifest.get("done"):
            return job
    return None


def _manifest(key: str, profile: Any, endpoint: Any, o: SubmitOptions) -> dict[str, Any]:
    from .. import __version__

    return {
        "schema": store.SCHEMA, "job": store.new_job_id(key), "key": key, "created_at": round(time.time(), 3),
        "llmcli": __version__, "profile": profile.name, "provider": profile.provider, "window": o.window,
        "settings_id": o.settings_id or key[:32],
        "clean": o.clean, "log": o.log, "think_open": getattr(profile, "think_tags", "auto") == "open",
        "backup": o.backup, "backup_dir": str(o.backup_dir) if o.backup_dir else None,
        "state": "preparing", "totals": {"files": 0, "items": 0}, "chunks": [],
    }


def request_dict(request: Any) -> dict[str, Any]:
    """A ``Request`` as JSON-ready fields (every field, whatever the dataclass gains; messages as dicts)."""
    fields = dict(vars(request))
    fields["messages"] = [dict(vars(m)) for m in request.messages]
    return fields


def request_from(data: str) -> Any:
    """The stored ``Request`` of one item (for ``jobs retry --sync``)."""
    import json

    from ..providers.base import Message, Request

    fields = json.loads(data)
    fields["messages"] = tuple(Message(**m) for m in fields.get("messages") or ())
    known = {f.name for f in dataclasses.fields(Request)}
    return Request(**{k: v for k, v in fields.items() if k in known})


# -- phase 1: prepare -------------------------------------------------------------------------


def prepare(job: Job, jobs: Sequence[Any], build_request: BuildRequest, engine: Engine, o: SubmitOptions) -> None:
    from ..batch.manifest import Journal, sha256
    from ..batch.units import layout
    from ..batch.work import load

    for stale in (job.path / "chunks").glob("*"):
        stale.unlink()  # a crash mid-prepare: start it over, nothing was sent
    db = job.items()
    journal = None if o.force else Journal()
    chunker = Chunker(job.path / "chunks", engine.limits)
    settings_id = job.manifest["settings_id"]
    files = items = 0

    def one_file(no: int, plan_job: Any) -> tuple[tuple, list[tuple]] | None:
        """One file's request lines into the chunker; its files row and items rows, or None when skipped."""
        loaded = load(plan_job)  # as local batch reads it: at most the input limit
        if loaded.text is None:
            _skip(plan_job, loaded.why, o)
            return None
        data, text = loaded.data, loaded.text
        input_sha = sha256(data)
        if journal is not None and journal.is_done(plan_job.source, plan_job.target, settings_id, input_sha):
            _skip(plan_job, "already done", o)
            return None
        markdown = plan_job.is_markdown if o.markdown_safe is None else o.markdown_safe
        lay = layout(text, max_chars=o.max_chars, markdown_safe=markdown)
        if not lay.units:
            _skip(plan_job, "nothing to rewrite (only code or front matter)", o)
            return None
        rows = []
        for unit_no, unit in enumerate(lay.units):
            request = build_request(plan_job, unit.core)
            cid = store.request_id(no, unit_no)
            line = (dumps(engine.line(cid, request)) + "\n").encode("utf-8")
            chunk_no = chunker.add(request.model or "", line, plan_job.shown)
            rows.append((cid, cid, no, unit_no, chunk_no, dumps(request_dict(request))))
        return ((no, str(plan_job.source), str(plan_job.target), plan_job.shown, input_sha, len(rows),
                 layouts.dump(lay), markdown, data), rows)

    try:
        # One transaction, committed (one fsync) once every chunk file is durable: a crash before
        # that starts the prepare over from empty tables, so commits along the way would buy nothing.
        with db.transaction() as tx:
            db.clear(tx)
            pending: list[tuple[tuple, list[tuple[str, str, int, int, int, str]]]] = []
            for no, plan_job in enumerate(jobs):
                prepared = one_file(no, plan_job)
                if prepared is None:
                    continue
                pending.append(prepared)
                files += 1
                items += len(prepared[1])
                if len(pending) >= 1000:  # many rows per statement, never the whole corpus in memory
                    _insert(db, tx, pending)
            _insert(db, tx, pending)
            chunks = chunker.close()
    finally:
        chunker.abandon()
        if journal is not None:
            journal.close()
    if not items:
        raise E.UsageError("nothing to submit: every file was skipped")
    job.manifest["chunks"] = chunks
    job.manifest["totals"] = {"files": files, "items": items}
    job.manifest["state"] = "prepared"
    job.save()


def _insert(db: Any, tx: Any, pending: list) -> None:
    db.add_files(tx, [file_row for file_row, _ in pending])
    db.add_items(tx, [row for _, rows in pending for row in rows])
    pending.clear()


def _skip(plan_job: Any, why: str, o: SubmitOptions) -> None:
    if not o.quiet:
        status.note(f"skip  {plan_job.shown} ({why})")


class Chunker:
    """Request lines into chunk files: one model each, under the provider's count and byte limits (with margin)."""

    @dataclass
    class _Open:
        no: int
        model: str
        handle: IO[bytes]
        digest: Any
        count: int = 0
        size: int = 0

    def __init__(self, directory: Path, limits: Limits, first: int = 0) -> None:
        self.directory = directory
        self.limits = limits
        self.max_requests, self.max_bytes, self.max_line = limits.requests, limits.bytes, limits.line_bytes
        self.open: dict[str, Chunker._Open] = {}
        self.done: dict[int, dict[str, Any]] = {}
        self.next_no = first

    def add(self, model: str, line: bytes, shown: str) -> int:
        if len(line) > self.max_line:
            raise E.UsageError(f"{shown}: one request is {len(line)} bytes, over what the provider takes in one "
                               f"line ({self.max_line}); lower --max-input-chars")
        current = self.open.get(model)
        if current is not None and (current.count + 1 > self.max_requests
                                    or current.size + len(line) > self.max_bytes):
            self._close(current)
            current = None
        if current is None:
            no = self.next_no
            self.next_no += 1
            path = self.directory / f"{no:03d}.request.jsonl"
            current = Chunker._Open(no, model, open(path, "wb"), hashlib.sha256())
            self.open[model] = current
        current.handle.write(line)
        current.digest.update(line)
        current.count += 1
        current.size += len(line)
        return current.no

    def _close(self, current: Chunker._Open) -> None:
        current.handle.flush()
        os.fsync(current.handle.fileno())
        current.handle.close()
        del self.open[current.model]
        self.done[current.no] = {
            "no": current.no, "model": current.model, "path": f"chunks/{current.no:03d}.request.jsonl",
            "count": current.count, "bytes": current.size, "sha256": current.digest.hexdigest(), "attempt": 1,
            "step": PREPARED,
        }

    def close(self) -> list[dict[str, Any]]:
        for current in list(self.open.values()):
            self._close(current)
        from .store import fsync_dir

        fsync_dir(self.directory)
        return [self.done[no] for no in sorted(self.done)]

    def abandon(self) -> None:
        for current in self.open.values():
            current.handle.close()
        self.open.clear()


# -- phase 2: send ----------------------------------------------------------------------------


def send(job: Job, engine: Engine) -> None:
    """Upload and create every chunk not created yet, recording each step before the next."""
    if job.manifest["state"] != "submitted":
        job.manifest["state"] = "submitting"
        job.save()
    for chunk in job.chunks:
        if chunk["step"] not in (CREATED, WITHDRAWN):
            send_chunk(job, engine, chunk)
    job.manifest["state"] = "submitted"
    job.save()


def send_chunk(job: Job, engine: Engine, chunk: dict[str, Any]) -> None:
    tag = Tag(job.id, chunk["no"])
    path = job.chunk_path(chunk)
    if chunk.get("retry") and not chunk.get("requeued"):
        _requeue(job, chunk)
    if chunk["step"] == CREATING and adopt(job, engine, chunk):
        return
    if engine.uploads and chunk["step"] in (PREPARED, UPLOADING):
        chunk["step"] = UPLOADING
        job.save()
        chunk["file_id"] = engine.upload(path, tag)
        chunk["step"] = UPLOADED
        job.save()
    chunk["step"] = CREATING
    chunk["create_started"] = round(time.time(), 3)
    job.save()
    record_created(job, chunk, engine.create(path=path, file_id=chunk.get("file_id"), model=chunk["model"], tag=tag))


def adopt(job: Job, engine: Engine, chunk: dict[str, Any]) -> bool:
    """A chunk left in ``creating`` by a crash: find the batch the provider may have made for it, and take it."""
    found = engine.find(Tag(job.id, chunk["no"]), since=chunk["create_started"] - CLOCK_SKEW, count=chunk["count"],
                        exclude=known_batches(job.path.parent))
    if found is None:
        return False
    record_created(job, chunk, found)
    return True


def known_batches(root: Path) -> set[str]:
    """Provider batch ids some local job already owns: never adopted by another chunk."""
    return {str(c["batch_id"]) for j in store.all_jobs(root) for c in j.chunks if c.get("batch_id")}


def _requeue(job: Job, chunk: dict[str, Any]) -> None:
    """Point each request of a retry chunk at it (idempotent: redone whole after a crash)."""
    db = job.items()
    with db.transaction() as tx:
        for line in jsonl(job.chunk_path(chunk), "retry chunk"):
            custom_id = str(line.get("custom_id") or line.get("key") or "")
            attempt = int(custom_id.split("a", 1)[1]) if "a" in custom_id else 1
            db.requeue(tx, store.base_id(custom_id), custom_id, chunk["no"], attempt)
    chunk["requeued"] = True
    job.save()


def record_created(job: Job, chunk: dict[str, Any], remote: Any) -> None:
    chunk["step"] = CREATED
    chunk["batch_id"] = remote.id
    chunk["remote"] = remote.as_dict()
    chunk["polled_at"] = round(time.time(), 3)
    job.save()
