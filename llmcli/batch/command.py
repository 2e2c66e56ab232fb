"""``llmcli batch``: from options to a plan, then a dry run, a review (``--diff``) or the run itself.

Every check that can fail on the user's input (paths, output mode, style,
profiles and their keys) runs before the first request, so a typo costs an
exit 2 and nothing else.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import config as C
from .. import errors as E
from .. import status
from ..render import write_stdout

DEFAULT_CONCURRENCY = 4
DEFAULT_MAX_INPUT_CHARS = 24_000
DEFAULT_RETRIES = 4
DEFAULT_MAX_WAIT = 60.0


@dataclass
class BatchOptions:
    paths: Sequence[str]
    from_file: str | None = None
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    out: str | None = None
    suffix: str | None = None
    in_place: bool = False
    backup: bool = True
    backup_dir: str | None = None
    style: str | None = None
    to: str | None = None
    variables: Sequence[str] = ()
    instruction: str | None = None
    profile: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    system: str | None = None
    timeout: float | None = None
    jobs: int | None = None
    rpm: float | None = None
    retries: int | None = None
    max_wait: float | None = None
    max_input_chars: int | None = None
    markdown_safe: bool | None = None
    clean: bool = True
    force: bool = False
    dry_run: bool = False
    diff: bool = False
    report: str | None = None
    quiet: bool = False
    config_path: str | None = None


def run_batch(o: BatchOptions) -> int:
    from .plan import OutputMode, plan

    config = C.load(o.config_path)
    style, values = _style(config, o)
    profile = config.select(o.profile or (style.profile if style else None))
    profiles = [profile] + [config.profile(name) for name in profile.fallback]
    mode = OutputMode.choose(o.out, o.suffix, o.in_place, needed=not (o.dry_run or o.diff))
    if o.backup_dir and not o.in_place:
        raise E.UsageError("--backup-dir goes with --in-place")
    from_list = _read_list(o.from_file) if o.from_file else []
    jobs = plan(o.paths, from_list=from_list, include=o.include, exclude=o.exclude, mode=mode)
    compose = _composer(style, values, o)
    max_chars = o.max_input_chars or profile.max_input_chars or DEFAULT_MAX_INPUT_CHARS
    settings_id = _job_id(style, o, profile, max_chars, compose)

    from .manifest import Journal

    journal = None if o.diff else Journal()
    if o.dry_run:
        return _dry_run(jobs, o, max_chars, journal, settings_id, compose)

    from .work import Connections, Settings

    connections = Connections(config.path, o.timeout, o.rpm)
    connections.get(profile)  # a missing key for the main profile is a config error now, not 400 failures
    workers = o.jobs or profile.concurrency or DEFAULT_CONCURRENCY
    from .progress import make_display, summary

    from ..terminal import stdout_is_terminal

    display = make_display(len(jobs), quiet=o.quiet, stdout_busy=o.diff and stdout_is_terminal())
    settings = Settings(
        compose=compose, profiles=profiles, model=o.model or (style.model if style else None),
        temperature=o.temperature if o.temperature is not None else (style.temperature if style else None),
        max_tokens=o.max_tokens, retries=o.retries if o.retries is not None else DEFAULT_RETRIES,
        max_wait=o.max_wait if o.max_wait is not None else DEFAULT_MAX_WAIT, max_chars=max_chars,
        markdown_safe=o.markdown_safe, clean=o.clean, job_id=settings_id, force=o.force, diff=o.diff,
        backup=o.backup, backup_dir=Path(o.backup_dir) if o.backup_dir else None, journal=journal,
        stop=threading.Event(), connections=connections, on_retry=display.retry,
    )
    report = _Report(o.report) if o.report else None
    started = time.monotonic()

    def on_result(result) -> None:
        display.finished(result)
        if report:
            report.write(result)
        if result.status == "diff" and result.diff:
            write_stdout(result.diff)

    from .runner import run

    display.start()
    try:
        results, interrupted = run(jobs, settings, workers, on_result, display.note)
    finally:
        display.stop()
        if report:
            report.close()
        if journal is not None:
            journal.close()
    summary(results, len(jobs), time.monotonic() - started, quiet=o.quiet, interrupted=interrupted)
    if interrupted:
        return E.EXIT_INTERRUPTED
    if any(r.status == "failed" for r in results):
        return E.EXIT_PARTIAL
    return E.EXIT_OK


def _style(config, o: BatchOptions):
    """The style and its variable values, as in single mode; with neither style nor -i, nothing to do."""
    from .. import presets

    style, values = presets.choose(o.style, to=o.to, variables=o.variables, templates=config.templates)
    if style is None and not o.instruction:
        raise E.UsageError("say what to do: -s STYLE (llmcli styles) or -i 'INSTRUCTION'")
    return style, values


def _composer(style, values: dict[str, str], o: BatchOptions):
    """(label, text) -> (system, user): the same messages single mode would send for this text."""
    from .. import presets
    from ..inputs import Document
    from ..prompt import DEFAULT_SYSTEM, delimited

    if style is None:
        # An instruction over a file: the styles' rules apply (the answer is the text only).
        system = o.system if o.system is not None else presets.RULES

        def compose_plain(label: str, text: str):
            return system, (o.instruction or "") + "\n\n" + delimited([Document(label, text)])

        return compose_plain

    def compose_style(label: str, text: str):
        msgs = presets.compose(style, [Document(label, text)], extra=o.instruction or "", variables=values)
        system = o.system if o.system is not None else msgs.system
        return (system if system is not None else DEFAULT_SYSTEM), msgs.user

    return compose_style


def _job_id(style, o: BatchOptions, profile, max_chars: int, compose) -> str:
    from .manifest import fingerprint

    system, user = compose("<probe>", "<probe>")
    return fingerprint({
        "system": system, "user": user, "profile": profile.name, "model": o.model or profile.model,
        "temperature": o.temperature, "max_tokens": o.max_tokens, "max_chars": max_chars,
        "markdown_safe": o.markdown_safe, "clean": o.clean,
    })


def _read_list(name: str) -> list[str]:
    try:
        if name == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        else:
            data = Path(name).read_bytes()
    except OSError as exc:
        raise E.InputError(f"--from {name}: {exc.strerror or exc}") from None
    return data.decode("utf-8", "replace").splitlines()


def _dry_run(jobs, o: BatchOptions, max_chars: int, journal, job_id: str, compose) -> int:
    from .chunking import estimate_tokens
    from .manifest import sha256
    from .units import layout
    from .work import _decode

    lines = []
    total_tokens = total_units = runnable = 0
    overhead = estimate_tokens("".join(compose("x", "")))
    for job in jobs:
        try:
            data = job.source.read_bytes()
        except OSError as exc:
            lines.append(f"fail  {job.shown}: cannot read: {exc.strerror}")
            continue
        text, why = _decode(data)
        if text is None or not text.strip():
            lines.append(f"skip  {job.shown} ({why or 'empty'})")
            continue
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
            arrow = " (in place)" if o.in_place else f" -> {job.target}"
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
        self.handle.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()
