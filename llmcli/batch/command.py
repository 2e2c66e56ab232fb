"""``llmcli batch``: from options to a plan, then a dry run, a review (``--diff``) or the run itself.

Every check that can fail on the user's input (paths, output mode, style,
profiles and their keys) runs before the first request, so a typo costs an
exit 2 and nothing else.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import errors as E
from .. import status
from ..call import CallFlags
from ..names import display_name
from ..render import write_stdout
from ..terminal import stdout_is_terminal

DEFAULT_CONCURRENCY = 4
DEFAULT_MAX_INPUT_CHARS = 24_000


@dataclass
class BatchOptions:
    call: CallFlags
    paths: Sequence[str]
    from_file: str | None = None
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    out: str | None = None
    suffix: str | None = None
    in_place: bool = False
    backup: bool = True
    backup_dir: str | None = None
    instruction: str | None = None
    jobs: int | None = None
    rpm: float | None = None
    max_input_chars: int | None = None
    markdown_safe: bool | None = None
    clean: bool = True
    force: bool = False
    dry_run: bool = False
    diff: bool = False
    report: str | None = None
    quiet: bool = False
    no_log: bool = False
    cache: bool | None = None  # None: the profile's `cache`
    provider_batch: bool = False  # hand the requests to the provider's batch engine (llmcli/jobs/)


def run_batch(o: BatchOptions) -> int:
    from ..call import Call
    from .plan import OutputMode, plan

    call = Call.resolve(o.call, with_fallbacks=True)
    if call.style is None and not o.instruction:
        raise E.UsageError("say what to do: -s STYLE (llmcli styles) or -i 'INSTRUCTION'")
    if o.provider_batch:
        _check_engine(call, o)
    mode = OutputMode.choose(o.out, o.suffix, o.in_place, needed=not (o.dry_run or o.diff))
    if o.backup_dir and not o.in_place:
        raise E.UsageError("--backup-dir goes with --in-place")
    from_list = _read_list(o.from_file) if o.from_file else []
    jobs = plan(o.paths, from_list=from_list, include=o.include, exclude=o.exclude, mode=mode)
    instruction = o.instruction or ""
    max_chars = o.max_input_chars or call.profile.max_input_chars or DEFAULT_MAX_INPUT_CHARS
    settings_id = call.fingerprint(instruction=instruction, max_chars=max_chars, markdown_safe=o.markdown_safe,
                                   clean=o.clean)

    from .manifest import Journal

    journal = None if o.diff else Journal()
    if o.dry_run:
        return _dry_run(jobs, o, call, max_chars, journal, settings_id)
    if o.provider_batch:
        return _submit(jobs, o, call, instruction, max_chars, settings_id)
    if journal is not None:
        _check_writable(journal.path, "the batch journal")

    from ..inputs import Document
    from .publish import Publishing
    from .work import Connections, Settings

    probe = call.compose([Document("<probe>", "<probe>")], instruction)
    for profile in call.profiles:  # a reasoning level a model cannot take: now, not in every file
        for warning in dict.fromkeys(call.check(call.request(probe, profile), profile)):
            status.warn(warning)
    connections = Connections(call, o.rpm)
    connections.get(call.profile)  # a missing key for the main profile is a config error now, not 400 failures
    workers = o.jobs or call.profile.concurrency or DEFAULT_CONCURRENCY
    from .progress import make_display, summary

    display = make_display(len(jobs), quiet=o.quiet, stdout_busy=o.diff and stdout_is_terminal())
    from .. import history

    log = history.Log(enabled=history.enabled(call.config, o.no_log))
    settings = Settings(
        log=log, cache=bool(o.cache if o.cache is not None else call.profile.cache),
        call=call, instruction=instruction, max_chars=max_chars, markdown_safe=o.markdown_safe, clean=o.clean,
        job_id=settings_id, force=o.force, diff=o.diff, journal=journal,
        publishing=Publishing(journal, settings_id, o.backup, Path(o.backup_dir) if o.backup_dir else None),
        stop=threading.Event(), connections=connections, on_retry=display.retry,
    )
    report = _Report(o.report) if o.report else None
    started = time.monotonic()
    diffs = _InOrder(jobs)

    def on_result(result) -> None:
        display.finished(result)
        if report:
            report.write(result)
        for diff in diffs.ready(result):
            write_stdout(diff)

    from .runner import run

    display.start()
    try:
        results, interrupted = run(jobs, settings, workers, on_result, display.note)
    finally:
        display.stop()
        for diff in diffs.rest():
            write_stdout(diff)
        if report:
            report.close()
        if journal is not None:
            journal.close()
        log.close()
    summary(results, len(jobs), time.monotonic() - started, quiet=o.quiet, interrupted=interrupted)
    if interrupted:
        from ..signals import interrupted_exit_code

        return interrupted_exit_code()
    if any(r.status == "failed" for r in results):
        return E.EXIT_PARTIAL
    return E.EXIT_OK


class _InOrder:
    """--diff prints the files' diffs in the order of the input list, whichever finishes first."""

    def __init__(self, jobs) -> None:
        self.position = {job: i for i, job in enumerate(jobs)}
        self.waiting: dict[int, str] = {}
        self.next = 0

    def ready(self, result) -> list[str]:
        self.waiting[self.position[result.job]] = result.diff if result.status == "diff" else ""
        out = []
        while self.next in self.waiting:
            diff = self.waiting.pop(self.next)
            if diff:
                out.append(diff)
            self.next += 1
        return out

    def rest(self) -> list[str]:
        """After an interrupted run: the diffs that came, in order, past the files that never finished."""
        out = [self.waiting[i] for i in sorted(self.waiting) if self.waiting[i]]
        self.waiting.clear()
        return out


def _check_engine(call, o: BatchOptions) -> None:
    """--provider-batch: the profile's provider must have a batch engine (else one line before anything is written)."""
    from ..providers.batch import unsupported

    if o.diff:
        raise E.UsageError("--provider-batch and --diff do not go together (review the fetched files instead)")
    why = unsupported(call.profile.provider, batch_flag=call.profile.batch)
    if why:
        raise E.UsageError(f"profile '{call.profile.name}': --provider-batch: {why}")


def _submit(jobs, o: BatchOptions, call, instruction: str, max_chars: int, settings_id: str) -> int:
    """Hand the batch to the provider's engine: each unit's request is the one a real-time call would send."""
    from .. import history
    from .. import jobs as provider_jobs
    from ..inputs import Document
    from ..jobs.submission import SubmitOptions

    def build_request(job, text: str):
        return call.request(call.compose([Document(str(job.source), text)], instruction))

    job_id = provider_jobs.submit(
        jobs, build_request, call.profile, endpoint=call.endpoint(call.profile), config_path=call.config.path,
        options=SubmitOptions(max_chars=max_chars, markdown_safe=o.markdown_safe, clean=o.clean, backup=o.backup,
                              backup_dir=Path(o.backup_dir) if o.backup_dir else None, settings_id=settings_id,
                              force=o.force, quiet=o.quiet, log=history.enabled(call.config, o.no_log)),
    )
    write_stdout(job_id + "\n")
    return E.EXIT_OK


def _check_writable(path: Path, what: str) -> None:
    """Before any request: a place the run must write to can be written (else every file would fail after paying)."""
    import os

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
    except OSError as exc:
        raise E.UsageError(
            f"cannot write {what} {path}: {exc.strerror or exc} "
            "(fix the permissions, or point XDG_STATE_HOME elsewhere)"
        ) from None


def _read_list(name: str) -> list[str]:
    try:
        if name == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        else:
            data = Path(name).read_bytes()
    except OSError as exc:
        raise E.InputError(f"--from {name}: {exc.strerror or exc}") from None
    from .plan import split_paths

    return split_paths(data)


def _dry_run(jobs, o: BatchOptions, call, max_chars: int, journal, job_id: str) -> int:
    from ..inputs import Document
    from .chunking import estimate_tokens
    from .manifest import sha256
    from .units import layout
    from .work import load

    lines = []
    total_tokens = total_units = runnable = 0
    empty = call.compose([Document("x", "")], o.instruction or "")
    overhead = estimate_tokens((call.request(empty).system or "") + empty.user)
    for job in jobs:
        loaded = load(job)
        if loaded.text is None:
            lines.append(f"fail  {job.shown}: {loaded.why}" if loaded.failed else f"skip  {job.shown} ({loaded.why})")
            continue
        data, text = loaded.data, loaded.text
        if not o.force and journal is not None and journal.is_done(job.source, job.target, job_id, sha256(data)):
            lines.append(f"skip  {job.shown} (already done)")
            continue
        md = job.is_markdown if o.markdown_safe is None else o.markdown_safe
        units = layout(text, max_chars=max_chars, markdown_safe=md).units
        sent = sum(estimate_tokens(u.core) for u in units) + overhead * len(units)
        total_tokens += sent
        total_units += len(units)
        runnable += 1
        if o.out is None and o.suffix is None and not o.in_place:
            arrow = ""  # no output mode: a plan for --diff, or before choosing one
        else:
            arrow = " (in place)" if o.in_place else f" -> {display_name(job.target)}"
        chunks = f", {len(units)} requests" if len(units) != 1 else ""
        lines.append(f"run   {job.shown}{arrow}  ~{sent} tokens in{chunks}")
    lines.append(f"{runnable} of {len(jobs)} files to rewrite, {total_units} requests, ~{total_tokens} input tokens "
                 f"(about as many out); no request made (--dry-run)")
    write_stdout("\n".join(lines) + "\n")
    return E.EXIT_OK


class _Report:
    """--report FILE.jsonl: one line per file, flushed as each finishes (a crash keeps what was done)."""

    def __init__(self, name: str) -> None:
        try:
            self.handle = open(name, "w", encoding="utf-8")
        except OSError as exc:
            raise E.UsageError(f"--report {name}: {exc.strerror or exc}") from None

    def write(self, result) -> None:
        from .manifest import json_line

        self.handle.write(json_line(result.as_json()) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()
