"""``llmcli jobs fetch JOB``: every finished file reassembled and written, through local batch's own write.

Idempotent and resumable, days later: each file whose requests all succeeded
is put back together from its stored layout (kept parts byte for byte, each
answer checked and cleaned as in real time) and published by
:func:`llmcli.jobs.seams.publish` (atomic write, ``.bak`` in place, the shared
journal).  Then its row says ``written``.  A crash between the two is caught
next time: a target already holding exactly this output is marked written,
never rewritten.  A source edited since submission is never overwritten: in
place, its rewrite goes beside it as ``FILE.llmcli-new``; with ``--out`` or
``--suffix`` it is written and the staleness reported; ``--force`` overrides.
"""

from __future__ import annotations

import json
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .. import errors as E
from .. import status
from ..batch.manifest import Journal, sha256
from ..batch.plan import Job as PlanJob
from ..batch.work import Result
from ..providers.batch import SUCCEEDED
from . import layouts, seams
from .recording import Record
from .refresh import EngineFactory, refresh, update_counts
from .store import PENDING, STALE, WRITTEN, FileRow, Item, Job

COMMIT_EVERY = 200
WRITERS = 4  # as local batch's default -j: writes overlap their fsyncs


@dataclass
class Fetched:
    written: int = 0
    already: int = 0
    stale: int = 0  # written despite a changed source (--out/--suffix), staleness reported
    beside: int = 0  # in place, source changed: written as FILE.llmcli-new
    failed: int = 0
    running: int = 0
    provider_errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.provider_errors:
            return E.EXIT_PROVIDER
        if self.failed or self.running or self.beside:
            return E.EXIT_PARTIAL
        return E.EXIT_OK


def fetch(job: Job, make_engine: EngineFactory, *, force: bool = False, report: IO[str] | None = None,
          quiet: bool = False, writers: int = WRITERS, record: Record | None = None) -> Fetched:
    """Write every file whose requests all finished; ``writers`` threads overlap the writes' fsyncs.

    ``record``: the history's recorder, for results this fetch is the first to see.
    """
    seen = refresh(job, make_engine, record=record)
    done = Fetched(provider_errors=list(seen.errors))
    for line in seen.errors:
        status.error(line)
    db = job.items()
    journal = Journal()
    how = seams.publishing(job.manifest, journal, force=force)  # one for the fetch: its directory cache too
    inflight: deque[tuple[_Write | None, Any]] = deque()
    marks = 0

    def finish() -> None:
        nonlocal marks
        task, pending = inflight.popleft()
        line = pending if task is None else _settle(job, task, pending.result(), db, done)
        marks += task is not None
        if report is not None and line is not None:
            report.write(json.dumps(line, ensure_ascii=False) + "\n")
            report.flush()

    db.db.execute("BEGIN IMMEDIATE")
    try:
        with ThreadPoolExecutor(max_workers=max(1, writers), thread_name_prefix="llmcli-fetch") as pool:
            for row in db.files():
                step = _plan(job, row, db, force=force, done=done)
                if isinstance(step, _Write):
                    inflight.append((step, pool.submit(_write, step, how, force)))
                else:
                    inflight.append((None, step))
                while inflight and (len(inflight) > 4 * writers or inflight[0][0] is None or inflight[0][1].done()):
                    finish()
                if marks >= COMMIT_EVERY:
                    db.db.execute("COMMIT")
                    db.db.execute("BEGIN IMMEDIATE")
                    marks = 0
            while inflight:
                finish()
    finally:
        db.db.execute("COMMIT")  # what was marked stays marked: each mark follows a finished write
        journal.close()
    update_counts(job)
    job.manifest["done"] = not (done.failed or done.running or done.beside or done.provider_errors)
    job.save()
    _summary(job, done, quiet=quiet)
    return done


@dataclass
class _Write:
    """A file ready to be published: its rewrite, assembled and checked on the main thread."""

    row: FileRow
    plan_job: PlanJob
    units: list[Item]
    new_text: str
    out_sha: str
    original: bytes  # the source as submitted


@dataclass
class _Written:
    state: str  # WRITTEN | STALE | ALREADY | FAILED
    publish_to: PlanJob
    note: str | None = None


ALREADY, FAILED = "already", "failed"


def _plan(job: Job, row: FileRow, db: Any, *, force: bool, done: Fetched) -> _Write | dict:
    """Main thread: a final report line (skipped, pending, failed), or the file's rewrite to publish."""
    m = job.manifest
    plan_job = PlanJob(Path(row.source), Path(row.target), row.shown)
    if row.state == WRITTEN and not force:
        done.already += 1
        return _report(job, plan_job, "skipped", "already written", [], row)
    if row.state == STALE and not force:
        done.beside += 1  # still not in place: says so every time, until --force
        return _report(job, PlanJob(plan_job.source, beside_of(plan_job.source), row.shown), "done", row.note or "",
                       [], row)
    units = db.units(row.no)
    if any(u.state == PENDING for u in units):
        done.running += 1
        return _report(job, plan_job, "pending", "still running at the provider", units, row)
    failed = [u for u in units if u.state != SUCCEEDED]
    if failed:
        return _failed(job, plan_job, _reasons(failed, len(units)), units, row, done)
    lay = layouts.load(row.layout)
    answers = []
    for unit, item in zip(lay.units, units):
        answer, why = seams.answer(item, unit.core, provider=str(m["provider"]), profile=str(m["profile"]),
                                   clean=bool(m.get("clean", True)), think_open=bool(m.get("think_open")),
                                   chunked=len(units) > 1)
        if why:
            db.fail_item(db.db, item.id, why)
            item.state, item.error = "errored", why
            return _failed(job, plan_job, _reasons([item], len(units)), units, row, done)
        answers.append(answer)
    try:
        new_text = lay.assemble(answers)
    except ValueError as exc:  # link tokens lost (units.LinkTokensLost)
        for item in units:
            db.fail_item(db.db, item.id, str(exc))
        return _failed(job, plan_job, str(exc), units, row, done)
    return _Write(row, plan_job, units, new_text, sha256(new_text.encode("utf-8")), db.original(row.no))


def _write(task: _Write, how: Any, force: bool) -> _Written:
    """A writer thread: already there?  Then local batch's own publish (atomic, backup, journal, never over an edit)."""
    from ..batch.publish import SourceChanged

    row, plan_job = task.row, task.plan_job
    source, target = plan_job.source, plan_job.target
    in_place = target == source or target.resolve() == source.resolve()
    target_sha = _sha_of(target)
    if not force and target_sha == task.out_sha:
        return _Written(ALREADY, plan_job)  # written before a crash that lost the mark
    current = target_sha if in_place else _sha_of(source)
    if in_place and not force and current != row.src_sha and _sha_of(beside_of(source)) == task.out_sha:
        return _Written(STALE, PlanJob(source, beside_of(source), row.shown), _beside_note(row, beside_of(source)))
    original = task.original
    if force and in_place and current != row.src_sha:
        try:
            original = source.read_bytes()  # --force over an edit: the edit is what the backup keeps
        except OSError:
            pass
    try:
        written = seams.publish(plan_job, original, task.new_text, how)
    except SourceChanged as changed:
        return _Written(STALE, PlanJob(source, changed.beside, row.shown), _beside_note(row, changed.beside))
    except OSError as exc:
        return _Written(FAILED, plan_job, f"cannot write {exc.filename or target}: {exc.strerror or exc}")
    note = None
    if current != row.src_sha and not in_place:
        note = f"{row.shown} changed since it was submitted: {written} is the rewrite of the version sent"
    return _Written(WRITTEN, PlanJob(source, written, row.shown), note)


def _beside_note(row: FileRow, beside: Path) -> str:
    return (f"{row.shown} changed since it was submitted: your edit is kept; its rewrite is in {beside} "
            "(--force replaces it)")


def _settle(job: Job, task: _Write, written: _Written, db: Any, done: Fetched) -> dict:
    """Main thread: record what a writer did, in file order."""
    row = task.row
    if written.state == FAILED:
        return _failed(job, task.plan_job, written.note or "cannot write", task.units, row, done)
    if written.state == ALREADY:
        db.mark_file(db.db, row.no, WRITTEN, task.out_sha, None)
        done.already += 1
        return _report(job, task.plan_job, "skipped", "already written", task.units, row)
    db.mark_file(db.db, row.no, written.state, task.out_sha, written.note)
    if written.note:
        status.warn(written.note)
    if written.state == STALE:
        done.beside += 1
    else:
        done.written += 1
        done.stale += 1 if written.note else 0
    return _report(job, written.publish_to, "done", written.note or "", task.units, row)


def beside_of(source: Path) -> Path:
    from ..batch.publish import BESIDE_SUFFIX

    return source.with_name(source.name + BESIDE_SUFFIX)


def _sha_of(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes())
    except OSError:
        return None


def _reasons(items: list[Item], total: int) -> str:
    parts = []
    for item in items:
        where = f"part {item.unit_no + 1} of {total}: " if total > 1 else ""
        parts.append(f"{where}{item.state}" + (f": {item.error}" if item.error else ""))
    return "; ".join(parts)


def _failed(job: Job, plan_job: PlanJob, reason: str, units: list[Item], row: FileRow, done: Fetched) -> dict:
    done.failed += 1
    status.note(f"failed {row.shown}: {reason}")
    return _report(job, plan_job, "failed", reason, units, row)


def _report(job: Job, plan_job: PlanJob, state: str, reason: str, units: list[Item], row: FileRow) -> dict:
    """One ``--report`` line, in local batch's format (``batch/work.py::Result.as_json``) plus the job's ids."""
    result = Result(plan_job, state, reason, sum(u.tokens_in or 0 for u in units),
                    sum(u.tokens_out or 0 for u in units), attempts=max((u.attempt for u in units), default=0),
                    chunks=row.units, profile=str(job.manifest["profile"]))
    line = result.as_json()
    line["job"] = job.id
    line["requests"] = {u.custom_id: u.state for u in units}
    return line


def _summary(job: Job, done: Fetched, *, quiet: bool) -> None:
    usage = job.manifest.get("usage") or {}
    parts = [f"written {done.written}", f"already written {done.already}"]
    if done.beside:
        parts.append(f"beside a changed source {done.beside}")
    if done.stale:
        parts.append(f"from a changed source {done.stale}")
    parts += [f"failed {done.failed}"]
    if done.running:
        parts.append(f"still running {done.running}")
    parts.append(f"tokens in / out {usage.get('input_tokens', 0)} / {usage.get('output_tokens', 0)}")
    if quiet and not (done.failed or done.running or done.provider_errors):
        return
    status.note(f"job {job.id}: " + ", ".join(parts))
    if done.failed:
        status.note(f"llmcli jobs retry {job.id} sends the failed requests again")
    if done.running:
        status.note(f"llmcli jobs status {job.id} --wait waits for the rest")
