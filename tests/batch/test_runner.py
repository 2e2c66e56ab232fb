"""The runner on its own: N threads, each job once, a failing job costs only itself, a stop ends dispatch.

``process`` (one file's work, tested through the fake servers elsewhere) is replaced here by
our own stand-in: the runner's logic — threads, the queue, stopping — has no wire to fake.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from llmcli.batch import runner
from llmcli.batch.plan import Job
from llmcli.batch.work import Result


class StubSettings:
    def __init__(self) -> None:
        self.stop = threading.Event()


def jobs(n: int) -> list[Job]:
    return [Job(Path(f"f{i}.txt"), Path(f"o/f{i}.txt"), f"f{i}.txt") for i in range(n)]


def test_every_job_once_on_several_threads(monkeypatch):
    seen, threads, lock = [], set(), threading.Lock()
    gate = threading.Barrier(3, timeout=10)

    def process(job, settings):
        with lock:
            seen.append(job.shown)
            threads.add(threading.current_thread().name)
        if len(seen) <= 3:
            gate.wait()  # the first three run at the same time: three threads really work at once
        return Result(job, "done")

    monkeypatch.setattr(runner, "process", process)
    results, interrupted = runner.run(jobs(20), StubSettings(), 3, lambda r: None, lambda note: None)
    assert sorted(seen) == sorted(j.shown for j in jobs(20))
    assert len(results) == 20 and not interrupted and len(threads) == 3


def test_a_bug_in_one_file_fails_only_that_file(monkeypatch):
    def process(job, settings):
        if job.shown == "f3.txt":
            raise RuntimeError("boom")
        return Result(job, "done")

    monkeypatch.setattr(runner, "process", process)
    results, _ = runner.run(jobs(6), StubSettings(), 2, lambda r: None, lambda note: None)
    failed = [r for r in results if r.status == "failed"]
    assert [r.job.shown for r in failed] == ["f3.txt"]
    assert failed[0].reason == "internal error: RuntimeError: boom"
    assert sum(r.status == "done" for r in results) == 5


def test_a_stop_ends_dispatch_and_reports_interrupted(monkeypatch):
    settings = StubSettings()

    def process(job, s):
        if job.shown == "f1.txt":
            s.stop.set()  # as Ctrl-C does
        return Result(job, "done")

    monkeypatch.setattr(runner, "process", process)
    results, interrupted = runner.run(jobs(50), settings, 1, lambda r: None, lambda note: None)
    assert interrupted
    assert [r.job.shown for r in results] == ["f0.txt", "f1.txt"]  # nothing after the stop


@pytest.mark.parametrize("workers", [1, 8, 100])
def test_results_reach_the_callback_as_they_finish(monkeypatch, workers):
    monkeypatch.setattr(runner, "process", lambda job, s: Result(job, "done"))
    got = []
    results, _ = runner.run(jobs(10), StubSettings(), workers, got.append, lambda note: None)
    assert got == results and len(got) == 10
