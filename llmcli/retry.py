"""Retries, ours rather than the SDKs': one policy for every provider.

Every backend turns its SDK's own retries off, so a 429 is retried exactly
``retries`` times whichever SDK is underneath.  A stream is retried only
before its first text delta: once words have reached the user, replaying the
call would print them twice.  (That is why this is a small loop over a
generator rather than a decorator from a retry library: those wrap a call,
not a stream that has already yielded.)
"""

from __future__ import annotations

import random
import time
from typing import Callable, Iterator

from .errors import ProviderError
from .providers.base import Event, TextDelta

# A Retry-After longer than this is not waited for: the error is reported with
# the delay, and the user decides.  (The anthropic SDK would sleep for any value.)
MAX_RETRY_AFTER = 60.0


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): 1, 2, 4 ... capped at 20, ±25% jitter."""
    base = min(20.0, 2.0 ** (attempt - 1))
    return base * random.uniform(0.75, 1.25)


def stream_with_retries(
    open_stream: Callable[[], Iterator[Event]],
    retries: int,
    *,
    on_retry: Callable[[ProviderError, float, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Event]:
    """Yield the events of ``open_stream()``, re-opening it on a retryable error before any text."""
    attempt = 0
    while True:
        started = False
        try:
            for event in open_stream():
                if isinstance(event, TextDelta):
                    started = True
                yield event
            return
        except ProviderError as err:
            if started or not err.retryable or attempt >= retries:
                raise
            attempt += 1
            wait = err.retry_after if err.retry_after is not None else backoff(attempt)
            if wait > MAX_RETRY_AFTER:
                raise
            if on_retry is not None:
                on_retry(err, wait, attempt)
            sleep(wait)
