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
from .refresh import EngineFactory, refresh, update_counts
from .store import PENDING, STALE, WRITTEN, FileRow, Item, Job

NEW_SUFFIX = ".llmcli-new"
COMMIT_EVERY = 200


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
          quiet: bool = False) -> Fetched:
    seen = refresh(job, make_engine)
    done = Fetched(provider_errors=list(seen.errors))
    for line in seen.errors:
        status.error(line)
    db = job.items()
    m = job.manifest
    journal = Journal()
    tx_open = False
    since_commit = 0
    try:
        for row in db.files():
            if not tx_open:
                db.db.execute("BEGIN IMMEDIATE")
                tx_open = True
            result = _one(job, row, db, journal, force=force, done=done)
            if result is not None:
                if report is not None:
                    report.write(json.dumps(result, ensure_ascii=False) + "\n")
                    report.flush()
            since_commit += 1
            if since_commit >= COMMIT_EVERY:
                db.db.execute("COMMIT")
                tx_open, since_commit = False, 0
        if tx_open:
            db.db.execute("COMMIT")
            tx_open = False
    finally:
        if tx_open:
            db.db.execute("COMMIT")  # what was marked stays marked: each mark follows a finished write
        journal.close()
    update_counts(job)
    m["done"] = not (done.failed or done.running or done.beside or done.provider_errors)
    job.save()
    _summary(job, done, quiet=quiet)
    return done


def _one(job: Job, row: FileRow, db: Any, journal: Journal, *, force: bool, done: Fetched) -> dict | None:
    m = job.manifest
    plan_job = PlanJob(Path(row.source), Path(row.target), row.shown)
    if row.state in (WRITTEN, STALE) and not force:
        done.already += 1
        return _report(job, plan_job, "skipped", "already written", [], row)
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
        answer, why = seams.check(item.text, item.ending, unit.core, clean=bool(m.get("clean", True)))
        if why:
            db.fail_item(db.db, item.id, why)
            item.state, item.error = "errored", why
            return _failed(job, plan_job, _reasons([item], len(units)), units, row, done)
        answers.append(answer)
    try:
        new_text = lay.assemble(answers)
    except ValueError as exc:
        for item in units:
            db.fail_item(db.db, item.id, str(exc))
        return _failed(job, plan_job, str(exc), units, row, done)
    data = new_text.encode("utf-8")
    out_sha = sha256(data)
    source, target = Path(row.source), Path(row.target)
    if not force and _sha_of(target) == out_sha:
        db.mark_file(db.db, row.no, WRITTEN, out_sha, None)  # written before a crash that lost the mark
        done.already += 1
        return _report(job, plan_job, "skipped", "already written", units, row)
    try:
        original = source.read_bytes()
    except OSError:
        original = None
    in_place = target == source or (original is not None and target.resolve() == source.resolve())
    stale = original is None or sha256(original) != row.src_sha
    publish_to, state, note = plan_job, WRITTEN, None
    if stale and not force:
        if in_place:
            beside = beside_of(source)
            publish_to, state = PlanJob(source, beside, row.shown), STALE
            note = f"{row.shown} changed since it was submitted: its rewrite is in {beside} (--force replaces it)"
        else:
            note = f"{row.shown} changed since it was submitted: {target} is the rewrite of the version sent"
    try:
        if not (state == STALE and _sha_of(publish_to.target) == out_sha):  # else: already beside it
            seams.publish(publish_to, original or b"", new_text, row.src_sha, backup=bool(m.get("backup", True)),
                          backup_dir=Path(m["backup_dir"]) if m.get("backup_dir") else None,
                          journal=journal, settings_id=str(m.get("settings_id") or ""))
    except OSError as exc:
        return _failed(job, plan_job, f"cannot write {publish_to.target}: {exc.strerror or exc}", units, row, done)
    db.mark_file(db.db, row.no, state, out_sha, note)
    if note:
        status.warn(note)
    if state == STALE:
        done.beside += 1
    else:
        done.written += 1
        done.stale += 1 if note else 0
    return _report(job, publish_to, "done", note or "", units, row)


def beside_of(source: Path) -> Path:
    return source.with_name(source.name + NEW_SUFFIX)


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
