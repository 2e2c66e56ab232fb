"""What recording a call in the SQLite history costs, beside same-run baselines without it.

Prints:
  batch       400 "files" at -j 32, each a simulated request (a sleep of --latency ms), with and
              without one shared Log recording each; the wall-time difference per file
              (target <= 2 ms per file), plus the CPU cost of one record written serially.
  one-shot    one record as single mode writes it (open + insert + close) into a history that
              already holds --existing records, in ms, and the first record of a new file; and the
              import cost of the history code in a fresh interpreter (sqlite3 included).
  wall        `llmcli "text"` against a loopback fake server with and without --no-log,
              interleaved runs, medians and their ratio (target: logging costs <= 5 %).  Needs the
              call path to record (--no-log an option of the default command): skipped, saying
              so, until then.

Everything runs in a temporary data dir (XDG_DATA_HOME), never the user's history.
Usage: python bench/history.py [--files 400] [--jobs 32] [--latency 5] [--runs 15] [--existing 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sample_fields(i: int) -> dict:
    from llmcli.providers.base import Endpoint, Message, Request, Usage

    text = f"File {i}: teh quick brown fox jumps over teh lazy dog.\n" * 20
    return dict(
        endpoint=Endpoint(profile="bench", kind="openai-compatible", base_url="http://127.0.0.1:9/v1",
                          api_key="sk-bench"),
        request=Request(messages=(Message("user", f"<text>\n{text}</text>"),), model="m", system="Fix the spelling."),
        style="fix", input_text=text, answer=text.replace("teh", "the"), usage=Usage(300, 300, 600),
        seconds=0.9, attempts=1, finish_reason="stop", mode="batch", source=f"docs/{i}.md",
    )


def batch(files: int, jobs: int, latency: float, rounds: int) -> None:
    from llmcli import history

    def run(log) -> float:
        def one(i: int) -> None:
            fields = sample_fields(i)
            time.sleep(latency)  # the request
            if log is not None:
                log.record(**fields)

        start = time.perf_counter()
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, range(files)))
        return time.perf_counter() - start

    base, logged = [], []
    for _ in range(rounds):  # interleaved, so drift on a loaded machine hits both alike
        base.append(run(None))
        with tempfile.TemporaryDirectory() as tmp, history.Log(Path(tmp) / "history.db") as log:
            logged.append(run(log))
            assert log.record(**sample_fields(0)) is not None, "the log failed: see the warning above"
    b, w = statistics.median(base), statistics.median(logged)
    per_file = (w - b) / files * 1000
    print(f"batch     {files} files at -j {jobs}, {latency * 1000:.0f} ms per request, median of {rounds}:")
    print(f"          no log {b:.3f} s   logged {w:.3f} s   ratio {w / b:.3f}   overhead {per_file:.2f} ms per file"
          f"   (target <= 2 ms)")
    with tempfile.TemporaryDirectory() as tmp, history.Log(Path(tmp) / "history.db") as log:
        fields = [sample_fields(i) for i in range(files)]
        start = time.process_time()
        for f in fields:
            log.record(**f)
        cpu = (time.process_time() - start) / files * 1000
    print(f"          one record written serially: {cpu:.3f} ms CPU")


def one_shot(existing: int, runs: int) -> None:
    from llmcli import history

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.db"
        start = time.perf_counter()
        history.record(path, **sample_fields(0))
        first = (time.perf_counter() - start) * 1000
        with history.Log(path) as log:
            for i in range(existing):
                log.record(**sample_fields(i))
        times = []
        for i in range(runs * 4):
            start = time.perf_counter()
            assert history.record(path, **sample_fields(i)) is not None
            times.append((time.perf_counter() - start) * 1000)
    print(f"one-shot  open + insert + close into {existing} records: median {statistics.median(times):.2f} ms "
          f"(min {min(times):.2f}, max {max(times):.2f}); a new file's first record: {first:.2f} ms")
    print("          (most of it is the two fsyncs of synchronous=NORMAL: the WAL's at commit and the checkpoint's"
          " at close; store.SYNCHRONOUS)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure loading bytecode, as an installed llmcli does
    # In a fresh interpreter that has what a call has already loaded (the call path and an SDK),
    # the time `import llmcli.history.log` adds (sqlite3 included).
    code = ("import time, llmcli.session, openai\nt = time.perf_counter()\nimport llmcli.history.log\n"
            "print((time.perf_counter() - t) * 1000)")
    added = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                  text=True).stdout) for _ in range(runs + 1)][1:]  # the first one compiles
    print(f"          importing the history code into a call's process: median {statistics.median(added):.1f} ms"
          f" (min {min(added):.1f}, of {runs})")


def wall(runs: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    help_text = subprocess.run([sys.executable, "-m", "llmcli", "--help"], env=env, capture_output=True,
                               text=True).stdout
    if "--no-log" not in help_text:
        print("wall      skipped: --no-log is not an option yet (the call path does not record until it is wired)")
        return
    from tests.fakes.openai_wire import make_server

    with make_server() as server, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(f'default_profile = "fake"\n[profiles.fake]\nprovider = "openai-compatible"\n'
                          f'base_url = "{server.url}/v1"\nmodel = "fake-model"\nretries = 0\n')
        env.update({"LLMCLI_CONFIG": str(config), "XDG_DATA_HOME": str(Path(tmp) / "data"), "NO_PROXY": "127.0.0.1"})
        env.pop("LLMCLI_NO_LOG", None)
        logged, unlogged = [], []
        for _ in range(runs):
            for extra, into in (([], logged), (["--no-log"], unlogged)):
                start = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "llmcli", *extra, "Fix", "teh", "text"], env=env,
                                      capture_output=True)
                into.append((time.perf_counter() - start) * 1000)
                if done.returncode != 0:
                    raise SystemExit(f"llmcli failed: {done.stderr.decode()}")
        count = subprocess.run([sys.executable, "-m", "llmcli", "history", "-n", "0"], env=env, capture_output=True,
                               text=True).stdout.count("\n")
    a, b = statistics.median(unlogged), statistics.median(logged)
    print(f"wall      llmcli one-shot, median of {runs}: --no-log {a:.1f} ms   logged {b:.1f} ms   ratio {b / a:.3f}"
          f"   (target <= 1.05; {count} records logged)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=32)
    parser.add_argument("--latency", type=float, default=5.0, help="ms per simulated request")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--existing", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        os.environ["XDG_DATA_HOME"] = data  # never the user's history, whatever runs below
        batch(args.files, args.jobs, args.latency / 1000, args.rounds)
        one_shot(args.existing, args.runs)
        wall(args.runs)


if __name__ == "__main__":
    main()
