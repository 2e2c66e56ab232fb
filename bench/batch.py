"""Batch throughput: N files through `llmcli batch` against a server with a fixed latency per request.

For each -j it prints the wall time beside two baselines measured in the same run:
  ideal      N x latency / j                    (what perfect overlap would give)
  raw pool   a bare ThreadPoolExecutor of j threads posting the same N requests with the
             openai SDK (no files, no journal, no retries): the floor for this machine
and the ratio ideal/llmcli (throughput as a fraction of the ideal; target >= 0.8 at -j 32
with 400 files), plus the peak memory of the llmcli process.

The server is the repo's loopback fake (tests/fakes/rewriter.py) in this process.

The default latency, 1 s, is a short LLM rewrite; at a few ms per request the figures measure
this machine's CPU (the fake server and the SDK's parsing), not the overlap.  -j 1 runs only
--files-j1 files (default 40), so it does not take N seconds; its ideal is scaled to match.

Usage: python bench/batch.py [--files 400] [--files-j1 40] [--latency 1.0] [--jobs 1,8,32]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RAW_POOL = """
import sys, time
from concurrent.futures import ThreadPoolExecutor
from openai import OpenAI
url, n, j = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = OpenAI(api_key="x", base_url=url, max_retries=0)
def one(i):
    stream = client.chat.completions.create(model="m", stream=True,
        messages=[{"role": "user", "content": f"Fix\\n\\n<text>\\nfile {i}\\n</text>"}])
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
start = time.perf_counter()
with ThreadPoolExecutor(j) as pool:
    list(pool.map(one, range(n)))
print(time.perf_counter() - start)
"""


def run_llmcli(workdir: Path, src: str, jobs: int, env: dict[str, str]) -> tuple[float, float]:
    out = workdir / f"out-j{jobs}"
    argv = [sys.executable, "-m", "llmcli", "batch", src, "-s", "fix", "--out", str(out), "-j", str(jobs),
            "-q", "--force"]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"llmcli batch -j {jobs} failed ({code}): {err}")
    return seconds, usage.ru_maxrss / 1024  # KiB -> MiB on Linux


def run_raw(url: str, files: int, jobs: int, env: dict[str, str]) -> float:
    proc = subprocess.run([sys.executable, "-c", RAW_POOL, url, str(files), str(jobs)], env=env,
                          capture_output=True, text=True, check=True)
    return float(proc.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--files-j1", type=int, default=40, help="files for the -j 1 run")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds the server takes per request")
    parser.add_argument("--jobs", default="1,8,32")
    args = parser.parse_args()

    from tests.fakes.rewriter import make_rewriter

    server, _ = make_rewriter(latency=args.latency)
    server.start()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, count in (("src", args.files), ("src1", min(args.files, args.files_j1))):
            for i in range(count):
                sub = work / name / f"d{i % 10}"
                sub.mkdir(parents=True, exist_ok=True)
                (sub / f"f{i:04}.txt").write_text(f"file number {i}, a short paragraph to fix.\n")
        (work / "c.toml").write_text(
            f'default_profile = "b"\n[profiles.b]\nprovider = "openai-compatible"\nbase_url = "{server.url}/v1"\n'
            'model = "m"\n'
        )
        env = {**os.environ, "LLMCLI_CONFIG": str(work / "c.toml"), "XDG_STATE_HOME": str(work / "state"),
               "PYTHONPATH": str(ROOT)}
        print(f"{args.files} files, {args.latency * 1000:.0f} ms per request, server on loopback")
        print(f"{'-j':>4} {'files':>6} {'llmcli s':>9} {'ideal s':>8} {'raw pool s':>11} {'ideal/llmcli':>13} "
              f"{'raw/llmcli':>11} {'peak MiB':>9}")
        for jobs in [int(j) for j in args.jobs.split(",")]:
            files = args.files if jobs > 1 else min(args.files, args.files_j1)
            ideal = files * args.latency / jobs
            ours, peak = run_llmcli(work, "src" if jobs > 1 else "src1", jobs, env)
            raw = run_raw(f"{server.url}/v1", files, jobs, env)
            print(f"{jobs:>4} {files:>6} {ours:>9.2f} {ideal:>8.2f} {raw:>11.2f} "
                  f"{ideal / ours:>13.2f} {raw / ours:>11.2f} "
                  f"{peak:>9.1f}")
    server.stop()


if __name__ == "__main__":
    main()
