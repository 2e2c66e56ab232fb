"""``llmcli jobs list|status|fetch|cancel|retry``: what each command does, given its parsed options.

Each returns the exit code; stdout carries the command's answer (the list, the
status, JSON), stderr everything about the run.  The profile a job was
submitted with is looked up by the name its manifest stores, and its key
resolved, only when the provider has to be asked something: ``jobs list``
never touches the network, nor does a ``jobs fetch`` whose results are local.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import errors as E
from .. import status
from ..render import write_stdout
from . import store
from .store import CREATED, Job

DEFAULT_INTERVAL = 30.0
MAX_INTERVAL = 600.0
BACKOFF = 1.5
RETRY_STATES = ("errored", "expired", "canceled", "missing")
DEFAULT_RETRY = ("errored", "expired", "missing")


class Connection:
    """A job's call settings, profile, endpoint and engine (from today's config), each made once, when first needed.

    The engine, the history's recorder and a real-time retry all use them: the config is read once
    and a key command runs once, however many polls a command makes.
    """

    def __init__(self, job: Job, config_path: Path | None, timeout: float | None = None) -> None:
        self.job, self.config_path, self.timeout = job, config_path, timeout
        self._call: Any = None
        self._profile: Any = None
        self._endpoint: Any = None
        self._engine: Any = None

    def call(self) -> Any:
        if self._call is None:
            from . import seams

            self._call = seams.call(self.config_path, self.timeout)
        return self._call

    def profile(self) -> Any:
        if self._profile is None:
            job = self.job
            profile = self.call().config.profile(str(job.manifest["profile"]), source=f"job {job.id}")
            if profile.provider != job.manifest["provider"]:
                raise E.ConfigError(f"profile '{profile.name}' is now a {profile.provider} profile; job {job.id} "
                                    f"was submitted to {job.manifest['provider']}")
            self._profile = profile
        return self._profile

    def endpoint(self) -> Any:
        if self._endpoint is None:
            self._endpoint = self.call().endpoint(self.profile())
        return self._endpoint

    def engine(self) -> Any:
        if self._engine is None:
            from ..providers.batch import engine_for

            self._engine = engine_for(self.endpoint(), window=self.job.manifest.get("window"))
        return self._engine

    def recorder(self) -> Any:
        """The history's recorder for this job's results (jobs/recording.py), or None when they are not logged."""
        from .recording import recorder

        return recorder(self.job, self.endpoint, lambda: self.call().config)


def engine_factory(job: Job, config_path: Path | None, timeout: float | None = None) -> Callable[[], Any]:
    """The job's engine, built from its profile (by name, from today's config) when first needed."""
    return Connection(job, config_path, timeout).engine


@contextlib.contextmanager
def recording(connection: Connection) -> Iterator[Any]:
    """The connection's recorder for the length of a command (its history file closed after)."""
    record = connection.recorder()
    try:
        yield record
    finally:
        if record is not None:
            record.close()


def interruptible(command: Callable[..., int]) -> Callable[..., int]:
    """Ctrl-C: one line and exit 130 (Typer would swallow it silently); every step before it is saved."""
    import functools

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> int:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            raise E.Interrupted("interrupted (nothing is lost: run the same command again)") from None

    return run


def _open(job_id: str, state_dir: Path | None) -> Job:
    return store.find(store.jobs_root(state_dir), job_id)


# -- list ---------------------------------------------------------------------------------------


def list_jobs(*, as_json: bool = False, state_dir: Path | None = None) -> int:
    jobs = store.all_jobs(store.jobs_root(state_dir))
    rows = [summary(job) for job in jobs]
    if as_json:
        write_stdout(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return E.EXIT_OK
    if not rows:
        status.note("no provider batch jobs yet (llmcli batch … --provider-batch)")
        return E.EXIT_OK
    lines = [f"{'JOB':<22} {'PROFILE':<12} {'STATE':<11} {'ITEMS':>7} {'DONE':>7} {'FAILED':>7} {'AGE':>6}  EXPIRES"]
    for r in rows:
        lines.append(f"{r['job']:<22} {r['profile']:<12} {r['state']:<11} {r['items']:>7} {r['succeeded']:>7} "
                     f"{r['failed']:>7} {_age(r['created_at']):>6}  {_until(r['expires_at'])}")
    write_stdout("\n".join(lines) + "\n")
    return E.EXIT_OK


def summary(job: Job) -> dict[str, Any]:
    """What ``jobs list`` shows of a job, from its manifest alone."""
    m = job.manifest
    counts = m.get("counts") or {}
    items = int((m.get("totals") or {}).get("items", 0))
    failed = sum(int(counts.get(k, 0)) for k in RETRY_STATES)
    expiries = [c["remote"].get("expires_at") for c in job.chunks
                if c.get("step") == CREATED and not c.get("ingested") and c["remote"].get("expires_at")]
    return {
        "job": job.id, "profile": m.get("profile"), "provider": m.get("provider"), "state": job_state(job),
        "files": int((m.get("totals") or {}).get("files", 0)), "items": items,
        "succeeded": int(counts.get("succeeded", 0)), "failed": failed,
        "pending": int(counts.get("pending", items if not counts else 0)),
        "written": int((m.get("file_counts") or {}).get("written", 0)),
        "created_at": m.get("created_at"), "expires_at": min(expiries) if expiries else None,
        "usage": m.get("usage") or {},
    }


def job_state(job: Job) -> str:
    m = job.manifest
    if m.get("done"):
        return "fetched"
    if m.get("state") != "submitted":
        return "submitting" if m.get("state") != "preparing" else "preparing"
    created = [c for c in job.chunks if c.get("step") == CREATED]
    if created and all(c.get("ingested") for c in created):
        return "ended"
    states = {c["remote"].get("state") for c in created if not c.get("ingested")}
    if "cancelling" in states:
        return "cancelling"
    return "running" if states - {"queued"} else "queued"


def _age(created: float | None) -> str:
    return _span(time.time() - created) if created else "-"


def _until(when: float | None) -> str:
    if not when:
        return "-"
    left = when - time.time()
    return f"in {_span(left)}" if left > 0 else f"{_span(-left)} ago"


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


# -- status -------------------------------------------------------------------------------------


@interruptible
def show_status(job_id: str, *, wait: bool = False, interval: float | None = None, as_json: bool = False,
                config_path: Path | None = None, state_dir: Path | None = None,
                sleep: Callable[[float], None] | None = None) -> int:
    from .refresh import all_ended, refresh, unfinished

    job = _open(job_id, state_dir)
    connection = Connection(job, config_path)
    delay = interval if interval is not None else DEFAULT_INTERVAL
    code = E.EXIT_OK
    try:
        with job.lock(), recording(connection) as record:
            while True:
                seen = refresh(job, connection.engine, record=record)
                pending = unfinished(job)
                if seen.errors and not wait:
                    for line in seen.errors:
                        status.error(line)
                    code = E.EXIT_PROVIDER
                if not wait or not pending:
                    break
                wait_for = delay
                if seen.errors:
                    status.warn(f"{len(seen.errors)} batch{'es' if len(seen.errors) > 1 else ''} could not be "
                                f"polled ({seen.errors[0]}); trying again")
                    wait_for = max(delay, seen.retry_after or 0.0)
                status.note(f"job {job.id}: {_counts_line(job)}; next poll in {wait_for:.0f} s")
                (sleep or time.sleep)(wait_for)
                delay = min(delay * BACKOFF, MAX_INTERVAL)
            done = all_ended(job)
    finally:
        job.close()
    _print_status(job, as_json=as_json)
    if wait and done:
        status.note(f"job {job.id}: every batch ended; llmcli jobs fetch {job.id} writes the files")
    return code


def _counts_line(job: Job) -> str:
    counts = job.manifest.get("counts") or {}
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no requests"


def _print_status(job: Job, *, as_json: bool) -> None:
    m = job.manifest
    info = summary(job)
    chunks = []
    for c in job.chunks:
        remote = c.get("remote") or {}
        chunks.append({
            "chunk": c["no"], "step": c.get("step"), "batch": c.get("batch_id"), "state": remote.get("state"),
            "provider_status": remote.get("status"), "requests": c.get("count"), "counts": remote.get("counts"),
            "expires_at": remote.get("expires_at"), "results_downloaded": bool(c.get("raw_done")),
            "error": remote.get("error"), "attempt": c.get("attempt", 1),
        })
    if as_json:
        out = {**info, "counts": m.get("counts") or {}, "file_counts": m.get("file_counts") or {}, "chunks": chunks}
        write_stdout(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
        return
    lines = [f"job {job.id}  profile {m.get('profile')} ({m.get('provider')})  {info['state']}  "
             f"created {_age(m.get('created_at'))} ago" + (f"  expires {_until(info['expires_at'])}"
                                                            if info["expires_at"] else "")]
    for c in chunks:
        what = c["state"] or c["step"]
        detail = f" ({c['provider_status']})" if c["provider_status"] and c["provider_status"] != what else ""
        counts = ", ".join(f"{k} {v}" for k, v in (c["counts"] or {}).items() if v)
        lines.append(f"  batch {c['chunk']}: {c['batch'] or '(not created)'}  {what}{detail}  {c['requests']} requests"
                     + (f"  [{counts}]" if counts else "") + ("  results downloaded" if c["results_downloaded"] else "")
                     + (f"  error: {c['error']}" if c["error"] else ""))
    if m.get("state") != "submitted":
        lines.append("submission incomplete: run the same llmcli batch command again (nothing is sent twice)")
    lines.append(f"requests: {_counts_line(job)}")
    files = m.get("file_counts") or {}
    lines.append(f"files: {info['files']}, written {files.get('written', 0)}"
                 + (f", beside a changed source {files['stale']}" if files.get("stale") else ""))
    usage = m.get("usage") or {}
    if usage.get("input_tokens") or usage.get("output_tokens"):
        lines.append(f"tokens in / out: {usage.get('input_tokens', 0)} / {usage.get('output_tokens', 0)}")
    write_stdout("\n".join(lines) + "\n")


# -- fetch --------------------------------------------------------------------------------------


@interruptible
def fetch_job(job_id: str, *, force: bool = False, report: str | None = None, quiet: bool = False,
              config_path: Path | None = None, state_dir: Path | None = None) -> int:
    from .fetch import fetch

    job = _open(job_id, state_dir)
    handle = None
    if report:
        try:
            handle = open(report, "w", encoding="utf-8")
        except OSError as exc:
            raise E.UsageError(f"--report {report}: {exc.strerror or exc}") from None
    try:
        connection = Connection(job, config_path)
        with job.lock(), recording(connection) as record:
            done = fetch(job, connection.engine, force=force, report=handle, quiet=quiet, record=record)
    finally:
        job.close()
        if handle is not None:
            handle.close()
    return done.exit_code


# -- cancel -------------------------------------------------------------------------------------


@interruptible
def cancel_job(job_id: str, *, config_path: Path | None = None, state_dir: Path | None = None) -> int:
    from ..providers.batch import Remote
    from .refresh import update_counts
    from .submission import adopt

    job = _open(job_id, state_dir)
    make = engine_factory(job, config_path)
    engine = None
    asked = withdrawn = 0
    try:
        with job.lock():
            for chunk in job.chunks:
                step = chunk.get("step")
                if step == store.WITHDRAWN:
                    continue
                if step == store.CREATING:  # maybe created before a crash: find it, so it is cancelled too
                    engine = engine or make()
                    if adopt(job, engine, chunk):
                        step = CREATED
                if step != CREATED:
                    db = job.items()
                    with db.transaction() as tx:
                        db.close_chunk(tx, chunk["no"], "canceled", "cancelled before it was submitted")
                    chunk["step"] = store.WITHDRAWN
                    job.save()
                    withdrawn += 1
                    continue
                if chunk.get("ingested") or Remote.from_dict(chunk["remote"]).ended:
                    continue
                engine = engine or make()
                chunk["remote"] = engine.cancel(chunk["batch_id"]).as_dict()
                job.save()
                asked += 1
            if withdrawn and job.manifest.get("state") != "submitted":
                job.manifest["state"] = "submitted"
                job.save()
            update_counts(job)
    finally:
        job.close()
    if not asked and not withdrawn:
        status.note(f"job {job.id}: nothing to cancel (every batch has ended)")
    else:
        status.note(f"job {job.id}: cancel asked for {asked} batch{'es' if asked != 1 else ''}"
                    + (f", {withdrawn} never submitted withdrawn" if withdrawn else "")
                    + f"; llmcli jobs fetch {job.id} writes what finished")
    return E.EXIT_OK


# -- retry --------------------------------------------------------------------------------------


def parse_only(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_RETRY
    wanted = tuple(dict.fromkeys(w.strip().lower().replace("cancelled", "canceled") for w in text.split(",")
                                 if w.strip()))
    bad = [w for w in wanted if w not in RETRY_STATES]
    if bad or not wanted:
        raise E.UsageError(f"--only {text}: expected a comma-separated list of {', '.join(RETRY_STATES)}")
    return wanted


@interruptible
def retry_job(job_id: str, *, only: str | None = None, sync: bool = False, config_path: Path | None = None,
              state_dir: Path | None = None) -> int:
    from .retry import retry, retry_sync

    states = parse_only(only)
    job = _open(job_id, state_dir)
    try:
        with job.lock():
            if sync:
                return retry_sync(job, states, Connection(job, config_path))
            return retry(job, states, engine_factory(job, config_path))
    finally:
        job.close()
