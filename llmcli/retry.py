"""The one retry policy, for single mode and batch alike (every SDK's own retries are off).

- What is retried: errors whose class says so (429, 5xx, timeouts, failed connections, an
  answer cut off mid-stream), up to ``retries`` times (the profile's ``retries``, or ``--retries``).
- How long to wait: the server's ``Retry-After`` when it gives one; otherwise exponential
  backoff (1, 2, 4 … s, at most 20) with up to a second of jitter, so workers that failed
  together do not come back together.  No wait is longer than ``max_wait`` (``--max-wait``,
  the profile's ``max_wait``, default 60 s): a ``Retry-After`` beyond it is not waited for but
  reported, with its delay, and the user decides.
- When a retry is allowed at all: only while nothing of the answer has reached the user.  Single
  mode streams words to the terminal, so it retries only before the first word; batch shows
  nothing before a file is whole, so it also replays an answer that broke off (the caller says
  which, see :func:`retrying`).
- Stopping: the sleep between attempts waits on a stop event, so Ctrl-C (or a batch's
  stop) never waits a backoff out.

tenacity runs the attempts: it is the well-kept engine for exactly this (wait strategies,
stop conditions, a sleep hook); this module only states the rules.  It is imported when a
call is made, never at start-up.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from . import errors as E

DEFAULT_MAX_WAIT = 60.0  # seconds: the longest wait between retries, Retry-After included
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 20.0
BACKOFF_JITTER = 1.0

T = TypeVar("T")
OnRetry = Callable[[E.ProviderError, float, int], None]  # (error, seconds to wait, retry number)


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1-based) when the server named no delay: 1, 2, 4 … ≤ 20, plus jitter."""
    return min(BACKOFF_MAX, BACKOFF_INITIAL * 2.0 ** (attempt - 1)) + random.uniform(0, BACKOFF_JITTER)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a failed call."""

    retries: int
    max_wait: float = DEFAULT_MAX_WAIT

    def describe(self, err: E.ProviderError, wait: float, attempt: int) -> str:
        """The status line for a retry: ``rate limited: HTTP 429 slow down; retry 1/2 in 1.0 s``."""
        return f"{err.short()}; retry {attempt}/{self.retries} in {wait:.1f} s"


def retrying(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    may_retry: Callable[[E.ProviderError], bool] = lambda err: True,
    on_retry: OnRetry | None = None,
    stop: threading.Event | None = None,
) -> T:
    """Call ``attempt()`` until it returns, retrying as the policy allows; the last error is raised.

    ``may_retry(err)`` is the caller's own condition (single mode: no word of the answer shown
    yet).  ``stop`` is set to abandon a sleep between attempts (raises ``Interrupted``); without
    one, a private event is used, so Ctrl-C interrupts the wait as it would any sleep.
    """
    from tenacity import RetryCallState, Retrying, stop_after_attempt

    event = stop if stop is not None else threading.Event()

    def error_of(state: RetryCallState) -> BaseException | None:
        return state.outcome.exception() if state.outcome is not None else None

    def retry(state: RetryCallState) -> bool:
        err = error_of(state)
        if not isinstance(err, E.ProviderError) or not err.retryable or not may_retry(err):
            return False
        return err.retry_after is None or err.retry_after <= policy.max_wait

    def wait(state: RetryCallState) -> float:
        err = error_of(state)
        after = getattr(err, "retry_after", None)
        return min(after if after is not None else backoff(state.attempt_number), policy.max_wait)

    def sleep(seconds: float) -> None:
        if event.wait(seconds):
            raise E.Interrupted("interrupted")

    def before_sleep(state: RetryCallState) -> None:
        err = error_of(state)
        if on_retry is not None and isinstance(err, E.ProviderError) and state.next_action is not None:
            on_retry(err, state.next_action.sleep, state.attempt_number)

    def attempt_unless_stopped() -> T:
        if event.is_set():
            raise E.Interrupted("interrupted")
        return attempt()

    runner = Retrying(
        stop=stop_after_attempt(policy.retries + 1),
        wait=wait,
        retry=retry,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return runner(attempt_unless_stopped)
