"""Requests per minute, shared by every worker of one profile.

Not a token bucket with bursts: free tiers (Groq's, OpenRouter's) count
requests in short windows, so requests are spaced evenly, ``60 / rpm`` seconds
apart, whichever worker makes them.  Waiting happens outside the lock and on
the run's stop event, so Ctrl-C is never held up by a long interval.
"""

from __future__ import annotations

import threading
import time

from .. import errors as E


class RateLimiter:
    def __init__(self, rpm: float, clock=time.monotonic) -> None:
        self.interval = 60.0 / rpm
        self.clock = clock
        self._next = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot; return how long to wait for it."""
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now

    def acquire(self, stop: threading.Event) -> None:
        wait = self.reserve()
        if wait > 0 and stop.wait(wait):
            raise E.Interrupted("interrupted")
