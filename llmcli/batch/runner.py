"""Running the jobs on N threads, and stopping well.

Threads rather than asyncio: every backend is a blocking SDK stream already
(the same code path as single mode, one shared client per profile), the work
is waiting on the network, and a thread pool of ``-j`` workers is enough for
hundreds of files (bench/batch.py, 1 s per request: 0.84x the ideal wall time at
-j 32 over 400 files, 0.89x a bare thread pool of SDK calls measured in the same run).  asyncio would
mean a second, async, implementation of nine backends.

Ctrl-C (or SIGTERM, which llmcli.signals turns into the same interrupt): stop dispatching, let the
files in flight finish (their
work is paid for and their writes are atomic), then summarise; a second Ctrl-C
abandons them at once — still safe, since nothing is published before its
rename.  Workers are daemon threads, so abandoning never hangs the exit.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from .plan import Job
from .work import Result, Settings, process


def run(jobs: list[Job], settings: Settings, workers: int, on_result: Callable[[Result], None],
        on_note: Callable[[str], None]) -> tuple[list[Result], bool]:
    """Process ``jobs``; return the results (in completion order) and whether the run was interrupted."""
    todo: queue.SimpleQueue[Job] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    done: queue.SimpleQueue[Result] = queue.SimpleQueue()
    stop = settings.stop

    def worker() -> None:
        while not stop.is_set():
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                result = process(job, settings)
            except BaseException as exc:  # a bug must cost one file, not the run
                result = Result(job, "failed", f"internal error: {type(exc).__name__}: {exc}")
            done.put(result)

    threads = [threading.Thread(target=worker, name=f"llmcli-batch-{i}", daemon=True)
               for i in range(max(1, min(workers, len(jobs))))]
    results: list[Result] = []
    interrupted = False

    def collect(until_done: Callable[[], bool]) -> None:
        while not until_done() or not done.empty():
            try:
                result = done.get(timeout=0.1)
            except queue.Empty:
                continue
            results.append(result)
            on_result(result)

    def workers_idle() -> bool:
        return not any(t.is_alive() for t in threads)

    for thread in threads:
        thread.start()
    try:
        collect(lambda: len(results) >= len(jobs) or workers_idle())
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (llmcli.signals turns it into one)
        interrupted = True
        stop.set()
        busy = sum(t.is_alive() for t in threads)
        if busy:
            on_note(f"interrupted: finishing {busy} file(s) in flight (Ctrl-C again to abandon them)")
        try:
            collect(workers_idle)
        except KeyboardInterrupt:
            on_note("abandoned the files in flight; none of them was written")
    return results, interrupted or stop.is_set()
