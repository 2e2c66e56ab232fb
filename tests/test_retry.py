"""The one retry policy (llmcli.retry), tested once, with a fake clock: which errors, how long, when to stop."""

from __future__ import annotations

import threading
import time

import pytest

from llmcli import errors as E
from llmcli.retry import BACKOFF_MAX, RetryPolicy, backoff, retrying


class FakeClock(threading.Event):
    """A stop event whose wait() records the seconds asked for and returns at once (never set)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return False


def scripted(*outcomes):
    """attempt() that raises or returns per call, recording the calls."""
    calls = []

    def attempt():
        outcome = outcomes[len(calls)]
        calls.append(outcome)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return attempt, calls


def test_retries_retryable_errors_then_succeeds():
    clock = FakeClock()
    attempt, calls = scripted(E.ServerError("x"), E.RateLimitError("y", retry_after=2.5), "ok")
    assert retrying(attempt, RetryPolicy(2), stop=clock) == "ok"
    assert len(calls) == 3
    assert 1.0 <= clock.waits[0] <= 2.0  # backoff 1 s + up to 1 s of jitter
    assert clock.waits[1] == 2.5  # the server's Retry-After


def test_gives_up_after_retries_with_the_last_error():
    attempt, calls = scripted(E.ProviderTimeout("a"), E.ProviderTimeout("b"))
    with pytest.raises(E.ProviderTimeout, match="b"):
        retrying(attempt, RetryPolicy(1), stop=FakeClock())
    assert len(calls) == 2


def test_non_retryable_is_raised_at_once():
    attempt, calls = scripted(E.AuthError("no"), "ok")
    with pytest.raises(E.AuthError):
        retrying(attempt, RetryPolicy(3), stop=FakeClock())
    assert len(calls) == 1


def test_the_callers_condition_can_forbid_a_retry():
    attempt, calls = scripted(E.IncompleteAnswer("cut"), "ok")
    with pytest.raises(E.IncompleteAnswer):
        retrying(attempt, RetryPolicy(3), may_retry=lambda err: False, stop=FakeClock())
    assert len(calls) == 1


def test_retry_after_beyond_max_wait_is_reported_not_waited():
    clock = FakeClock()
    attempt, calls = scripted(E.RateLimitError("q", retry_after=61), "ok")
    with pytest.raises(E.RateLimitError):
        retrying(attempt, RetryPolicy(3, max_wait=60), stop=clock)
    assert clock.waits == [] and len(calls) == 1


def test_backoff_is_capped_by_max_wait():
    clock = FakeClock()
    attempt, _ = scripted(E.ServerError("a"), E.ServerError("b"), "ok")
    retrying(attempt, RetryPolicy(2, max_wait=0.25), stop=clock)
    assert clock.waits == [0.25, 0.25]


def test_on_retry_gets_the_error_the_wait_and_the_retry_number():
    seen = []
    attempt, _ = scripted(E.RateLimitError("slow", status=429, retry_after=0.5), "ok")
    retrying(attempt, RetryPolicy(2), on_retry=lambda err, wait, n: seen.append((type(err), wait, n)), stop=FakeClock())
    assert seen == [(E.RateLimitError, 0.5, 1)]
    line = RetryPolicy(2).describe(E.RateLimitError("slow\ndown", status=429), 0.5, 1)
    assert line == "rate limited: HTTP 429 slow down; retry 1/2 in 0.5 s"


def test_a_stop_during_the_wait_interrupts_it_at_once():
    stop = threading.Event()
    attempt, _ = scripted(E.ServerError("a", retry_after=30), "ok")
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    with pytest.raises(E.Interrupted):
        retrying(attempt, RetryPolicy(2), stop=stop)
    assert time.monotonic() - started < 20  # far less than the 30 s it would have slept


def test_backoff_grows_and_is_capped():
    assert 1.0 <= backoff(1) <= 2.0
    assert 4.0 <= backoff(3) <= 5.0
    assert all(backoff(n) <= BACKOFF_MAX + 1 for n in range(1, 40))
