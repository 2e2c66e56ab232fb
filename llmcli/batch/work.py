"""One file of a batch, start to finish: read, skip or send, retry, fall back, write safely.

Retries use tenacity rather than ``llmcli.retry``: in a batch nothing reaches
the user before the whole file is done, so a failed call can simply be made
again, and a library's exponential backoff with jitter and ``Retry-After``
(capped by ``--max-wait``) is exactly the policy wanted.  Sleeps wait on the
run's stop event, so Ctrl-C never waits out a backoff.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import errors as E
from ..atomic import atomic_write_bytes, keep_backup, remove_stale_temps
from ..config import Profile
from ..providers.base import Message, Request
from .manifest import Journal, sha256
from .plan import Job
from .units import Layout, layout

CUT_REASONS = ("length", "max_tokens", "MAX_TOKENS")


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

    compose: Callable[[str, str], tuple[str | None, str]]  # (label, text) -> (system, user)
    profiles: list[Profile]  # the profile, then its fallbacks
    model: str | None  # -m (for the first profile only)
    temperature: float | None
    max_tokens: int | None
    retries: int
    max_wait: float
    max_chars: int
    markdown_safe: bool | None  # None: on for Markdown files
    clean: bool
    job_id: str  # the journal fingerprint
    force: bool
    diff: bool
    backup: bool
    backup_dir: Path | None
    journal: Journal | None
    stop: threading.Event
    connections: "Connections"
    on_retry: Callable[[Job, E.ProviderError, float, int], None] | None = None


class Connections:
    """One endpoint, backend (and so SDK client and connection pool) and rate limiter per profile."""

    def __init__(self, config_path: Path | None, timeout: float | None, rpm_override: float | None) -> None:
        self.config_path, self.timeout, self.rpm_override = config_path, timeout, rpm_override
        self._lock = threading.Lock()
        self._made: dict[str, tuple] = {}

    def get(self, profile: Profile):
        with self._lock:
            if profile.name not in self._made:
                from ..providers import backend_for
                from ..session import endpoint_for
                from .ratelimit import RateLimiter

                endpoint = endpoint_for(profile, timeout=self.timeout, config_path=self.config_path)
                rpm = self.rpm_override or profile.rpm
                self._made[profile.name] = (endpoint, backend_for(endpoint), RateLimiter(rpm) if rpm else None)
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
    text, why = _decode(data)
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
    for index, profile in enumerate(s.profiles):
        if s.stop.is_set():
            return Result(job, "interrupted", "not started: interrupted", attempts=usage.attempts)
        try:
            new_text = _rewrite(job, plan, profile, s, usage, model=s.model if index == 0 else None)
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
            _write(job, data, new_text, input_sha, s)
        except OSError as exc:
            result.status, result.reason = "failed", f"cannot write {job.target}: {exc.strerror or exc}"
        return result
    return Result(job, "failed", " ; then ".join(failures), usage.tokens_in, usage.tokens_out,
                  attempts=usage.attempts, chunks=len(plan.units), profile=s.profiles[-1].name)


def _decode(data: bytes) -> tuple[str | None, str]:
    if b"\0" in data[:8192]:
        return None, "binary file"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start})"
    return text, ""


def _reason(err: BaseException, profile: Profile) -> str:
    text = str(err) or type(err).__name__
    if isinstance(err, ValueError):
        text = f"{profile.name}: {text}"
    return " ".join(text.split())


def _rewrite(job: Job, plan: Layout, profile: Profile, s: Settings, usage: _Usage, *, model: str | None) -> str:
    from ..clean import clean_answer

    endpoint, backend, limiter = s.connections.get(profile)
    answers = []
    for unit in plan.units:
        system, user = s.compose(str(job.source), unit.core)
        request = Request(
            messages=(Message("user", user),),
            model=model or profile.model,
            system=system if system is not None else profile.system,
            temperature=s.temperature if s.temperature is not None else profile.temperature,
            max_tokens=s.max_tokens if s.max_tokens is not None else profile.max_tokens,
        )
        answer = _call(job, endpoint, backend, limiter, request, s, usage)
        text = clean_answer(answer, unit.core) if s.clean else answer
        if not text.strip():
            raise E.StreamError("the model returned no text", profile=profile.name)
        answers.append(text)
    return plan.assemble(answers)


def _call(job, endpoint, backend, limiter, request, s: Settings, usage: _Usage) -> str:
    from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

    from ..session import complete

    backoff = wait_exponential_jitter(initial=1, max=30, jitter=1)

    def wait(state: RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        after = getattr(err, "retry_after", None)
        return min(after, s.max_wait) if after is not None else min(backoff(state), s.max_wait)

    def sleep(seconds: float) -> None:
        if s.stop.wait(seconds):
            raise E.Interrupted("interrupted")

    def before_sleep(state: RetryCallState) -> None:
        if s.on_retry is not None and state.outcome is not None and state.next_action is not None:
            s.on_retry(job, state.outcome.exception(), state.next_action.sleep, state.attempt_number)

    def attempt() -> str:
        if s.stop.is_set():
            raise E.Interrupted("interrupted")
        if limiter is not None:
            limiter.acquire(s.stop)
        usage.attempts += 1
        answer = complete(endpoint, request, retries=0, backend=backend)
        if answer.usage:
            usage.tokens_in += answer.usage.input_tokens or 0
            usage.tokens_out += answer.usage.output_tokens or 0
        if answer.finish_reason in CUT_REASONS:
            raise E.StreamError(
                "the answer was cut at the token limit (raise --max-tokens, or lower --max-input-chars)",
                profile=endpoint.profile,
            )
        return answer.text

    retrying = Retrying(
        stop=stop_after_attempt(s.retries + 1),
        wait=wait,
        retry=retry_if_exception(lambda e: isinstance(e, E.ProviderError) and e.retryable),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(attempt)


def _write(job: Job, original: bytes, new_text: str, input_sha: str, s: Settings) -> None:
    data = new_text.encode("utf-8")
    target = job.target
    in_place = target.resolve() == job.source.resolve()
    if in_place:
        target = job.source.resolve()  # through a symlink: rewrite the file, keep the link
    if in_place and s.backup:
        _backup(job, original, s.backup_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    output_sha = sha256(data)

    def journal() -> None:
        if s.journal is not None:
            s.journal.record(job.source, target, s.job_id, input_sha, output_sha)

    mode = job.source.stat().st_mode & 0o7777 if not target.exists() else None
    atomic_write_bytes(target, data, mode=mode, before_replace=journal)


def _backup(job: Job, original: bytes, backup_dir: Path | None) -> Path:
    """FILE.bak (or under --backup-dir, mirroring the path below the current directory)."""
    if backup_dir is None:
        return keep_backup(job.source, original)
    source, cwd = job.source.resolve(), Path.cwd().resolve()
    relative = source.relative_to(cwd) if source.is_relative_to(cwd) else Path(job.source.name)
    return keep_backup(job.source, original, backup_dir / relative)
