"""Provider batch (``llmcli jobs``) against the loopback fake: submit and fetch N small files, each step measured.

For each corpus size (default 1,000 and 10,000 files) it runs, each in a fresh process:

  read       baseline: read every file once (what submit cannot do without)
  encode     second baseline: read every file and encode its request line once, to one file (the
             least a submit does; submit / encode is what the job's bookkeeping and upload add)
  submit     ``jobs.submit``: layout, one request line per unit, chunk files fsynced, items database,
             upload, create (the plan, which local batch shares, is timed apart)
  status     poll to the end, download the result files (streamed), ingest them by id (each
             answer also recorded in the history, as local batch records its calls)
  fetch      reassemble every file and publish it (atomic write + journal, as local batch)
  write      baseline: local batch's own write (``batch/publish.py::publish``) of the same outputs, on
             4 threads as local batch's default -j writes them

and prints wall time and peak RSS (``resource`` ru_maxrss of that process) per step, the
ratios the issue sets as targets (submit <= 2x read, fetch <= 2x write) and, with
``--tracemalloc`` (default), each step's peak of Python allocations made after start-up
(``tracemalloc``, in a second run of the step from the same state: times come from the untraced
run), which is what grows with the corpus if anything is held whole:
1,000 vs 10,000 files within 1.5x is the target.

The fake (tests/fakes/openai_batch_wire.py) runs in its own process, so its memory (it
keeps every file it receives) is not counted.  Only public tools: time, resource, tracemalloc.

Usage: python bench/provider_batch.py [--sizes 1000,10000] [--no-tracemalloc]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVE = """
import sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.openai_batch_wire import make_server
from tests.fakes.batch_sim import Knobs
server, fake = make_server(Knobs(polls=1, part_size=1 << 20))
server.start()
print(server.url, flush=True)
sys.stdin.read()
"""


def step(name: str, work: Path, url: str, trace: bool) -> dict:
    """Run one step in this (fresh) process; return its figures."""
    import resource
    import tracemalloc

    os.chdir(work)
    import sqlite3  # noqa: F401

    import openai  # noqa: F401

    from llmcli import config as C  # noqa: F401  (start-up imports are not the step's)
    from llmcli.batch import work as batch_work  # noqa: F401
    from llmcli.jobs import commands, refresh, store  # noqa: F401
    from llmcli.providers import batch_openai  # noqa: F401

    planned = None
    if name == "submit":  # the lead's plan (shared with local batch) is timed apart, before tracing starts
        from llmcli.batch.plan import OutputMode, plan

        start = time.perf_counter()
        planned = plan(["d"], mode=OutputMode(work / "out"))
        plan_seconds = time.perf_counter() - start
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    extra = _submit(work, planned) if planned is not None else globals()[f"_{name}"](work, url)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if planned is not None:
        extra["plan_seconds"] = plan_seconds
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mib": rss, "traced_mib": peak / 2**20 if peak is not None else None, **extra}


def _read(work: Path, url: str) -> dict:
    total = 0
    for path in sorted((work / "d").rglob("*.txt")):
        total += len(path.read_bytes())
    return {"bytes": total}


def _encode(work: Path, url: str) -> dict:
    """Second baseline, the least any submit does: read each file and encode its one request line once.

    The lines go to one file, with the same engine submit uses; nothing else (no layout, no items
    database, no fsync, no upload).  submit / encode shows what the job's bookkeeping costs on top.
    """
    from llmcli.config import load
    from llmcli.jobs.seams import endpoint
    from llmcli.jobs.store import dumps
    from llmcli.providers.batch import engine_for

    engine = engine_for(endpoint(load().profile("pb"), None))
    total = 0
    with open(work / "encoded.jsonl", "wb") as out:
        for no, path in enumerate(sorted((work / "d").rglob("*.txt"))):
            text = path.read_bytes().decode("utf-8")
            total += out.write((dumps(engine.line(f"r{no}", _build_request(None, text))) + "\n").encode("utf-8"))
    return {"bytes": total}


def _build_request(job, text):
    from llmcli.providers.base import Message, Request

    return Request(messages=(Message("user", text),), model="model-x", system="Rewrite.", max_tokens=200)


def _submit(work: Path, planned: list) -> dict:
    from llmcli import config as C
    from llmcli import jobs
    from llmcli.jobs import submission
    from llmcli.jobs.submission import SubmitOptions

    sending = [0.0]
    send = submission.send

    def timed_send(*args, **kwargs):  # upload and create: mostly the fake's own time to take the file in
        start = time.perf_counter()
        try:
            return send(*args, **kwargs)
        finally:
            sending[0] += time.perf_counter() - start

    submission.send = timed_send
    job = jobs.submit(planned, _build_request, C.load().profile("pb"), options=SubmitOptions(quiet=True))
    (work / "job").write_text(job)
    return {"job": job, "send_seconds": sending[0]}


def _status(work: Path, url: str) -> dict:
    from llmcli.jobs import commands, refresh, store

    job = store.find(store.jobs_root(), (work / "job").read_text())
    connection = commands.Connection(job, None)
    polls = 0
    with commands.recording(connection) as record:  # as `llmcli jobs status` does: answers into the history
        while refresh.unfinished(job):
            refresh.refresh(job, connection.engine, record=record)
            polls += 1
    job.close()
    return {"polls": polls}


def _fetch(work: Path, url: str) -> dict:
    from llmcli.jobs import commands, store
    from llmcli.jobs.fetch import fetch

    job = store.find(store.jobs_root(), (work / "job").read_text())
    done = fetch(job, commands.engine_factory(job, None), quiet=True)
    job.close()
    if done.written + done.already == 0:
        raise SystemExit("fetch wrote nothing")
    return {"written": done.written}


def _write(work: Path, url: str) -> dict:
    """Local batch's publish of the same outputs (read back from fetch's output tree) to another tree."""
    from llmcli.batch.manifest import Journal
    from llmcli.batch.plan import Job
    from llmcli.batch.publish import Publishing, publish

    journal = Journal(work / "local-journal.jsonl")
    how = Publishing(journal=journal, fingerprint="bench", backup=False)
    from concurrent.futures import ThreadPoolExecutor

    out = work / "out"
    texts = [(str(p.relative_to(out)), p.read_text()) for p in sorted(out.rglob("*.txt"))]
    start = time.perf_counter()

    def one(item: tuple[str, str]) -> None:
        name, text = item
        publish(Job(work / "d" / name, work / "local-out" / name, name), b"", text, how)

    with ThreadPoolExecutor(4) as pool:  # local batch's default -j
        list(pool.map(one, texts))
    journal.close()
    return {"files": len(texts), "write_only_seconds": time.perf_counter() - start}


def run_step(name: str, work: Path, url: str, env: dict[str, str], trace: bool) -> dict:
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import json; from bench.provider_batch import step; " \
           f"print(json.dumps(step({name!r}, __import__('pathlib').Path({str(work)!r}), {url!r}, {trace!r})))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed: {proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# What a step changes in the work directory: put back before the same step runs again, traced.
MUTABLE = ("state", "data", "out", "local-out", "job", "local-journal.jsonl", "encoded.jsonl")


def measured(name: str, work: Path, url: str, env: dict[str, str], trace: bool) -> dict:
    """The step timed untraced (tracemalloc slows Python far more than reading, which skews every ratio),
    then, with ``trace``, run again from the same starting state for its traced peak."""
    import shutil

    snapshot = work / ".before"
    if trace:
        shutil.rmtree(snapshot, ignore_errors=True)
        snapshot.mkdir()
        for entry in MUTABLE:
            _copy(work / entry, snapshot / entry)
    figures = run_step(name, work, url, env, False)
    if trace:
        for entry in MUTABLE:
            _remove(work / entry)
            _copy(snapshot / entry, work / entry)
        figures["traced_mib"] = run_step(name, work, url, env, True)["traced_mib"]
        shutil.rmtree(snapshot)
    return figures


def _copy(source: Path, target: Path) -> None:
    import shutil

    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    elif source.exists():
        shutil.copy2(source, target)


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def corpus(work: Path, count: int) -> None:
    """``count`` small files, 100 to a directory (a docs tree; see the note on flat directories in main)."""
    for i in range(count):
        d = work / "d" / f"part{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"note{i:05d}.txt").write_text(f"file number {i}, a short line of text to rewrite.\nsecond line {i}\n")


def one_size(count: int, trace: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="llmcli-pbench-") as tmp:
        work = Path(tmp)
        corpus(work, count)
        server = subprocess.Popen([sys.executable, "-c", SERVE, str(ROOT)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None and server.stdin is not None
            url = server.stdout.readline().strip()
            (work / "config.toml").write_text(
                f'[profiles.pb]\nprovider = "openai"\nbase_url = "{url}/v1"\napi_key_env = "BENCH_KEY"\n'
                f'model = "model-x"\ntimeout = 120\n')
            os.chmod(work / "config.toml", 0o600)
            env = {**os.environ, "LLMCLI_CONFIG": str(work / "config.toml"), "BENCH_KEY": "sk-bench",
                   "XDG_STATE_HOME": str(work / "state"), "XDG_DATA_HOME": str(work / "data"),
                   "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
                   "PYTHONPATH": str(ROOT)}
            return {name: measured(name, work, url, env, trace) for name in ("read", "encode", "submit", "status",
                                                                              "fetch", "write")}
        finally:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--no-tracemalloc", action="store_true", help="time and RSS only (tracemalloc slows steps)")
    args = parser.parse_args()
    trace = not args.no_tracemalloc
    results = {}
    for count in (int(x) for x in args.sizes.split(",")):
        results[count] = r = one_size(count, trace)
        print(f"\n{count} files")
        print(f"  {'step':<8} {'wall s':>8} {'peak RSS MiB':>13} {'traced MiB':>11}")
        for name, figures in r.items():
            traced = f"{figures['traced_mib']:.1f}" if figures.get("traced_mib") is not None else "-"
            print(f"  {name:<8} {figures['seconds']:>8.2f} {figures['rss_mib']:>13.1f} {traced:>11}")
        print(f"  (plan, the lead's file listing shared with local batch, not in submit: "
              f"{r['submit']['plan_seconds']:.2f} s)")
        sub = r['submit']
        print(f"  (of submit, upload and create: {sub['send_seconds']:.2f} s; the rest is the files' preparation)")
        print(f"  submit / read  = {sub['seconds'] / r['read']['seconds']:.1f}x   (target <= 2x)")
        print(f"  submit / encode = {sub['seconds'] / r['encode']['seconds']:.1f}x  (encode: read each file and "
              f"encode its request line once, the least a submit does)")
        print(f"  fetch / write  = {r['fetch']['seconds'] / r['write']['write_only_seconds']:.2f}x  (target <= 2x)")
    sizes = sorted(results)
    if len(sizes) >= 2:
        small, large = results[sizes[0]], results[sizes[-1]]
        print(f"\npeak memory, {sizes[-1]} vs {sizes[0]} files (target within 1.5x):")
        for name in ("submit", "status", "fetch"):
            line = f"  {name:<7} RSS {large[name]['rss_mib'] / small[name]['rss_mib']:.2f}x"
            if trace:
                line += f"   traced {large[name]['traced_mib'] / max(small[name]['traced_mib'], 1e-6):.2f}x"
            print(line)


if __name__ == "__main__":
    main()
