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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import errors as E
from ..config import Profile
from ..inputs import MAX_INPUT_BYTES, Document, decode, read_bounded
from .manifest import Journal, sha256
from .plan import Job
from .publish import Publishing, SourceChanged, publish
from .units import Layout, LinkTokensLost, Unit, layout

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
    tokens_reasoning: int = 0  # of tokens_out
    cached: bool = False  # every unit answered from the history (--cache): no request, no tokens

    def as_json(self) -> dict:
        return {
            "input": str(self.job.source), "output": str(self.job.target) if self.status == "done" else None,
            "status": self.status, "error": self.reason or None, "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out, "tokens_reasoning": self.tokens_reasoning,
            "seconds": round(self.seconds, 3), "attempts": self.attempts,
            "chunks": self.chunks, "profile": self.profile or None, "cached": self.cached,
        }


@dataclass
class Settings:
    """Everything a worker needs besides the job; shared, read-only."""

    call: Call  # what is sent, through which profiles, with which retry policy
    instruction: str  # -i (with a style: added to its task)
    max_chars: int
    markdown_safe: bool | None  # None: on for Markdown files
    clean: bool
    job_id: str  # the journal fingerprint
    force: bool
    diff: bool
    publishing: Publishing
    journal: Journal | None
    log: Any  # llmcli.history.Log, or None: nothing recorded, nothing cached
    cache: bool  # --cache / the profile's cache
    stop: threading.Event
    connections: Connections
    on_retry: Callable[[Job, str], None] | None = None  # (job, the retry's status line)


class Connections:
    """One backend (and so one SDK client and connection pool) and one rate limiter per profile.

    The client is made here, before the first request is dispatched: made lazily by the
    first worker, it delayed that worker's request past the next ones' rate-limit slots,
    and the first requests reached the server together.
    """

    def __init__(self, call: Call, rpm_override: float | None) -> None:
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
    tokens_reasoning: int = 0
    attempts: int = 0
    cached: int = 0  # units answered from the history
    all_cached: bool = False

    def add(self, answer) -> None:
        if answer.usage:
            self.tokens_in += answer.usage.input_tokens or 0
            self.tokens_out += answer.usage.output_tokens or 0
            self.tokens_reasoning += answer.usage.reasoning_tokens or 0

    def result(self, job: Job, status: str, reason: str, plan: Layout, profile: Profile) -> Result:
        return Result(job, status, reason, self.tokens_in, self.tokens_out, attempts=self.attempts,
                      chunks=len(plan.units), profile=profile.name, tokens_reasoning=self.tokens_reasoning,
                      cached=self.all_cached)


def process(job: Job, s: Settings) -> Result:
    started = time.monotonic()
    result = _process(job, s)
    result.seconds = time.monotonic() - started
    return result


def read_input(job: Job) -> bytes:
    """A file's bytes, read as single mode reads ``-f FILE``: at most its input limit (then InputError)."""
    return read_bounded(job.source, MAX_INPUT_BYTES, label=job.shown)


@dataclass
class Loaded:
    """A batch input as read: its bytes and text, or why there is nothing to send."""

    data: bytes
    text: str | None  # None: skipped (``why``), or unreadable (``failed``)
    why: str = ""
    failed: bool = False  # could not be read at all (OSError), not merely skipped


def load(job: Job) -> Loaded:
    """A file as every batch reads it (local batch, --dry-run, provider batch): bounded, decoded, not empty."""
    try:
        data = read_input(job)
    except OSError as exc:
        return Loaded(b"", None, f"cannot read: {exc.strerror or exc}", failed=True)
    except E.InputError as exc:
        return Loaded(b"", None, str(exc).removeprefix(f"{job.shown}: "))
    text, why = text_of(job, data)
    if text is None:
        return Loaded(data, None, why)
    if not text.strip():
        return Loaded(data, None, "empty")
    return Loaded(data, text)


def _process(job: Job, s: Settings) -> Result:
    loaded = load(job)
    if loaded.text is None:
        return Result(job, "failed" if loaded.failed else "skipped", loaded.why)
    data, text = loaded.data, loaded.text
    input_sha = sha256(data)
    journal = None if s.force or s.diff else s.journal
    if journal is not None and journal.is_done(job.source, job.target, s.job_id, input_sha):
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
            return usage.result(job, "interrupted", "interrupted", plan, profile)
        except (E.LlmcliError, ValueError) as err:
            failures.append(_reason(err, profile))
            continue
        result = usage.result(job, "done", "", plan, profile)
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
    return usage.result(job, "failed", " ; then ".join(failures), plan, s.call.profiles[-1])


def text_of(job: Job, data: bytes) -> tuple[str | None, str]:
    """The file as text, or None and why not (single mode's decoder: one rule for binary and UTF-8)."""
    label = job.shown
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
    from ..history import new_id, request_key
    from ..session import cached_answer, check_answer, complete

    backend, limiter = s.connections.get(profile)
    policy = s.call.policy(profile)

    def on_retry(err: E.ProviderError, wait: float, attempt: int) -> None:
        if s.on_retry is not None:
            s.on_retry(job, policy.describe(err, wait, attempt))

    def before_attempt() -> None:
        usage.attempts += 1
        if limiter is not None:
            limiter.acquire(s.stop)

    chunked = len(plan.units) > 1
    conversation = new_id() if chunked else None  # a file's chunks are one conversation

    def ask(number: int, unit: Unit, *, use_cache: bool = True) -> str:
        composed = s.call.compose([Document(str(job.source), unit.core)], s.instruction)
        request = s.call.request(composed, profile)
        fields = {
            "endpoint": backend.endpoint, "request": request, "mode": "batch",
            "source": f"{job.source}#chunk {number}" if chunked else str(job.source),
            "style": s.call.style.name if s.call.style else None, "variables": dict(s.call.values) or None,
            "instruction": s.instruction or None, "input_text": unit.core, "conversation_id": conversation,
        }
        hit = s.log.lookup(request_key(backend.endpoint.kind, backend.endpoint.base_url, request)) \
            if use_cache and s.cache and s.log is not None else None
        if hit is not None:
            answer = cached_answer(hit, backend.endpoint)
            usage.cached += 1
        else:
            try:
                answer = complete(backend, request, policy=policy, clean_source=unit.core if s.clean else None,
                                  think_open=s.call.think_tags_open(profile), replay=True, on_retry=on_retry,
                                  stop=s.stop, before_attempt=before_attempt)
            except (E.ProviderError, E.Interrupted) as err:
                if s.log is not None:
                    how = "interrupted" if isinstance(err, E.Interrupted) else "error"
                    s.log.record(status=how, error=err, **fields)
                raise
            usage.add(answer)
        if s.log is not None:
            s.log.record(result=answer, cached=answer.cached, **fields)  # before the check: a paid answer is kept
        check_answer(answer, replaces_text=True, chunked=chunked)
        return answer.text

    answers = [ask(number, unit) for number, unit in enumerate(plan.units, 1)]
    usage.all_cached = usage.cached == len(plan.units)
    try:
        return plan.assemble(answers)
    except LinkTokensLost as lost:
        # Small models drop a link token now and then; a fresh answer usually keeps it (never the cached one).
        for index in lost.units:
            answers[index] = ask(index + 1, plan.units[index], use_cache=False)
        try:
            return plan.assemble(answers)
        except LinkTokensLost as again:
            raise again.with_attempts(2) from None
