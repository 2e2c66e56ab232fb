"""The rate limiter, with a fake clock: slots 60/rpm apart whichever worker asks, waits on the stop event."""

from __future__ import annotations

import threading

import pytest

from llmcli import errors as E
from llmcli.batch.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_slots_are_spaced_evenly_from_the_first():
    clock = Clock()
    limiter = RateLimiter(120, clock=clock)  # one every 0.5 s
    assert [limiter.reserve() for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]


def test_time_that_passed_counts_and_no_burst_builds_up():
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    assert limiter.reserve() == 0.0
    clock.now += 5.0  # idle for five intervals
    assert limiter.reserve() == 0.0
    assert limiter.reserve() == 1.0  # no saved-up burst: the next slot is one interval later


def test_acquire_waits_on_the_stop_event_and_stops_at_once():
    class Stop(threading.Event):
        def __init__(self) -> None:
            super().__init__()
            self.waits: list[float] = []

        def wait(self, timeout=None) -> bool:
            self.waits.append(timeout)
            return True  # "set while waiting"

    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    stop = Stop()
    limiter.acquire(stop)  # first slot: no wait at all
    assert stop.waits == []
    with pytest.raises(E.Interrupted):
        limiter.acquire(stop)
    assert stop.waits == [1.0]


def test_concurrent_reservations_never_share_a_slot():
    clock = Clock()
    limiter = RateLimiter(600, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            wait = limiter.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(round(w, 6) for w in waits) == [round(0.1 * i, 6) for i in range(400)]
