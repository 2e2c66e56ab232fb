"""One file of a batch, start to finish: read, skip or send, retry, fall back, write safely.

Each unit of a file is one call through the same path as single mode: its request is
resolved by the run's :class:`llmcli.call.Call`, sent by :func:`llmcli.session.complete`
under the one retry policy (with ``replay``: nothing reaches the user before the file
is whole, so an answer that broke off is asked for again), and judged by
:func:`llmcli.session.check_answer` before anything is written.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .. import errors as E
from ..config import Profile
from ..inputs import Document
from .manifest import Journal, sha256
from .plan import Job
from .publish import Publishing, SourceChanged, publish
from .units import Layout, layout

if TYPE_CHECKING:
    from ..call import Call


@dataclass
class Result:
    job: Job
    status: str  # done | skipped | failed | interrupted | diff
    reason: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    attempts: int = 0
    chunks: int = 0
    profile: str = ""
    diff: str = ""

    def as_json(self) -> dict:
        return {
            "input": str(self.job.source), "output": str(self.job.target) if self.status == "done" else None,
            "status": self.status, "error": self.reason or None, "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out, "seconds": round(self.seconds, 3), "attempts": self.attempts,
            "chunks": self.chunks, "profile": self.profile or None,
        }


@dataclass
class Settings:
    """Everything a worker needs besides the job; shared, read-only."""

    call: "Call"  # what is sent, through which profiles, with which retry policy
    instruction: str  # -i (with a style: added to its task)
    max_chars: int
    markdown_safe: bool | None  # None: on for Markdown files
    clean: bool
    job_id: str  # the journal fingerprint
    force: bool
    diff: bool
    publishing: Publishing
    journal: Journal | None
    stop: threading.Event
    connections: "Connections"
    on_retry: Callable[[Job, str], None] | None = None  # (job, the retry's status line)


class Connections:
    """One backend (and so one SDK client and connection pool) and one rate limiter per profile.

    The client is made here, before the first request is dispatched: made lazily by the
    first worker, it delayed that worker's request past the next ones' rate-limit slots,
    and the first requests reached the server together.
    """

    def __init__(self, call: "Call", rpm_override: float | None) -> None:
        self.call, self.rpm_override = call, rpm_override
        self._lock = threading.Lock()
        self._made: dict[str, tuple] = {}

    def get(self, profile: Profile):
        with self._lock:
            if profile.name not in self._made:
                from ..providers import backend_for
                from .ratelimit import RateLimiter

                backend = backend_for(self.call.endpoint(profile))
                backend.warm()
                rpm = self.rpm_override or profile.rpm
                self._made[profile.name] = (backend, RateLimiter(rpm) if rpm else None)
            return self._made[profile.name]


@dataclass
class _Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    attempts: int = 0


def process(job: Job, s: Settings) -> Result:
    started = time.monotonic()
    result = _process(job, s)
    result.seconds = time.monotonic() - started
    return result


def _process(job: Job, s: Settings) -> Result:
    try:
        data = job.source.read_bytes()
    except OSError as exc:
        return Result(job, "failed", f"cannot read: {exc.strerror or exc}")
    text, why = text_of(job, data)
    if text is None:
        return Result(job, "skipped", why)
    if not text.strip():
        return Result(job, "skipped", "empty")
    input_sha = sha256(data)
    if not s.force and not s.diff and s.journal is not None and s.journal.is_done(job.source, job.target, s.job_id, input_sha):
        return Result(job, "skipped", "already done")
    markdown_safe = job.is_markdown if s.markdown_safe is None else s.markdown_safe
    plan = layout(text, max_chars=s.max_chars, markdown_safe=markdown_safe)
    if not plan.units:
        return Result(job, "skipped", "nothing to rewrite (only code or front matter)")

    usage = _Usage()
    failures: list[str] = []
    for index, profile in enumerate(s.call.profiles):
        if s.stop.is_set():
            return Result(job, "interrupted", "not started: interrupted", attempts=usage.attempts)
        try:
            new_text = _rewrite(job, plan, profile, s, usage)
        except E.Interrupted:
            return Result(job, "interrupted", "interrupted", usage.tokens_in, usage.tokens_out,
                          attempts=usage.attempts, chunks=len(plan.units), profile=profile.name)
        except (E.LlmcliError, ValueError) as err:
            failures.append(_reason(err, profile))
            continue
        result = Result(job, "done", "", usage.tokens_in, usage.tokens_out, attempts=usage.attempts,
                        chunks=len(plan.units), profile=profile.name)
        if index:
            result.reason = "via fallback after: " + "; ".join(failures)
        if s.diff:
            from ..diffview import unified

            result.status, result.diff = "diff", unified(text, new_text, str(job.source), str(job.target))
            return result
        try:
            publish(job, data, new_text, s.publishing)
        except SourceChanged as exc:
            result.status, result.reason = "failed", str(exc)
        except OSError as exc:
            where = exc.filename or job.target
            result.status, result.reason = "failed", f"cannot write {where}: {exc.strerror or exc}"
        return result
    return Result(job, "failed", " ; then ".join(failures), usage.tokens_in, usage.tokens_out,
                  attempts=usage.attempts, chunks=len(plan.units), profile=s.call.profiles[-1].name)


def text_of(job: Job, data: bytes) -> tuple[str | None, str]:
    """The file as text, or None and why not (single mode's decoder: one rule for binary and UTF-8)."""
    from ..inputs import decode

    label = str(job.source)
    try:
        return decode(data, label), ""
    except E.InputError as err:
        return None, str(err).removeprefix(f"{label}: ")


def _reason(err: BaseException, profile: Profile) -> str:
    text = str(err) or type(err).__name__
    if isinstance(err, ValueError):
        text = f"{profile.name}: {text}"
    return " ".join(text.split())


def _rewrite(job: Job, plan: Layout, profile: Profile, s: Settings, usage: _Usage) -> str:
    """Each unit through ``profile``; the file's new text, or an error (nothing is written then)."""
    from ..session import check_answer, complete

    backend, limiter = s.connections.get(profile)
    policy = s.call.policy(profile)

    def on_retry(err: E.ProviderError, wait: float, attempt: int) -> None:
        if s.on_retry is not None:
            s.on_retry(job, policy.describe(err, wait, attempt))

    def before_attempt() -> None:
        usage.attempts += 1
        if limiter is not None:
            limiter.acquire(s.stop)

    answers = []
    for unit in plan.units:
        composed = s.call.compose([Document(str(job.source), unit.core)], s.instruction)
        request = s.call.request(composed, profile)
        answer = complete(backend, request, policy=policy, clean_source=unit.core if s.clean else None,
                          replay=True, on_retry=on_retry, stop=s.stop, before_attempt=before_attempt)
        if answer.usage:
            usage.tokens_in += answer.usage.input_tokens or 0
            usage.tokens_out += answer.usage.output_tokens or 0
        check_answer(answer, replaces_text=True, chunked=len(plan.units) > 1)
        answers.append(answer.text)
    return plan.assemble(answers)
